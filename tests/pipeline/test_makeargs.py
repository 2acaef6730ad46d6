"""tools/makeargs.py: the Makefile's checks of TAG, CPU_ARCHITECTURE, BASE_IMAGE and
the variables a target needs, one line and exit 2 for each bad value.

The targets' own tests (tests/release/test_make.py, test_base_image_pin.py,
test_make_push.py) run them through make; these hold the rules themselves.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import makeargs
import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "makeargs.py"


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *argv], capture_output=True, text=True, check=False, timeout=30
    )


@pytest.mark.parametrize("value", ["1.0.1", "0123abc", "_x", "a" * 128, "latest", "tested-1"])
def test_an_image_tag_passes(value: str) -> None:
    assert makeargs.tag(value) == f"TAG {value}"


@pytest.mark.parametrize("value", ["", "-x", ".x", "a b", "x;y", "a" * 129, "x$(id)", "é"])
def test_what_is_no_image_tag_is_refused(value: str) -> None:
    with pytest.raises(makeargs.BadValueError, match=r"^make: TAG '.*' is not an image tag \("):
        makeargs.tag(value)


@pytest.mark.parametrize(
    ("value", "start"),
    [
        ("latest", "set TAG (e.g. TAG=$(git rev-parse HEAD)): ECR tags are immutable"),
        ("tested-abc", "make: TAG tested-abc starts with tested-: such tags are test records"),
    ],
)
def test_a_release_tag_names_a_build(value: str, start: str) -> None:
    assert makeargs.tag(value) == f"TAG {value}", "any tag"
    with pytest.raises(makeargs.BadValueError) as refused:
        makeargs.tag(value, release=True)
    assert str(refused.value).startswith(start)


def test_cpu_architecture_is_ecs_word() -> None:
    assert makeargs.cpu_architecture("ARM64") == "CPU_ARCHITECTURE ARM64"
    for value in ("arm64", "amd64", "", "X86_64 "):
        with pytest.raises(makeargs.BadValueError, match="is not X86_64 or ARM64"):
            makeargs.cpu_architecture(value)


def test_base_image_names_the_pin_or_the_override() -> None:
    def pin() -> str:
        return "debian@sha256:0"

    assert makeargs.base_image("", pin) == "==> base image debian@sha256:0 (the Dockerfile's pin)"
    assert makeargs.base_image("reg:5000/d:t@sha256:1", pin).startswith(
        "==> base image OVERRIDDEN: BASE_IMAGE=reg:5000/d:t@sha256:1 replaces"
    )
    for value in ("a b", "x;y", "$(id)", "a'b"):
        with pytest.raises(makeargs.BadValueError, match="is not an image reference"):
            makeargs.base_image(value, pin)


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        (["tag", "--", "-x"], "make: TAG '-x' is not an image tag"),
        (["tag", "a b"], "make: TAG 'a b' is not an image tag"),
        (["tag", "--release", "latest"], "set TAG (e.g. TAG=$(git rev-parse HEAD))"),
        (["cpu-architecture", "x"], "make: CPU_ARCHITECTURE 'x' is not X86_64 or ARM64"),
        (["base-image", "x;y"], "make image: BASE_IMAGE='x;y' is not an image reference"),
        (["required", "", "set URL, please"], "set URL, please"),
    ],
)
def test_the_command_line_refuses_in_one_line_with_exit_2(argv: list[str], stderr: str) -> None:
    result = run(*argv)
    assert result.returncode == 2
    assert result.stderr.startswith(stderr)
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""


def test_the_command_line_passes_good_values_silently() -> None:
    for argv in (["tag", "1.0"], ["cpu-architecture", "X86_64"], ["required", "x", "m"]):
        result = run(*argv)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    pinned = run("base-image", "")
    assert pinned.returncode == 0
    assert pinned.stdout.startswith("==> base image debian:trixie-slim@sha256:")
