"""End to end: build the image from the repo's Dockerfile and run it as the seed does.

Needs a Docker engine with BuildKit and a `debian:trixie-slim` base image in
the local store (`.ci/run` provides both, offline). Without them the tests
skip with the reason, or fail under CI=true.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import baseimage
from finlex_api.routes import HEALTH_PATH, REVISION_HEADER, VERSION, VERSION_PATH
from finlex_api.settings import DEFAULT_GRACEFUL_TIMEOUT
from prereq import docker_client, require

pytestmark = [pytest.mark.container, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
# A test-only tag: `make test` leaves the user's finlex:latest alone.
TEST_IMAGE_NAME = "finlex-test"
TEST_IMAGE_TAG = "latest"
IMAGE = f"{TEST_IMAGE_NAME}:{TEST_IMAGE_TAG}"
# Every container a test starts is named with this prefix, so that a failed
# `docker run` (which can leave a container in state Created) is still removed.
CONTAINER_PREFIX = "finlex-test-"
# The Dockerfile's pin, or the offline stand-in that .ci/run passes as BASE_IMAGE.
BASE_IMAGE = baseimage.in_use()
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ECS_FLAGS = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL"]
ECS_FLAGS += ["--security-opt", "no-new-privileges"]
# What the image adds above its base (docs/performance.md, "Image size", says what it is).
ABOVE_BASE_BUDGET_MB = 62
# CI builds the release image once (.ci/run: make image) and names it here, so
# that the image these tests pass is the very image the pipeline pushes.
PREBUILT = os.environ.get("FINLEX_TEST_IMAGE", "")
SOURCE = os.environ.get("FINLEX_TEST_IMAGE_SOURCE", "https://example.com/finlex.git")


def image_revision() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


DOCKER = docker_client()


def docker(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, timeout=timeout, check=check
    )


def http_get(url: str, accept: str = "*/*") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read().decode()


def wait_for_http(url: str, timeout: float = 30) -> None:
    # Right after `docker run -d` the published port can reset connections briefly.
    deadline = time.monotonic() + timeout
    while True:
        try:
            http_get(url)
            return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="session")
def image(pytestconfig: pytest.Config) -> str:
    require(shutil.which(DOCKER) is not None, f"no docker client ({DOCKER})")
    info = subprocess.run([DOCKER, "info"], capture_output=True, text=True, check=False)
    require(info.returncode == 0, f"no Docker daemon reachable: {info.stderr.strip()[:200]}")
    base = docker("image", "inspect", BASE_IMAGE, check=False)
    require(
        base.returncode == 0,
        f"base image {BASE_IMAGE} is not in the local store (docker pull it; offline: "
        f".ci/base-image.sh, then BASE_IMAGE={baseimage.STAND_IN})",
    )
    if PREBUILT:
        found = docker("image", "inspect", PREBUILT, check=False)
        assert found.returncode == 0, f"FINLEX_TEST_IMAGE={PREBUILT} is not in the local store"
        return PREBUILT
    # `make image` is the build a laptop or a pipeline runs: it sets the OCI labels.
    command = ["make", "--no-print-directory", "image", f"IMAGE={TEST_IMAGE_NAME}"]
    command.append(f"TAG={TEST_IMAGE_TAG}")
    command += [f"DOCKER={DOCKER}", f"SOURCE={SOURCE}"]
    if HOST_CA_BUNDLE.exists():
        # Builds here go through a TLS-intercepting proxy: hand pip the CA bundle.
        command.append(f"CA_BUNDLE={HOST_CA_BUNDLE}")
    started = time.monotonic()
    build = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )
    assert build.returncode == 0, build.stderr[-3000:]
    size = int(docker("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    pytestconfig.stash.setdefault("report", []).append(
        f"image {IMAGE}: {size / 1e6:.1f} MB on base {BASE_IMAGE}, "
        f"built in {time.monotonic() - started:.0f} s"
    )
    return IMAGE


def container_name() -> str:
    return f"{CONTAINER_PREFIX}{uuid.uuid4().hex[:12]}"


def published_port(container_id: str, port: int = 5000) -> int:
    """The host port Docker picked for the container's `port`."""
    mapping = docker("port", container_id, f"{port}/tcp").stdout.split()
    assert mapping, f"container {container_id} publishes no {port}/tcp"
    return int(mapping[0].rsplit(":", 1)[1])


@contextlib.contextmanager
def running_container(*args: str) -> Iterator[str]:
    """`docker run -d` under a unique name; removed whatever happens, even when
    the run itself fails and leaves the container in state Created."""
    name = container_name()
    try:
        run = docker("run", "-d", "--name", name, *args, check=False)
        assert run.returncode == 0, run.stderr
        yield run.stdout.strip()
    finally:
        docker("rm", "--force", "--volumes", name, check=False)


@pytest.fixture(params=["seed", "ecs"])
def container(request: pytest.FixtureRequest, image: str) -> Iterator[tuple[str, str]]:
    """Run the image the seed's way (-p HOST:5000) or with ECS-like hardening flags.

    The host port is one Docker picks from the free ones (never a fixed 5000,
    which `make run` may hold)."""
    flags = ECS_FLAGS if request.param == "ecs" else []
    with running_container(*flags, "-p", "127.0.0.1::5000", image) as container_id:
        base = f"http://127.0.0.1:{published_port(container_id)}"
        wait_for_http(base + HEALTH_PATH)
        yield container_id, base


def test_version_and_health_answer(container: tuple[str, str]) -> None:
    _, base = container
    assert http_get(base + VERSION_PATH) == (200, f"API version: {VERSION}\n")
    status, body = http_get(base + VERSION_PATH, accept="application/json")
    assert (status, json.loads(body)) == (200, {"version": VERSION})
    assert http_get(base + HEALTH_PATH) == (200, "ok\n")


def test_every_answer_names_the_revision_the_image_was_built_from(
    container: tuple[str, str], image: str
) -> None:
    # What `finlex-release verify --expected-revision` reads to know which build is live.
    _, base = container
    labels = json.loads(
        docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout
    )
    for path in (VERSION_PATH, HEALTH_PATH):
        with urllib.request.urlopen(base + path, timeout=5) as response:
            assert response.headers[REVISION_HEADER] == labels["org.opencontainers.image.revision"]


def test_server_is_pid_1_and_not_root(container: tuple[str, str]) -> None:
    container_id, _ = container
    status = docker("exec", container_id, "cat", "/proc/1/status").stdout
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert uids, status
    assert "0" not in uids, status
    cmdline = docker("exec", container_id, "cat", "/proc/1/cmdline").stdout.split("\0")
    # The finlex-api command (the package's serve.main): Granian's main runs in it.
    assert cmdline[:2] == ["/opt/venv/bin/python3", "/opt/venv/bin/finlex-api"], cmdline


def test_only_tmp_is_writable(container: tuple[str, str], request: pytest.FixtureRequest) -> None:
    container_id, _ = container
    assert docker("exec", container_id, "sh", "-c", "echo x > /tmp/probe").returncode == 0
    app_write = docker("exec", container_id, "sh", "-c", "echo x > /app/probe", check=False)
    assert app_write.returncode != 0  # the app's files belong to root
    if request.node.callspec.params["container"] == "ecs":
        root_write = docker("exec", container_id, "sh", "-c", "echo x > /probe", check=False)
        assert "Read-only file system" in root_write.stderr


def test_healthcheck_probe_works_without_curl(container: tuple[str, str]) -> None:
    container_id, _ = container
    assert (
        docker("exec", container_id, "sh", "-c", "command -v curl wget", check=False).stdout == ""
    )
    probe = docker("exec", container_id, "bash", "/app/healthcheck.sh", check=False)
    assert probe.returncode == 0, probe.stderr


# An idle server exits on SIGTERM within this bound (issue 8), far below the
# kill timeout: a stop that ran into the kill timeout cannot pass.
STOP_BOUND_S = 2.0
KILL_TIMEOUT_S = DEFAULT_GRACEFUL_TIMEOUT + 20


def test_docker_stop_right_after_the_first_request_is_clean_and_quick(
    container: tuple[str, str],
) -> None:
    """The stop that used to hit the kill timeout 1 time in 8-20: a SIGTERM right
    after the first answered request, while the other worker may still be starting."""
    container_id, base = container
    assert http_get(base + VERSION_PATH)[0] == 200
    started = time.monotonic()
    docker("stop", "-t", str(KILL_TIMEOUT_S), container_id, timeout=KILL_TIMEOUT_S + 30)
    elapsed = time.monotonic() - started
    state = json.loads(docker("inspect", "--format", "{{json .State}}", container_id).stdout)
    assert state["ExitCode"] == 0, state  # 137 would mean SIGKILL
    assert elapsed < STOP_BOUND_S < KILL_TIMEOUT_S, f"docker stop took {elapsed:.2f} s"
    logs = docker("logs", container_id).stderr
    assert "refused to gracefully stop" not in logs, logs


def test_busy_port_stops_the_container_with_one_line(image: str) -> None:
    """With host networking the server meets a port that something else holds."""
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))  # noqa: S104 - the container binds all interfaces
        holder.listen(1)
        port = holder.getsockname()[1]
        run = docker(
            "run", "--rm", "--name", container_name(), "--network", "host",
            "-e", f"FINLEX_PORT={port}", image, check=False,
        )  # fmt: skip
    assert run.returncode == 2, run
    assert run.stderr.strip() == (
        f"finlex: port {port} on 0.0.0.0 is already in use: stop what listens there "
        "(`ss -ltnp` names it) or set FINLEX_PORT to a free port"
    )


def test_image_metadata(image: str) -> None:
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", image).stdout)
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.revision"] == image_revision()
    assert labels["org.opencontainers.image.source"] == SOURCE
    # What it was built on: the Dockerfile's pin, or the override that replaced it.
    assert labels["org.opencontainers.image.base.name"] == BASE_IMAGE
    assert config["User"] == "10001:10001"
    assert "5000/tcp" in config["ExposedPorts"]
    assert config["Cmd"] == ["finlex-api"]  # exec form: no shell in between
    assert config["Healthcheck"]["Test"] == ["CMD", "bash", "/app/healthcheck.sh"]


def test_no_pip_or_compilers_in_the_final_image(image: str) -> None:
    found = docker(
        "run", "--rm", "--name", container_name(), "--entrypoint", "sh", image, "-c",
        "for t in pip pip3 gcc cc make; do command -v $t; done; "
        "python3 -m pip --version 2>/dev/null; ls /root/.cache 2>/dev/null; true",
    ).stdout  # fmt: skip
    assert found.strip() == ""


def test_ca_bundle_secret_leaves_no_trace(image: str, tmp_path: Path) -> None:
    require(HOST_CA_BUNDLE.exists(), f"{HOST_CA_BUNDLE} is absent: no secret was used")
    pem_lines = [
        line.strip()
        for line in HOST_CA_BUNDLE.read_text().splitlines()
        if line.strip() and not line.startswith("-----") and len(line.strip()) == 64
    ]
    marker = pem_lines[-1].encode()  # a line of the bundle's last certificate
    archive = tmp_path / "image.tar"
    docker("save", "--output", str(archive), image, timeout=300)
    inspected = 0
    with tarfile.open(archive) as outer:
        # manifest.json names each layer: `<id>/layer.tar` (Docker < 25) or
        # `blobs/sha256/<digest>` with no suffix (Docker 25+, OCI layout).
        manifest = outer.extractfile("manifest.json")
        assert manifest is not None
        (entry,) = json.load(manifest)
        for layer_name in entry["Layers"]:
            layer_file = outer.extractfile(layer_name)
            assert layer_file is not None, layer_name
            with tarfile.open(fileobj=layer_file, mode="r|*") as layer:
                for member in layer:
                    assert not member.name.startswith("run/secrets"), member.name
                    if member.isfile():
                        content = layer.extractfile(member)
                        assert content is not None
                        assert marker not in content.read(), f"bundle found in {member.name}"
            inspected += 1
    assert inspected > 0, "docker save wrote no layers to inspect"
    assert inspected == len(entry["Layers"])
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
    assert "ca-certificates.crt" not in history
    assert "PIP_CERT=/" not in history


def test_image_size(image: str) -> None:
    size_mb = int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout) / 1e6
    base_mb = int(docker("image", "inspect", "--format", "{{.Size}}", BASE_IMAGE).stdout) / 1e6
    assert size_mb - base_mb <= ABOVE_BASE_BUDGET_MB, f"{size_mb:.1f} MB on a {base_mb:.1f} MB base"


def test_bad_configuration_stops_the_container_with_one_line(image: str) -> None:
    run = docker(
        "run", "--rm", "--name", container_name(), "-e", "FINLEX_WORKERS=lots", image, check=False
    )
    assert run.returncode == 2
    assert run.stderr.strip() == "finlex: FINLEX_WORKERS='lots' is not an integer"
