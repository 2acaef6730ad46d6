"""`python -m rehearse`: bad arguments and a machine without Terraform, one line each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def rehearse(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "rehearse", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_unknown_check_is_a_usage_error() -> None:
    result = rehearse("--checks", "bogus")
    assert result.returncode == 2
    assert "invalid choice: 'bogus'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_infra_folder_without_terraform_is_a_usage_error(tmp_path: Path) -> None:
    result = rehearse("--infra", str(tmp_path))
    assert result.returncode == 2
    assert f"--infra {tmp_path}: no providers.tf there" in result.stderr


def test_no_terraform_cli_is_one_line_and_exit_3(tmp_path: Path) -> None:
    result = rehearse(path=str(tmp_path))  # a PATH with no terraform on it
    assert result.returncode == 3
    assert result.stderr.strip() == "rehearse: skipped: the terraform CLI is not on PATH"
    assert result.stdout == ""


def test_no_provider_mirror_is_one_line_and_exit_3(tmp_path: Path) -> None:
    env_mirror = {"FINLEX_TF_PROVIDER_MIRROR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "rehearse"],
        cwd=REPO,
        env={**os.environ, **env_mirror, "PYTHONPATH": str(REPO / "tools")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "terraform CLI is not on PATH" in result.stderr:
        pytest.skip("no terraform CLI on this machine: the mirror is never looked up")
    assert result.returncode == 3
    assert result.stderr.strip().startswith("rehearse: skipped: no filesystem mirror of")
    assert str(tmp_path) in result.stderr
