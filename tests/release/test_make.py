"""The make boundary of the release targets: Make variables that reach the
shell are quoted or validated, and `make image` builds for the tasks' CPU.

Each injection case puts a shell command into a variable; the command would
create a file. The file must not appear, and the target must refuse in one line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.makedb import MAKE_ERROR, database
from support.release_fakes import CONFIG_DIGEST, fake_docker, run_make
from support.terraform.hcl import ECS, INFRA, labelled

TAG = "0123456789abcdef0123456789abcdef01234567"


def make(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The real Makefile, no AWS credentials, a docker stand-in."""
    return run_make(*argv, docker=fake_docker(tmp_path / "docker", CONFIG_DIGEST), timeout=60)


@pytest.mark.parametrize("goal", ["image", "push", "deploy", "scan-gate"])
@pytest.mark.parametrize(
    "tag", ["x;touch {marker}", "a b", "x$$(touch {marker})", "x`touch {marker}`", "-x"]
)
def test_a_tag_that_is_not_a_tag_is_refused(tmp_path: Path, goal: str, tag: str) -> None:
    """Issue 19: a tag with `;` or spaces never reaches the shell as code."""
    marker = tmp_path / "injected"
    result = make(tmp_path, goal, f"TAG={tag.format(marker=marker)}", f"IMAGE_ID={CONFIG_DIGEST}")
    assert not marker.exists(), "the tag ran as a shell command"
    assert result.returncode == 2, result.stdout + result.stderr
    # make's own "*** Error 2" line: make: under a shell, make[N]: under a parent make (make test).
    lines = [line for line in result.stderr.splitlines() if not MAKE_ERROR.match(line)]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("make: TAG "), lines
    assert "is not an image tag" in lines[0]
    assert not (tmp_path / "docker" / "docker.log").exists()  # docker never ran


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("URL", "https://x';touch {marker};'"),
        ("URL", 'https://x" $(touch {marker}) "'),
        ("REVISION", "abc';touch {marker};'"),
    ],
)
def test_verify_passes_url_and_revision_as_one_word(
    tmp_path: Path, variable: str, value: str
) -> None:
    marker = tmp_path / "injected"
    settings = {"URL": "https://finlex.example.com", "REVISION": "abc"}
    settings[variable] = value.format(marker=marker)
    result = make(tmp_path, "verify", *(f"{k}={v}" for k, v in settings.items()))
    assert not marker.exists(), f"{variable} ran as a shell command"
    assert result.returncode == 2, result.stderr
    assert "finlex-release verify: " in result.stderr  # the tool got it and refused it


@pytest.mark.parametrize("variable", ["IMAGE", "ECR_REPOSITORY", "CLUSTER", "SERVICE"])
def test_names_that_reach_the_release_targets_are_quoted(tmp_path: Path, variable: str) -> None:
    marker = tmp_path / "injected"
    goal = "image" if variable == "IMAGE" else "deploy"
    result = make(tmp_path, "-n", goal, f"TAG={TAG}", f"{variable}=x;touch {marker}")
    assert result.returncode == 0, result.stderr
    assert f"'x;touch {marker}" in result.stdout, result.stdout  # one quoted word


def dry_run_image(tmp_path: Path, *variables: str) -> str:
    result = make(tmp_path, "-n", "image", *variables)
    assert result.returncode == 0, result.stderr
    (build,) = [line for line in result.stdout.splitlines() if " build " in line]
    return build


def test_make_image_builds_for_the_tasks_cpu_architecture(tmp_path: Path) -> None:
    assert "--platform linux/amd64" in dry_run_image(tmp_path)
    assert "--platform linux/arm64" in dry_run_image(tmp_path, "CPU_ARCHITECTURE=ARM64")


def test_an_unknown_cpu_architecture_is_refused(tmp_path: Path) -> None:
    result = make(tmp_path, "image", "CPU_ARCHITECTURE=sparc")
    assert result.returncode == 2
    assert "CPU_ARCHITECTURE 'sparc' is not X86_64 or ARM64" in result.stderr
    assert not (tmp_path / "docker" / "docker.log").exists()


def test_the_makefiles_cpu_architecture_is_the_task_definitions() -> None:
    """The default is the one infra/ gives the task definition: the module's
    default, which the root's module call does not override."""
    module_default = labelled(ECS, "variable")["cpu_architecture"]["default"]
    call = labelled(INFRA, "module")["ecs_cluster"]
    assert "cpu_architecture" not in call, "the root sets it: make the Makefile read it"
    assert database().variables["CPU_ARCHITECTURE"] == ("makefile", module_default)
