"""terraform.yml applies the plan its reviewers read, and checks drift daily.

The workflow cannot run here; these tests hold its structure to what
docs/runbook.md promises: the apply job takes the plan job's file from the
same run, checks its SHA-256 before any credential or apply, and applies that
file; the drift job runs on a schedule under the read-only plan role.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from support.makedb import database

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "terraform.yml"
PLAN_ROLE = "${{ vars.AWS_TERRAFORM_PLAN_ROLE_ARN }}"
APPLY_ROLE = "${{ vars.AWS_TERRAFORM_APPLY_ROLE_ARN }}"
MAKE_TARGET = re.compile(r"\bmake\s+(?:--?[\w-]+\s+)*([a-z][\w.-]*)")


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True)  # YAML 1.1 reads the bare key `on` as True
    return data


def job(name: str) -> dict[str, Any]:
    found: dict[str, Any] = workflow()["jobs"][name]
    return found


def index(steps: list[dict[str, Any]], needle: str) -> int:
    """The first step whose `uses` or `run` contains `needle`."""
    for number, step in enumerate(steps):
        if needle in str(step.get("uses", "")) + str(step.get("run", "")):
            return number
    raise AssertionError(f"no step contains {needle!r}")


def role(steps: list[dict[str, Any]]) -> str:
    credentials = steps[index(steps, "aws-actions/configure-aws-credentials")]
    assumed: str = credentials["with"]["role-to-assume"]
    return assumed


def targets(steps: list[dict[str, Any]]) -> list[str]:
    return [m[1] for step in steps for m in MAKE_TARGET.finditer(str(step.get("run", "")))]


def plan_file() -> str:
    return "infra/" + database().variables["TF_PLAN"][1]


def test_plan_job_saves_the_plan_its_hash_and_summary_as_an_artifact() -> None:
    plan = job("plan")
    steps = plan["steps"]
    assert role(steps) == PLAN_ROLE
    made = index(steps, "make tf-plan")
    summary = steps[index(steps, "make --silent tf-plan-summary")]
    assert summary["if"] == "always()"
    assert summary["run"].endswith('>> "$GITHUB_STEP_SUMMARY"')
    recorded = steps[index(steps, "make --silent tf-plan-outputs")]
    assert recorded["run"].endswith('>> "$GITHUB_OUTPUT"')
    assert plan["outputs"] == {
        "sha256": f"${{{{ steps.{recorded['id']}.outputs.sha256 }}}}",
        "changes": f"${{{{ steps.{recorded['id']}.outputs.changes }}}}",
    }
    upload_at = index(steps, "actions/upload-artifact")
    assert made < upload_at
    upload = steps[upload_at]["with"]
    assert upload["path"].split() == [plan_file(), f"{plan_file()}.sha256", f"{plan_file()}.md"]
    assert upload["if-no-files-found"] == "error"


def test_plan_job_runs_on_pull_requests_and_on_main() -> None:
    on = workflow()["on"]
    assert on["push"]["branches"] == ["main"]
    assert "pull_request" in on
    assert job("plan")["if"] == "github.event_name != 'schedule'"


def test_apply_job_applies_the_plan_jobs_file_after_checking_its_hash() -> None:
    plan, apply = job("plan"), job("apply")
    assert apply["needs"] == "plan"
    assert apply["environment"] == "infrastructure", "required reviewers gate every apply"
    assert "refs/heads/main" in apply["if"]
    assert "needs.plan.outputs.changes == 'true'" in apply["if"]
    steps = apply["steps"]
    download_at = index(steps, "actions/download-artifact")
    download = steps[download_at]["with"]
    upload = plan["steps"][index(plan["steps"], "actions/upload-artifact")]["with"]
    assert download["name"] == upload["name"]
    assert download["path"] == "infra"
    # No run-id: the artifact of this very run, whose plan the reviewers read.
    assert not {"run-id", "github-token", "repository"} & set(download)
    check_at = index(steps, "make tf-plan-check")
    credentials_at = index(steps, "aws-actions/configure-aws-credentials")
    apply_at = index(steps, "make tf-apply")
    assert download_at < check_at < credentials_at < apply_at
    assert apply["env"]["TF_PLAN_SHA256"] == "${{ needs.plan.outputs.sha256 }}"
    assert role(steps) == APPLY_ROLE
    assert "tf-plan" not in targets(steps), "the apply job makes no plan of its own"


def test_drift_job_is_scheduled_daily_under_the_plan_role() -> None:
    (schedule,) = workflow()["on"]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month, weekday) == ("*", "*", "*")
    assert minute.isdigit(), "once a day, at a fixed minute"
    assert hour.isdigit(), "once a day, at a fixed hour"
    drift = job("drift")
    assert drift["if"] == "github.event_name == 'schedule'"
    assert role(drift["steps"]) == PLAN_ROLE
    assert "environment" not in drift, "a read-only plan needs no approval"
    assert targets(drift["steps"]) == ["tf-drift", "tf-drift-summary"]
    summary = drift["steps"][index(drift["steps"], "make --silent tf-drift-summary")]
    assert summary["if"] == "always()"


def test_the_schedule_never_shares_the_apply_queue() -> None:
    # One pending run per concurrency group: a drift run in the apply group
    # would cancel an apply run waiting behind another.
    group = " ".join(workflow()["concurrency"]["group"].split())
    assert "github.event_name == 'schedule' && 'drift'" in group
    assert "'apply-production'" in group
