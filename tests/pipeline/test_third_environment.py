"""docs/runbook.md section 9, a third environment, done as it says: each command exists.

Its two files are tests/infra/fixtures (planned offline against the root's
validations in tests/infra/test_variable_validations.py); here the runbook's
text is held to them, its make targets to the Makefile, and its workflow change,
made on a copy of terraform.yml, to actionlint and to what `make doctor
FOR=deploy` then asks GitHub for.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from doctor import github_environments, workflows
from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "infra" / "fixtures"
RUNBOOK = REPO / "docs" / "runbook.md"


def section() -> str:
    text = RUNBOOK.read_text(encoding="utf-8")
    start = text.index("## 9. Add a third environment")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def code_blocks(kind: str) -> list[str]:
    """The fenced blocks of the section, their indentation (a list item's) removed."""
    found = []
    for match in re.finditer(rf"^( *)```{kind}\n(.*?)^\1```$", section(), re.M | re.S):
        indent = len(match[1])
        found.append("".join(line[indent:] + "\n" for line in match[2].splitlines()))
    return found


def test_the_runbooks_files_are_the_fixtures() -> None:
    tfvars, backend = code_blocks("hcl")
    assert tfvars == (FIXTURES / "preview.tfvars").read_text(encoding="utf-8")
    assert backend == (FIXTURES / "preview.backend.hcl").read_text(encoding="utf-8")


def test_every_make_target_of_the_section_exists() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", section()))
    assert named, "the section runs make targets"
    assert named <= targets, named - targets
    assert "tf-apply" in named


def with_preview(text: str) -> str:
    """terraform.yml with the staging jobs copied as the preview's (the section's step 5)."""
    data = yaml.safe_load(text)
    jobs = list(data["jobs"])
    start, end = jobs.index("plan-staging"), jobs.index("drift-staging")
    lines = text.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line == "  plan-staging:\n")
    after = next(i for i, line in enumerate(lines) if line == f"  {jobs[end + 1]}:\n")
    assert end - start == 2, "three staging jobs"
    copy = "".join(lines[first:after]).replace("staging", "preview")
    return "".join(lines[:after]) + copy + "".join(lines[after:])


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    source = REPO / ".github" / "workflows" / "terraform.yml"
    (folder / "terraform.yml").write_text(with_preview(source.read_text()), encoding="utf-8")
    deploy = REPO / ".github" / "workflows" / "deploy.yml"
    (folder / "deploy.yml").write_text(deploy.read_text(), encoding="utf-8")
    return tmp_path


def test_the_workflow_change_is_a_valid_workflow(checkout: Path) -> None:
    path = checkout / ".github" / "workflows" / "terraform.yml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    assert {"plan-preview", "apply-preview", "drift-preview"} <= set(data["jobs"])
    assert data["jobs"]["apply-preview"]["environment"] == "preview-infrastructure"
    assert "make tf-plan ENV=preview" in str(data["jobs"]["plan-preview"]["steps"])
    result = subprocess.run(
        [require_tool("actionlint"), "-no-color", "-shellcheck=", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_doctor_asks_for_the_section_s_environments_and_variables(checkout: Path) -> None:
    named = dict(github_environments.environment_jobs(checkout, {}))
    assert named["preview-infrastructure"] is True, "reviewers on the apply environment"
    assert "preview-plan" in github_environments.plan_environments(checkout, {})
    # Each `gh variable set NAME --env ENV` of the section: a job in ENV reads NAME.
    jobs = workflows.job_environments(checkout, "terraform.yml", {})
    reads = {
        (ref.name, env)
        for ref in workflows.references(checkout)
        if ref.job in jobs
        for env in jobs[ref.job]
    }
    settings = re.findall(r"gh variable set (\w+) --env ([\w-]+)", section())
    terraform = [(name, env) for name, env in settings if name.startswith("AWS_TERRAFORM")]
    assert terraform == [
        ("AWS_TERRAFORM_PLAN_ROLE_ARN", "preview-plan"),
        ("AWS_TERRAFORM_APPLY_ROLE_ARN", "preview-infrastructure"),
    ]
    assert set(terraform) <= reads
    deploy = yaml.safe_load((REPO / ".github" / "workflows" / "deploy.yml").read_text())
    promote = deploy["jobs"]["deploy"]  # the job the section copies for the preview
    text = yaml.safe_dump(promote)
    for name, env in settings:
        if env == "preview":
            assert f"vars.{name}" in text, f"deploy.yml's promotion reads no {name}"
