"""The Makefile's Terraform targets that terraform.yml and ci.yml call.

They run in a scratch copy of the Makefile with `TF=echo`, so no Terraform,
AWS or registry is needed and the checkout's infra/ is never written to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "application").mkdir()
    shutil.copy(REPO / "application" / "VERSION", tmp_path / "application" / "VERSION")
    (tmp_path / "infra" / "bootstrap").mkdir(parents=True)
    (tmp_path / "infra" / "bootstrap" / "resources.tf").write_text("", encoding="utf-8")
    return tmp_path


def make(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"TF_BACKEND_HCL", "TF_TFVARS"}}
    return subprocess.run(
        [require_tool("make"), "--no-print-directory", "TF=echo", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_validate_covers_every_root_without_a_backend(scratch: Path) -> None:
    result = make(scratch, "tf-validate")
    assert result.returncode == 0, result.stderr
    for root in ("infra", "infra/bootstrap"):
        assert f"-chdir={root} validate -no-color" in result.stdout
    assert "== infra\n" in result.stdout
    assert "== infra/bootstrap\n" in result.stdout


def test_validate_init_never_touches_a_backend(scratch: Path) -> None:
    result = make(scratch, "-n", "tf-validate")
    assert "init -backend=false" in result.stdout


def test_plan_without_backend_config_says_what_to_do(scratch: Path) -> None:
    result = make(scratch, "tf-plan")
    assert result.returncode == 2
    assert "infra/backend.hcl is missing" in result.stderr
    assert "TF_BACKEND_HCL" in result.stderr
    assert not (scratch / "infra" / "backend.hcl").exists()


def test_plan_writes_ci_config_from_variables_then_plans(scratch: Path) -> None:
    backend = 'bucket = "finlex-tfstate"\nkey    = "finlex/terraform.tfstate"'
    tfvars = 'domain_name = "api.example.com"'
    result = make(scratch, "tf-plan", TF_BACKEND_HCL=backend, TF_TFVARS=tfvars)
    assert result.returncode == 0, result.stderr
    assert (scratch / "infra" / "backend.hcl").read_text() == backend + "\n"
    assert (scratch / "infra" / "terraform.tfvars").read_text() == tfvars + "\n"
    lines = result.stdout.splitlines()
    init = next(i for i, ln in enumerate(lines) if "-backend-config=backend.hcl" in ln)
    plan = next(i for i, ln in enumerate(lines) if " plan " in ln and "-out=finlex.tfplan" in ln)
    assert init < plan


def test_existing_local_files_win_over_variables(scratch: Path) -> None:
    (scratch / "infra" / "backend.hcl").write_text("local\n", encoding="utf-8")
    (scratch / "infra" / "terraform.tfvars").write_text("local\n", encoding="utf-8")
    result = make(scratch, "tf-plan", TF_BACKEND_HCL="from-ci", TF_TFVARS="from-ci")
    assert result.returncode == 0, result.stderr
    assert (scratch / "infra" / "backend.hcl").read_text() == "local\n"


def test_apply_applies_the_saved_plan(scratch: Path) -> None:
    result = make(scratch, "tf-apply", TF_BACKEND_HCL="b", TF_TFVARS="v")
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.rstrip()
        .splitlines()[-1]
        .endswith("apply -input=false -no-color -lock-timeout=5m finlex.tfplan")
    )


def test_plan_summary_is_markdown_even_without_a_plan(tmp_path: Path, scratch: Path) -> None:
    fake_tf = tmp_path / "tf"
    fake_tf.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    fake_tf.chmod(0o755)
    result = make(scratch, "--silent", "tf-plan-summary", f"TF={fake_tf}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("### terraform plan")
    assert "(no plan was saved" in result.stdout
    assert result.stdout.count("```") == 2
