"""`python -m rehearse`: bad arguments, a machine without Terraform or a provider: one line
each, naming the fix, never a traceback (a lock that does not match: test_lock_mismatch.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tfmirror
from rehearse.__main__ import main
from support.prerequisites import require_tool

REPO = Path(__file__).resolve().parents[2]


def rehearse(*args: str, path: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(REPO / "tools"), **env}
    if path is not None:
        environ["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "rehearse", *args],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
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


def test_an_infra_folder_without_environments_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "providers.tf").write_text("")
    result = rehearse("--infra", str(tmp_path))
    assert result.returncode == 2
    assert (
        f"--infra {tmp_path}: no environments/production.tfvars, environments/staging.tfvars, "
        "environments/staging.backend.hcl there (--production-only rehearses production alone)"
    ) in result.stderr
    assert "Traceback" not in result.stderr


def test_no_terraform_cli_is_one_line_naming_the_fix_and_exit_3(tmp_path: Path) -> None:
    result = rehearse(path=str(tmp_path))  # a PATH with no terraform on it
    assert result.returncode == 3
    assert result.stderr.strip() == (
        "rehearse: the terraform CLI is not on PATH: install Terraform >= 1.10 "
        "(https://developer.hashicorp.com/terraform/install)"
    )
    assert result.stdout == ""


def test_a_named_mirror_that_is_empty_is_one_line_and_exit_3(tmp_path: Path) -> None:
    require_tool("terraform")  # the mirror is looked up after the CLI
    result = rehearse(FINLEX_TF_PROVIDER_MIRROR=str(tmp_path))
    assert result.returncode == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"rehearse: no filesystem mirror of registry.terraform.io/hashicorp/aws in {tmp_path} "
        "(FINLEX_TF_PROVIDER_MIRROR): point FINLEX_TF_PROVIDER_MIRROR at the folder"
    )
    assert result.stdout == ""


def test_no_mirror_and_no_registry_is_one_line_naming_both_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_tool("terraform")
    # No mirror anywhere it is looked for, no earlier download, the registry off.
    monkeypatch.setattr(tfmirror, "OPT", tmp_path / "opt")
    monkeypatch.setattr(tfmirror, "SYSTEM_DIRS", ())
    monkeypatch.setattr(tfmirror, "CACHE", tmp_path / "cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("FINLEX_TF_REGISTRY", "off")
    for name in ("FINLEX_TF_PROVIDER_MIRROR", "TF_CLI_CONFIG_FILE", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert main([]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "rehearse: no filesystem mirror of registry.terraform.io/hashicorp/aws in Terraform's "
        "plugin folders and /opt, and registry.terraform.io is turned off "
        "(FINLEX_TF_REGISTRY=off): set FINLEX_TF_PROVIDER_MIRROR to a mirror (`terraform "
        "providers mirror DIR` in infra/ where the registry is reachable), or run where "
        "registry.terraform.io is reachable\n"
    )
