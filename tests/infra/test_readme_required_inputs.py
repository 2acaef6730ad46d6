"""The first-apply instructions name every root input that has no default."""

from __future__ import annotations

from pathlib import Path

from support.terraform.hcl import labelled

REPO = Path(__file__).resolve().parents[2]


def required_inputs() -> list[str]:
    variables = labelled(REPO / "infra", "variable")
    return sorted(name for name, body in variables.items() if "default" not in body)


def test_there_are_required_inputs() -> None:
    assert {"github_repository", "state_bucket_name"} <= set(required_inputs())


def test_infra_readme_step_2_names_every_required_input() -> None:
    text = (REPO / "infra" / "README.md").read_text(encoding="utf-8")
    step2 = text.split("### 2. Init and first apply", 1)[1].split("### 3.", 1)[0]
    missing = [name for name in required_inputs() if name not in step2]
    assert not missing, f"infra/README.md step 2 does not name {missing}"


def test_runbook_quick_start_names_every_required_input() -> None:
    text = (REPO / "docs" / "runbook.md").read_text(encoding="utf-8")
    quick = text.split("## Deploy to your AWS account", 1)[1].split("## Prerequisites", 1)[0]
    missing = [name for name in required_inputs() if name not in quick]
    assert not missing, f"the runbook's quick start does not name {missing}"
