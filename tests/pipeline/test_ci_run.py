"""`.ci/run`, the one definition of CI: builds the image once and hands it to `make test`.

Runs the real script with stand-ins for docker, make and git first on PATH, so
that nothing is installed, built or tested for real; the stand-ins log what
they were asked to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import baseimage
from support.prerequisites import require_tool

REPO = Path(__file__).resolve().parents[2]
SOURCE = "https://github.com/example-org/finlex"


def stand_in(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    stand_in(
        bin_dir,
        "docker",
        f'echo "docker $*" >> "{log}"\n'
        'case "$1" in\n'
        "  buildx) echo 'github.com/docker/buildx v0.17.1 x' ;;\n"
        "  version) echo 27.3.1 ;;\n"
        "esac\n",
    )
    stand_in(
        bin_dir,
        "make",
        f'echo "make $* | FINLEX_TEST_IMAGE=$FINLEX_TEST_IMAGE'
        f' SOURCE=$FINLEX_TEST_IMAGE_SOURCE CI=$CI BASE_IMAGE=$BASE_IMAGE" >> "{log}"\n',
    )
    stand_in(bin_dir, "git", f'[ "$1 $2" = "remote get-url" ] && echo {SOURCE}\n')
    stand_in(bin_dir, "npm", "exit 0\n")
    stand_in(bin_dir, "terraform", f'echo "terraform $*" >> "{log}"\necho "Terraform v1.11.4"\n')
    (bin_dir / "python3").symlink_to(sys.executable)
    # A provider mirror (tools/tfmirror.py looks only there when the variable names it).
    plugin = tmp_path / "mirror" / "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64"
    plugin.mkdir(parents=True)
    (plugin / "terraform-provider-aws_v5.100.0_x5").write_bytes(b"")
    return bin_dir


def run_ci(fake_bin: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bash = require_tool("bash")
    keep = {k: v for k, v in os.environ.items() if k in {"HOME", "LANG"}}
    mirror = str(fake_bin.parent / "mirror")
    result = subprocess.run(
        [bash, str(REPO / ".ci" / "run")],
        env={
            **keep,
            "PATH": f"{fake_bin}:/usr/bin:/bin",
            "FINLEX_TF_PROVIDER_MIRROR": mirror,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    log = fake_bin.parent / "calls.log"
    return result, log.read_text().splitlines() if log.exists() else []


def makes(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("make ")]


def test_builds_the_image_once_then_tests_that_image(fake_bin: Path) -> None:
    result, calls = run_ci(fake_bin)
    assert result.returncode == 0, result.stderr
    assert "installing:" not in result.stdout, "everything was present: nothing to install"
    build, test = makes(calls)
    assert build.startswith("make --no-print-directory image IMAGE=finlex TAG=ci ")
    assert f"SOURCE={SOURCE}" in build
    assert f"DOCKER={fake_bin / 'docker'}" in build
    assert test == f"make test | FINLEX_TEST_IMAGE=finlex:ci SOURCE={SOURCE} CI=true BASE_IMAGE="
    assert "BASE_IMAGE= |" in build, "the pinned base: no override"
    assert not [c for c in calls if c.startswith("docker build ")], "only make image builds"


def test_the_release_tag_names_the_image(fake_bin: Path) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    result, calls = run_ci(fake_bin, FINLEX_IMAGE_TAG=sha)
    assert result.returncode == 0, result.stderr
    build, test = makes(calls)
    assert f" TAG={sha} " in build
    assert f"FINLEX_TEST_IMAGE=finlex:{sha} " in test


PINNED = baseimage.pinned()


def docker_answering(fake_bin: Path, script: str) -> None:
    """docker that logs its calls and answers `image` and `pull` by `script` (sh case arms)."""
    log = fake_bin.parent / "calls.log"
    stand_in(
        fake_bin,
        "docker",
        f'echo "docker $*" >> "{log}"\n'
        'case "$1 $2 $3 $4" in\n'
        "  buildx*) echo 'github.com/docker/buildx v0.17.1 x' ;;\n"
        "  version*) echo 27.3.1 ;;\n"
        f"{script}"
        "esac\n",
    )


def test_the_pinned_base_is_pulled_by_digest_when_absent(fake_bin: Path) -> None:
    docker_answering(fake_bin, '  "image inspect"*) exit 1 ;;\n')  # nothing in the store
    result, calls = run_ci(fake_bin)
    assert result.returncode == 0, result.stderr
    pull = calls.index(f"docker pull -q {PINNED}")
    build = calls.index(makes(calls)[0])
    assert pull < build
    assert f"base image: {PINNED} (the Dockerfile's pin)" in result.stdout
    assert "BASE_IMAGE= |" in makes(calls)[0]  # no override


def test_offline_the_stand_in_is_passed_as_the_override(fake_bin: Path) -> None:
    """No registry: .ci/base-image.sh's stand-in (present here) becomes BASE_IMAGE."""
    docker_answering(
        fake_bin,
        f'  "image inspect {PINNED}"*) exit 1 ;;\n'  # the pin is not in the store
        '  "pull "*) exit 1 ;;\n',  # and no registry answers
    )
    stand_in(fake_bin, "debootstrap", "exit 0\n")
    result, calls = run_ci(fake_bin)
    assert result.returncode == 0, result.stderr
    assert (
        "base image: no registry reachable: BASE_IMAGE=debian:trixie-slim, the offline "
        f"stand-in, replaces {PINNED}"
    ) in result.stdout
    build, test = makes(calls)
    assert "BASE_IMAGE=debian:trixie-slim |" in build  # on make image's command line
    assert test.endswith(" BASE_IMAGE=debian:trixie-slim")  # and to the container tests
    assert (REPO / "Dockerfile").read_text().count(PINNED) == 1  # never edited


def test_a_registry_without_the_pinned_digest_fails_ci(fake_bin: Path) -> None:
    docker_answering(
        fake_bin,
        f'  "image inspect {PINNED}"*) exit 1 ;;\n  "pull -q {PINNED}"*) exit 1 ;;\n',
    )  # the tag pulls: a registry answers, without the pinned digest
    result, calls = run_ci(fake_bin)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"base image: the registry does not hold {PINNED}: correct the digest in the Dockerfile"
    )
    assert makes(calls) == []


def test_on_github_a_failed_pull_of_the_pin_is_never_replaced(fake_bin: Path) -> None:
    docker_answering(fake_bin, '  "image inspect"*) exit 1 ;;\n  "pull "*) exit 1 ;;\n')
    stand_in(fake_bin, "debootstrap", "exit 0\n")
    result, calls = run_ci(fake_bin, GITHUB_ACTIONS="true")
    assert result.returncode == 1
    assert "does not hold" in result.stderr
    assert makes(calls) == []


def test_a_failing_build_stops_before_the_tests(fake_bin: Path) -> None:
    log = fake_bin.parent / "calls.log"
    stand_in(fake_bin, "make", f'echo "make $*" >> "{log}"\n[ "$1" != --no-print-directory ]\n')
    result, calls = run_ci(fake_bin)
    assert result.returncode != 0
    assert makes(calls) == [next(c for c in calls if c.startswith("make --no-print-directory"))]


def test_script_is_what_the_workflow_runs() -> None:
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert "run: bash .ci/run\n" in text


def test_terraform_and_the_provider_are_checked_before_anything_is_built(fake_bin: Path) -> None:
    result, _ = run_ci(fake_bin)
    assert result.returncode == 0, result.stderr
    assert "Terraform v1.11.4\n" in result.stdout
    provider = (
        "provider: registry.terraform.io/hashicorp/aws 5.100.0 from the filesystem mirror "
        f"{fake_bin.parent / 'mirror'}"
    )
    assert provider in result.stdout.splitlines()
    assert result.stdout.index(provider) < result.stdout.index("==> image finlex:ci")


def test_no_terraform_stops_ci_with_one_line_naming_the_fix(fake_bin: Path, tmp_path: Path) -> None:
    (fake_bin / "terraform").unlink()
    # The system's tools without any terraform among them.
    system = tmp_path / "system-bin"
    system.mkdir()
    for folder in (Path("/usr/bin"), Path("/bin")):
        for tool in folder.iterdir():
            if tool.name != "terraform" and not (system / tool.name).exists():
                (system / tool.name).symlink_to(tool)
    result, calls = run_ci(fake_bin, PATH=f"{fake_bin}:{system}")
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "terraform is not on PATH: install Terraform >= 1.10 "
        "(https://developer.hashicorp.com/terraform/install)"
    )
    assert makes(calls) == [], "nothing is built or tested"


def test_no_provider_stops_ci_with_one_line_naming_the_fix(fake_bin: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result, calls = run_ci(fake_bin, FINLEX_TF_PROVIDER_MIRROR=str(empty))
    assert result.returncode == 3
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"tfmirror: no filesystem mirror of registry.terraform.io/hashicorp/aws in {empty}"
    )
    assert "FINLEX_TF_PROVIDER_MIRROR" in last
    assert makes(calls) == []
