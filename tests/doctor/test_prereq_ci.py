"""A missing Terraform or provider skips a test on a developer's machine and fails it under CI=true.

Runs pytest on small test files (and on the real rehearsal test) with a PATH
that lacks terraform, or with no provider to be had, with CI unset and with
CI=true: CI must provide both (ci.yml installs Terraform; the provider comes
from the registry under the lock), so there a miss is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.prerequisites import require_tool

REPO = Path(__file__).resolve().parents[2]

NEEDS_TERRAFORM = """
from support.terraform.cli import require_terraform_and_mirror

def test_needs_terraform():
    require_terraform_and_mirror("test_needs_terraform")
"""


def pytest_run(
    tmp_path: Path, *targets: str, path: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    if path is not None:
        environ["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml"),
         "-p", "support.skipsummary",
         "-p", "no:cacheprovider", "--no-cov", "-rA", f"--basetemp={tmp_path / 'basetemp'}",
         *targets],
        cwd=REPO,
        env={**environ, "PYTHONPATH": f"{REPO / 'tests'}:{REPO / 'tools'}", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip


@pytest.fixture
def needs_terraform(tmp_path: Path) -> str:
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "test_needs.py").write_text(NEEDS_TERRAFORM, encoding="utf-8")
    return str(folder / "test_needs.py")


@pytest.fixture
def no_terraform_path(tmp_path: Path) -> str:
    empty = tmp_path / "bin"
    empty.mkdir()
    return str(empty)


def test_without_terraform_it_skips_saying_so(
    tmp_path: Path, needs_terraform: str, no_terraform_path: str
) -> None:
    result = pytest_run(tmp_path, needs_terraform, path=no_terraform_path)
    assert result.returncode == 0, result.stdout
    assert "SKIPPED" in result.stdout
    assert "terraform is not on PATH" in result.stdout
    assert "skipped: 1 (terraform is not on PATH)" in result.stdout.splitlines()


def test_without_terraform_under_ci_it_fails_saying_so(
    tmp_path: Path, needs_terraform: str, no_terraform_path: str
) -> None:
    result = pytest_run(tmp_path, needs_terraform, path=no_terraform_path, CI="true")
    assert result.returncode == 1, result.stdout
    assert "missing prerequisite under CI=true: terraform is not on PATH" in result.stdout
    assert "skipped: 0" in result.stdout.splitlines()


def test_without_a_provider_under_ci_it_fails_naming_the_fix(
    tmp_path: Path, needs_terraform: str
) -> None:
    require_tool("terraform")  # this case is about the provider
    empty = tmp_path / "no-mirror"
    empty.mkdir()
    result = pytest_run(tmp_path, needs_terraform, CI="true", FINLEX_TF_PROVIDER_MIRROR=str(empty))
    assert result.returncode == 1, result.stdout
    assert (
        "missing prerequisite under CI=true: test_needs_terraform needs hashicorp/aws: "
        f"no filesystem mirror of registry.terraform.io/hashicorp/aws in {empty}"
    ) in result.stdout


def test_the_rehearsal_under_ci_fails_without_terraform(
    tmp_path: Path, no_terraform_path: str
) -> None:
    test = "tests/rehearsal/test_rehearsal.py::test_every_step_passed"
    result = pytest_run(tmp_path, test, path=no_terraform_path, CI="true")
    assert result.returncode == 1, result.stdout
    assert "ERROR tests/rehearsal/test_rehearsal.py::test_every_step_passed" in result.stdout
    assert "missing prerequisite under CI=true: terraform is not on PATH" in result.stdout
