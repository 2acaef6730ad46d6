"""Files the documented commands write stay out of git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.prerequisites import require_tool

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path",
    [
        "infra/tfplan",  # terraform -chdir=infra plan -out=tfplan (runbook, infra/README.md)
        "infra/finlex.tfplan",  # make tf-plan
        "infra/backend.hcl",
        "infra/terraform.tfvars",
        "infra/bootstrap/terraform.tfvars",
        "infra/bootstrap/terraform.tfstate",
        "finlex-image.tar",  # make image-save
        ".venv/bin/python",
        ".venv-checkov/bin/python",
    ],
)
def test_written_by_the_documented_commands_and_ignored(path: str) -> None:
    result = subprocess.run(
        [require_tool("git"), "check-ignore", "--no-index", "--quiet", path],
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, f"{path} is not git-ignored"


def test_examples_stay_tracked() -> None:
    result = subprocess.run(
        [require_tool("git"), "check-ignore", "--no-index", "--quiet", "infra/backend.hcl.example"],
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 1
