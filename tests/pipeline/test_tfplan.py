"""tools/tfplan.py: the reviewed plan is the applied plan, and drift fails loudly.

Real Terraform on a local-only configuration (`terraform_data`, built into
Terraform: no provider, no network) gives real plan files, a real
`terraform show -json` and Terraform's own refusal of a stale plan. A fake
`terraform` that only logs its arguments shows what the tool never runs.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

import tfplan
from support.prerequisites import require_tool

# a: changed in place, b: replaced, c: destroyed, d: added when n goes from 1 to 2.
CONFIG = """
variable "n" {
  type    = number
  default = 1
}

resource "terraform_data" "a" {
  input = var.n
}

resource "terraform_data" "b" {
  input            = "b"
  triggers_replace = [var.n]
}

resource "terraform_data" "c" {
  count = var.n == 1 ? 1 : 0
  input = "c"
}

resource "terraform_data" "d" {
  count = var.n == 1 ? 0 : 1
  input = "d"
}

output "n" {
  value = var.n
}
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Terraform root with local state, applied with n = 1."""
    terraform = require_tool("terraform")
    (tmp_path / "cli.tfrc").write_text("", encoding="utf-8")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "cli.tfrc"))
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    work = tmp_path / "root"
    work.mkdir()
    (work / "main.tf").write_text(CONFIG, encoding="utf-8")
    tf(work, terraform, "init", "-input=false", "-no-color")
    tf(work, terraform, "apply", "-auto-approve", "-input=false", "-no-color")
    return work


def tf(work: Path, terraform: str, *args: str) -> str:
    result = subprocess.run(
        [terraform, f"-chdir={work}", *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def plan(work: Path, name: str, n: int) -> Path:
    """`terraform plan -out=NAME` as make tf-plan runs it, then `tfplan record`."""
    tf(work, "terraform", "plan", "-input=false", "-no-color", "-lock=false",
       f"-var=n={n}", f"-out={name}")  # fmt: skip
    assert tfplan.main(["--chdir", str(work), "record", name]) == 0
    return work / name


def fake_terraform(tmp_path: Path) -> tuple[str, Path]:
    """A terraform that logs its arguments and does nothing."""
    log = tmp_path / "calls.log"
    script = tmp_path / "fake-terraform"
    script.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n', encoding="utf-8")
    script.chmod(0o755)
    return str(script), log


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# --- record: the hash and the summary --------------------------------------------------------


def test_record_writes_a_sha256sum_line_and_a_summary_of_every_change(
    root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    saved = plan(root, "change.tfplan", n=2)
    digest = hashlib.sha256(saved.read_bytes()).hexdigest()
    assert (root / "change.tfplan.sha256").read_text() == f"{digest}  change.tfplan\n"
    check = subprocess.run(
        [require_tool("sha256sum"), "-c", "change.tfplan.sha256"], cwd=root, check=False
    )
    assert check.returncode == 0, "sha256sum -c reads the same file"

    summary = (root / "change.tfplan.md").read_text()
    assert summary.startswith("### terraform plan: `change.tfplan`\n")
    assert "**1 to add, 1 to change, 1 to destroy, 1 to replace**" in summary
    assert f"sha256 `{digest}`" in summary
    changes = [line for line in summary.splitlines() if line.startswith("- `")]
    assert changes == [
        "- `terraform_data.a`: change",
        "- `terraform_data.b`: replace (delete then create), replace because cannot update",
        "- `terraform_data.c[0]`: destroy, delete because count index",
        "- `terraform_data.d[0]`: add",
    ]
    assert "Outputs that change: `n`" in summary
    assert "# terraform_data.b must be replaced" in summary  # the full plan, folded
    assert "tfplan: change.tfplan: 1 to add, 1 to change" in capfd.readouterr().out


def test_summary_says_no_changes_and_outputs_say_so(
    root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    plan(root, "same.tfplan", n=1)
    assert "**No changes.**" in (root / "same.tfplan.md").read_text()
    capfd.readouterr()
    assert tfplan.main(["--chdir", str(root), "outputs", "same.tfplan"]) == 0
    digest = hashlib.sha256((root / "same.tfplan").read_bytes()).hexdigest()
    assert capfd.readouterr().out == f"sha256={digest}\nchanges=false\n"


def test_summary_without_a_plan_is_still_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tfplan.main(["--chdir", str(tmp_path), "summary", "finlex.tfplan"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### terraform plan: `finlex.tfplan`")
    assert "(no plan was saved" in out


# --- apply: only the recorded file, and never a stale one -------------------------------------


def test_the_saved_plan_applies(root: Path, capfd: pytest.CaptureFixture[str]) -> None:
    plan(root, "change.tfplan", n=2)
    capfd.readouterr()
    assert tfplan.main(["--chdir", str(root), "apply", "change.tfplan"]) == 0
    out = capfd.readouterr().out
    assert "Apply complete! Resources: 2 added, 1 changed, 2 destroyed." in out
    assert out.rstrip().splitlines()[-1].startswith("tfplan: applied change.tfplan (sha256 ")


def test_a_one_byte_change_is_refused_before_terraform_runs(
    root: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    saved = plan(root, "change.tfplan", n=2)
    data = bytearray(saved.read_bytes())
    data[len(data) // 2] ^= 0x01
    saved.write_bytes(bytes(data))
    terraform, calls = fake_terraform(tmp_path)
    capfd.readouterr()
    code = tfplan.main(["--chdir", str(root), "--terraform", terraform, "apply", "change.tfplan"])
    assert code == tfplan.EXIT_HASH == 3
    line = one_line(capfd.readouterr().err)
    assert re.fullmatch(
        r"tfplan: change\.tfplan has changed since it was planned \(sha256 [0-9a-f]{12}\.\.\., "
        r"recorded [0-9a-f]{12}\.\.\.\): not applied; plan again",
        line,
    ), line
    assert not calls.exists(), "terraform ran although the hash did not match"


def test_a_plan_other_than_the_reviewed_one_is_refused(
    root: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # A consistent pair (file + its own .sha256) that the plan job did not record.
    plan(root, "change.tfplan", n=2)
    reviewed = hashlib.sha256(b"the reviewed plan").hexdigest()
    terraform, calls = fake_terraform(tmp_path)
    capfd.readouterr()
    args = ["--chdir", str(root), "--terraform", terraform, "apply", "change.tfplan"]
    assert tfplan.main([*args, "--sha256", reviewed]) == tfplan.EXIT_HASH
    assert "is not the plan that was reviewed" in one_line(capfd.readouterr().err)
    assert not calls.exists()


@pytest.mark.parametrize(
    ("record", "says"),
    [
        (None, "change.tfplan: no change.tfplan.sha256 records its hash: not applied"),
        ("not a hash\n", "change.tfplan.sha256 is not one sha256sum line: not applied"),
        ("0" * 64 + "  other.tfplan\n", "change.tfplan.sha256 records other.tfplan"),
    ],
)
def test_a_missing_or_foreign_hash_record_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], record: str | None, says: str
) -> None:
    (tmp_path / "change.tfplan").write_bytes(b"plan")
    if record is not None:
        (tmp_path / "change.tfplan.sha256").write_text(record)
    terraform, calls = fake_terraform(tmp_path)
    code = tfplan.main(
        ["--chdir", str(tmp_path), "--terraform", terraform, "apply", "change.tfplan"]
    )
    assert code == tfplan.EXIT_HASH
    assert says in one_line(capsys.readouterr().err)
    assert not calls.exists()


def test_a_stale_plan_is_refused_in_one_line(root: Path, capfd: pytest.CaptureFixture[str]) -> None:
    plan(root, "first.tfplan", n=2)
    plan(root, "second.tfplan", n=3)  # made from the same state as the first
    assert tfplan.main(["--chdir", str(root), "apply", "first.tfplan"]) == 0
    capfd.readouterr()
    assert tfplan.main(["--chdir", str(root), "apply", "second.tfplan"]) == tfplan.EXIT_STALE
    captured = capfd.readouterr()
    assert one_line(captured.err) == (
        "tfplan: second.tfplan is stale: the state changed after it was planned "
        "(another apply ran): not applied; plan again and review the new plan"
    )
    assert "Saved plan is stale" not in captured.out + captured.err
    state = json.loads(tf(root, "terraform", "show", "-json"))
    assert state["values"]["outputs"]["n"]["value"] == 2, "the first plan's value stays"


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tfplan.main(["--chdir", str(tmp_path), "apply", "none.tfplan"]) == tfplan.EXIT_USAGE
    assert "none.tfplan is missing: run `terraform plan -out=none.tfplan` first" in one_line(
        capsys.readouterr().err
    )
    (tmp_path / "p.tfplan").write_bytes(b"plan")
    tfplan.write_hash(tmp_path / "p.tfplan")
    args = ["--chdir", str(tmp_path), "--terraform", str(tmp_path / "no-such-terraform")]
    assert tfplan.main([*args, "apply", "p.tfplan"]) == tfplan.EXIT_TERRAFORM
    assert "cannot run" in one_line(capsys.readouterr().err)


# --- drift --------------------------------------------------------------------------------


def test_drift_plans_without_a_lock_and_fails_with_the_summary(
    root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    args = ["--chdir", str(root), "drift", "drift.tfplan", "--"]
    assert tfplan.main([*args, "-var=n=1"]) == tfplan.EXIT_OK
    out = capfd.readouterr().out
    assert one_line(out) == (
        "tfplan: no drift: the infrastructure matches the configuration and the state"
    )
    assert "**No changes.**" in (root / "drift.tfplan.md").read_text()

    assert tfplan.main([*args, "-var=n=2"]) == tfplan.EXIT_DRIFT
    captured = capfd.readouterr()
    assert captured.out.startswith("### drift: `drift.tfplan`")
    assert "- `terraform_data.a`: change" in captured.out
    assert one_line(captured.err) == (
        "tfplan: drift: 1 to add, 1 to change, 1 to destroy, 1 to replace: terraform_data.a, "
        "terraform_data.b, terraform_data.c[0], terraform_data.d[0] (summary: drift.tfplan.md)"
    )


def test_drift_plan_runs_without_the_state_lock(tmp_path: Path) -> None:
    terraform, calls = fake_terraform(tmp_path)
    # The fake exits 0 and prints no JSON: the tool stops at `show -json`, in one line.
    code = tfplan.main(["--chdir", str(tmp_path), "--terraform", terraform, "drift", "d.tfplan"])
    assert code == tfplan.EXIT_TERRAFORM
    first = calls.read_text().splitlines()[0].split()
    assert first[:6] == [
        f"-chdir={tmp_path}", "plan", "-input=false", "-no-color", "-lock=false",
        "-detailed-exitcode",
    ]  # fmt: skip
    assert first[6] == f"-out={tmp_path / 'd.tfplan'}"
