"""`make push` is re-runnable: ECR tags are immutable, so it asks ECR first.

The real Makefile and the real finlex-release run against moto's server; only
`docker` is a stand-in script, which reports a local image ID and logs the
commands it gets.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from release_fakes import REGION, manifest

from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIGEST = "sha256:" + "c" * 64  # the config digest of release_fakes.manifest()
OTHER_ID = "sha256:" + "d" * 64
TAG = "0123456789abcdef0123456789abcdef01234567"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # moto keeps one backend per process: start from an empty account.
    reset = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def ecr(endpoint: str) -> Any:
    client = boto3.client(
        "ecr",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fixed test credentials
    )
    client.create_repository(repositoryName="finlex", imageTagMutability="IMMUTABLE")
    return client


def fake_docker(tmp_path: Path, image_id: str) -> tuple[Path, Path]:
    log = tmp_path / "docker.log"
    script = tmp_path / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'case "$1" in\n'
        f'  image) [ "$2" != inspect ] || echo {image_id} ;;\n'
        "  login) cat >/dev/null; echo 'Login Succeeded' ;;\n"
        "esac\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script, log


def make_push(endpoint: str, docker: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    release = Path(sys.executable).parent / "finlex-release"
    require_tool("make")
    assert release.exists(), "finlex-release is not installed next to this interpreter"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    argv = ["make", "--no-print-directory", "-o", ".venv/.dev-installed", "push"]
    argv += [f"TAG={TAG}", f"DOCKER={docker}", f"RELEASE={release}", f"AWS_REGION={REGION}"]
    argv += [f"{k}={v}" for k, v in variables.items()]
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_absent_tag_is_pushed(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    docker, log = fake_docker(tmp_path, CONFIG_DIGEST)
    result = make_push(endpoint, docker)
    assert result.returncode == 0, result.stderr
    commands = log.read_text().splitlines()
    assert any(c.startswith("login --username AWS --password-stdin") for c in commands), commands
    pushes = [c for c in commands if c.startswith("push ")]
    assert len(pushes) == 1, commands
    assert pushes[0].endswith(f"/finlex:{TAG}"), pushes


def test_same_image_is_not_pushed_again(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    ecr.put_image(repositoryName="finlex", imageManifest=manifest("x"), imageTag=TAG)
    docker, log = fake_docker(tmp_path, CONFIG_DIGEST)
    result = make_push(endpoint, docker)
    assert result.returncode == 0, result.stderr
    assert "nothing to push" in result.stdout
    assert not [c for c in log.read_text().splitlines() if c.startswith(("push", "login"))]


def test_another_build_under_the_tag_fails_clearly(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    ecr.put_image(repositoryName="finlex", imageManifest=manifest("x"), imageTag=TAG)
    docker, log = fake_docker(tmp_path, OTHER_ID)
    result = make_push(endpoint, docker)
    assert result.returncode != 0
    assert "ECR holds another build as finlex:" in result.stderr
    assert "immutable" in result.stderr
    assert not [c for c in log.read_text().splitlines() if c.startswith("push")]


def test_keep_existing_keeps_ecrs_image(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    ecr.put_image(repositoryName="finlex", imageManifest=manifest("x"), imageTag=TAG)
    docker, log = fake_docker(tmp_path, OTHER_ID)
    result = make_push(endpoint, docker, KEEP_EXISTING="1")
    assert result.returncode == 0, result.stderr
    assert "keeping it" in result.stdout
    assert not [c for c in log.read_text().splitlines() if c.startswith("push")]


def test_no_local_image_says_what_to_run(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    script = tmp_path / "docker"
    script.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    script.chmod(0o755)
    result = make_push(endpoint, script)
    assert result.returncode != 0
    assert f"no local image finlex:{TAG}: run make image TAG={TAG} first" in result.stderr


def image_handoff(tmp_path: Path, image_id: str, *args: str) -> subprocess.CompletedProcess[str]:
    docker, _ = fake_docker(tmp_path, image_id)
    argv = ["make", "--no-print-directory", *args, f"DOCKER={docker}", f"TAG={TAG}"]
    argv.append(f"IMAGE_ARCHIVE={tmp_path / 'image.tar'}")
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def test_image_save_prints_the_id_for_github_output(tmp_path: Path) -> None:
    result = image_handoff(tmp_path, CONFIG_DIGEST, "--silent", "image-save")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"image-id={CONFIG_DIGEST}\n"


def test_image_load_accepts_the_image_ci_tested(tmp_path: Path) -> None:
    result = image_handoff(tmp_path, CONFIG_DIGEST, "image-load", f"IMAGE_ID={CONFIG_DIGEST}")
    assert result.returncode == 0, result.stderr
    assert "the image CI tested" in result.stdout


def test_image_load_refuses_another_image(tmp_path: Path) -> None:
    result = image_handoff(tmp_path, OTHER_ID, "image-load", f"IMAGE_ID={CONFIG_DIGEST}")
    assert result.returncode != 0
    assert f"is {OTHER_ID}, but CI tested {CONFIG_DIGEST}" in result.stderr


def test_image_load_needs_the_id(tmp_path: Path) -> None:
    result = image_handoff(tmp_path, CONFIG_DIGEST, "image-load")
    assert result.returncode != 0
    assert "set IMAGE_ID" in result.stderr
