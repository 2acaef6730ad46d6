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

from prereq import require_tool

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
        f' SOURCE=$FINLEX_TEST_IMAGE_SOURCE CI=$CI" >> "{log}"\n',
    )
    stand_in(bin_dir, "git", f'[ "$1 $2" = "remote get-url" ] && echo {SOURCE}\n')
    stand_in(bin_dir, "npm", "exit 0\n")
    (bin_dir / "python3").symlink_to(sys.executable)
    return bin_dir


def run_ci(fake_bin: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bash = require_tool("bash")
    keep = {k: v for k, v in os.environ.items() if k in {"HOME", "LANG"}}
    result = subprocess.run(
        [bash, str(REPO / ".ci" / "run")],
        env={**keep, "PATH": f"{fake_bin}:/usr/bin:/bin", **env},
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
    assert test == f"make test | FINLEX_TEST_IMAGE=finlex:ci SOURCE={SOURCE} CI=true"
    assert not [c for c in calls if c.startswith("docker build ")], "only make image builds"


def test_the_release_tag_names_the_image(fake_bin: Path) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    result, calls = run_ci(fake_bin, FINLEX_IMAGE_TAG=sha)
    assert result.returncode == 0, result.stderr
    build, test = makes(calls)
    assert f" TAG={sha} " in build
    assert f"FINLEX_TEST_IMAGE=finlex:{sha} " in test


def test_the_base_image_is_pulled_when_absent(fake_bin: Path) -> None:
    log = fake_bin.parent / "calls.log"
    stand_in(
        fake_bin,
        "docker",
        f'echo "docker $*" >> "{log}"\n'
        'case "$1" in\n'
        "  buildx) echo 'github.com/docker/buildx v0.17.1 x' ;;\n"
        "  version) echo 27.3.1 ;;\n"
        "  image) exit 1 ;;\n"  # not in the local store
        "esac\n",
    )
    result, calls = run_ci(fake_bin)
    assert result.returncode == 0, result.stderr
    pull = calls.index("docker pull -q debian:trixie-slim")
    build = calls.index(makes(calls)[0])
    assert pull < build


def test_a_failing_build_stops_before_the_tests(fake_bin: Path) -> None:
    log = fake_bin.parent / "calls.log"
    stand_in(fake_bin, "make", f'echo "make $*" >> "{log}"\n[ "$1" != --no-print-directory ]\n')
    result, calls = run_ci(fake_bin)
    assert result.returncode != 0
    assert makes(calls) == [next(c for c in calls if c.startswith("make --no-print-directory"))]


def test_script_is_what_the_workflow_runs() -> None:
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert "run: bash .ci/run\n" in text
