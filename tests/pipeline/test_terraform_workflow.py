"""terraform.yml applies the plan its reviewers read, and checks drift daily.

The workflow cannot run here; these tests hold its structure to what
docs/runbook.md promises: the apply job takes the plan job's file from the
same run, checks its SHA-256 before any credential or apply, and applies that
file; the drift job runs on a schedule under the read-only plan role. It does
so for one environment alone (FINLEX_SKIP_STAGING: jobs plan, apply, drift,
no ENV) and for staging then production (jobs <kind>-<env>, ENV=<env>), each
in the GitHub environments its own roles trust.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.prerequisites import require_tool
from support.terraform.hcl import INFRA, parse

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


SKIP = "vars.FINLEX_SKIP_STAGING"
# (plan, apply, drift jobs, ENV): one environment alone, then staging and production.
SETS = (
    ("plan", "apply", "drift", ""),
    ("plan-staging", "apply-staging", "drift-staging", "staging"),
    ("plan-production", "apply-production", "drift-production", "production"),
)
PLANS = [(plan, env) for plan, _, _, env in SETS]
PAIRS = [(plan, apply, env) for plan, apply, _, env in SETS]
DRIFTS = [(drift, env) for _, _, drift, env in SETS]


def plan_file(env: str) -> str:
    """The plan file make tf-plan-summary reads for ENV, as make itself says."""
    recipe = subprocess.run(
        [require_tool("make"), "--no-print-directory", "-n", "tf-plan-summary", f"ENV={env}"],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return "infra/" + recipe.stdout.split()[-1]


def env_args(steps: list[dict[str, Any]]) -> set[str]:
    """The ENV=... of every make command of the job ("" for none)."""
    found = set()
    for step in steps:
        for line in str(step.get("run", "")).splitlines():
            if MAKE_TARGET.search(line):
                match = re.search(r"\bENV=(\S+)", line)
                found.add(match[1] if match else "")
    return found


def test_plan_files_are_per_environment() -> None:
    files = {env: plan_file(env) for _, env in PLANS}
    assert files[""] == "infra/finlex.tfplan", "the day-one name, as the docs say"
    assert len(set(files.values())) == len(files), files


@pytest.mark.parametrize(("name", "env"), PLANS)
def test_plan_job_saves_the_plan_its_hash_and_summary_as_an_artifact(name: str, env: str) -> None:
    plan = job(name)
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
    saved = plan_file(env)
    assert upload["path"].split() == [saved, f"{saved}.sha256", f"{saved}.md"]
    assert upload["if-no-files-found"] == "error"
    assert env_args(steps) == {env}


def test_plan_job_runs_on_pull_requests_and_on_main() -> None:
    on = workflow()["on"]
    assert on["push"]["branches"] == ["main"]
    assert "pull_request" in on
    assert job("plan")["if"] == f"github.event_name != 'schedule' && {SKIP} == 'true'"
    for name in ("plan-staging", "plan-production"):
        assert job(name)["if"] == f"github.event_name != 'schedule' && {SKIP} != 'true'"


@pytest.mark.parametrize(("plan_name", "apply_name", "env"), PAIRS)
def test_apply_job_applies_the_plan_jobs_file_after_checking_its_hash(
    plan_name: str, apply_name: str, env: str
) -> None:
    plan, apply = job(plan_name), job(apply_name)
    needs = apply["needs"] if isinstance(apply["needs"], list) else [apply["needs"]]
    assert plan_name in needs
    assert "refs/heads/main" in apply["if"]
    assert f"needs.{plan_name}.outputs.changes == 'true'" in apply["if"]
    assert f"{SKIP} {'!=' if env else '=='} 'true'" in apply["if"]
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
    assert apply["env"]["TF_PLAN_SHA256"] == f"${{{{ needs.{plan_name}.outputs.sha256 }}}}"
    assert role(steps) == APPLY_ROLE
    assert "tf-plan" not in targets(steps), "the apply job makes no plan of its own"
    assert env_args(steps) == {env}


@pytest.mark.parametrize(("name", "env"), DRIFTS)
def test_drift_job_is_scheduled_daily_under_the_plan_role(name: str, env: str) -> None:
    (schedule,) = workflow()["on"]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month, weekday) == ("*", "*", "*")
    assert minute.isdigit(), "once a day, at a fixed minute"
    assert hour.isdigit(), "once a day, at a fixed hour"
    drift = job(name)
    assert (
        drift["if"] == f"github.event_name == 'schedule' && {SKIP} {'!=' if env else '=='} 'true'"
    )
    assert role(drift["steps"]) == PLAN_ROLE
    assert targets(drift["steps"]) == ["tf-drift", "tf-drift-summary"]
    assert env_args(drift["steps"]) == {env}
    summary = drift["steps"][index(drift["steps"], "make --silent tf-drift-summary")]
    assert summary["if"] == "always()"


# --- each environment under its own roles, staging before production -----------------


def tfvars(env: str) -> dict[str, Any]:
    return parse(INFRA / "environments" / f"{env}.tfvars")


@pytest.mark.parametrize("env", ["staging", "production"])
def test_each_environments_jobs_run_in_the_github_environments_its_roles_trust(env: str) -> None:
    """The role ARN is read in the job's GitHub environment (vars.X there is that
    environment's value), and that environment is the one the role's trust names."""
    values = tfvars(env)
    for name, trusted in (
        (f"plan-{env}", values["plan_environment"]),
        (f"drift-{env}", values["plan_environment"]),
        (f"apply-{env}", values["apply_environment"]),
    ):
        assert job(name)["environment"] == trusted, name
    environments = {job(f"{kind}-{env}")["environment"] for kind in ("plan", "apply")}
    other = "production" if env == "staging" else "staging"
    others = {job(f"{kind}-{other}")["environment"] for kind in ("plan", "apply")}
    assert not environments & others, "no GitHub environment (and so no role) is shared"


@pytest.mark.parametrize("env", ["staging", "production"])
def test_each_environments_make_commands_name_its_state_key(env: str) -> None:
    """ENV=<env> in every make command: its backend file, so its state object."""
    backend = parse(INFRA / "environments" / f"{env}.backend.hcl")
    assert backend["key"] == tfvars(env)["state_key"]
    for kind in ("plan", "apply", "drift"):
        assert env_args(job(f"{kind}-{env}")["steps"]) == {env}, f"{kind}-{env}"


def test_one_environment_jobs_run_outside_the_plan_environments() -> None:
    """FINLEX_SKIP_STAGING: the day-one plan role (plan_environment null) trusts pull
    requests and the default branch, so plan and drift run without an environment."""
    assert "environment" not in job("plan")
    assert "environment" not in job("drift")
    assert job("apply")["environment"] == "infrastructure"


def test_production_applies_only_after_staging() -> None:
    apply = job("apply-production")
    assert set(apply["needs"]) == {"plan-production", "plan-staging", "apply-staging"}
    condition = " ".join(apply["if"].split())
    assert condition.startswith("!cancelled() && "), "runs when staging's apply was skipped"
    assert "needs.plan-staging.result == 'success'" in condition
    assert (
        "(needs.apply-staging.result == 'success' || needs.apply-staging.result == 'skipped')"
        in condition
    ), "a failed or rejected staging apply stops production's"
    assert "apply-staging" not in job("plan-production").get("needs", []), "plans run at once"


def test_the_schedule_never_shares_the_apply_queue() -> None:
    # One pending run per concurrency group: a drift run in the apply group
    # would cancel an apply run waiting behind another.
    group = " ".join(workflow()["concurrency"]["group"].split())
    assert "github.event_name == 'schedule' && 'drift'" in group
    assert "'apply-production'" in group


def _check_names(path: Path) -> set[str]:
    """What GitHub names each job's status check: its `name:`, else its id."""
    jobs: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"]
    return {str(body.get("name", job_id)) for job_id, body in jobs.items()}


def test_runbook_requires_status_checks_that_the_workflows_report() -> None:
    """Branch protection names checks; one that no job reports would block every merge."""
    runbook = (REPO / "docs" / "runbook.md").read_text(encoding="utf-8")
    item = runbook.split("**Branches → protection for `main`**", 1)[1]
    checks = item.split(". Together", 1)[0]  # the rest is about the apply environment
    named = set(re.findall(r"`([^`]+)`", checks)) - {"main", "true", "FINLEX_SKIP_STAGING"}
    reported = _check_names(WORKFLOW) | _check_names(WORKFLOW.with_name("ci.yml"))
    assert named, "the runbook's branch-protection item names no status check"
    assert named <= reported, f"checks no job reports: {sorted(named - reported)}"
    plans = {name for name in reported if name.startswith("plan")}
    assert plans <= named, f"plan jobs the runbook does not require: {sorted(plans - named)}"
