"""A lock that does not match the provider offered: the rehearsal's validate step ends in one line.

The committed lock with one checksum altered, in a copy of infra/: `terraform
init -lockfile=readonly` refuses the provider, and the summary's validate row
says which lock, that it does not match, and the fix (`make tf-lock`), instead
of Terraform's wrapped error text.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from support.terraform.cli import require_terraform_and_mirror

REPO = Path(__file__).resolve().parents[2]


def rehearse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rehearse", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "tools")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_lock_that_does_not_match_ends_validate_in_one_line(tmp_path: Path) -> None:
    """The lock's checksum altered: init -lockfile=readonly refuses the provider offered."""
    require_terraform_and_mirror("test_a_lock_that_does_not_match_ends_validate_in_one_line")
    infra = tmp_path / "infra"
    shutil.copytree(REPO / "infra", infra, ignore=shutil.ignore_patterns(".terraform"))
    lock = infra / ".terraform.lock.hcl"
    text = lock.read_text(encoding="utf-8")
    altered = re.sub(r'"h1:[A-Za-z0-9+/]{4}', '"h1:AAAA', text)
    assert altered != text
    lock.write_text(altered, encoding="utf-8")
    result = rehearse(
        "--infra", str(infra), "--workdir", str(tmp_path / "work"), "--bucket-by-api",
        "--examples", "quickstart-default-vpc", "--autoscaling", "true",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith("provider: registry.terraform.io/hashicorp/aws 5.100.0 from ")
    summary = result.stdout.split("rehearsal summary", 1)[1]
    (row,) = [line for line in summary.splitlines() if "validate" in line]
    assert row.startswith("  ✘ validate")
    assert row.endswith(
        "the lock infra/.terraform.lock.hcl does not match the hashicorp/aws package offered "
        "(none of its checksums matches): run `make tf-lock` where registry.terraform.io is "
        "reachable and commit the lock"
    ), row
    after = summary.splitlines()[summary.splitlines().index(row) + 1]
    assert not after.startswith(" " * 45), "the reason is one line"
