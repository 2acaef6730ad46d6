"""Every `make` target a workflow step runs gets the environment its recipe reads.

GitHub exposes repository variables only through `${{ vars.X }}`: a variable
the Makefile reads from the environment exists in a job only if the step, the
job or the workflow sets it in `env:` (or the step passes it on make's command
line). This test asks make itself what each target reads (tests/makedb.py).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from makedb import database, expanded_recipes, make_reads, shell_reads

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"

# What a GitHub-hosted runner sets in every step's environment.
RUNNER_ENV_PREFIXES = ("GITHUB_", "RUNNER_", "ACTIONS_")
RUNNER_ENV = {"CI", "HOME", "PATH", "PWD", "SHELL", "USER", "TMPDIR", "LANG"}


# --- the workflows ---------------------------------------------------------------------------


def make_invocations(run: str) -> list[tuple[list[str], list[str], list[str]]]:
    """(targets, VAR=value assignments, options) of each `make` command in a run: script."""
    script = run.replace("\\\n", " ")
    invocations = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        tokens = list(lexer)
        for start, word in enumerate(tokens):
            if word != "make" or (start and tokens[start - 1] not in {";", "&&", "||", "|"}):
                continue
            targets, assignments, options = [], [], []
            for word in tokens[start + 1 :]:
                if word in {";", "&&", "||", "|", ">", ">>", "<", "(", ")"}:
                    break
                if word.startswith("-"):
                    options.append(word)
                elif re.match(r"^[A-Za-z_]\w*=", word):
                    assignments.append(word)
                else:
                    targets.append(word)
            invocations.append((targets, assignments, options))
    return invocations


def runner_provides(name: str) -> bool:
    return name in RUNNER_ENV or name.startswith(RUNNER_ENV_PREFIXES)


def missing_variables(workflow: dict[str, Any]) -> list[str]:
    """One line per make invocation whose target reads a variable nobody sets."""
    db = database()
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        for number, step in enumerate(job.get("steps") or []):
            if "run" not in step:
                continue
            env = {
                **(workflow.get("env") or {}),
                **(job.get("env") or {}),
                **(step.get("env") or {}),
            }
            for targets, assignments, _options in make_invocations(step["run"]):
                goals = targets or [db.variables.get(".DEFAULT_GOAL", ("", "help"))[1]]
                given = {a.split("=", 1)[0] for a in assignments}
                reads = make_reads(db, goals) | shell_reads(expanded_recipes(goals, assignments))
                unset = {
                    name
                    for name in reads - given
                    if name not in env and not db.defined(name) and not runner_provides(name)
                }
                # A command-line value read from the shell (TAG="$TAG") must itself be set;
                # the Makefile's default does not apply to it.
                for assignment in assignments:
                    value_reads = shell_reads(f'"{assignment.split("=", 1)[1]}"')
                    unset |= {n for n in value_reads if n not in env and not runner_provides(n)}
                if unset:
                    label = step.get("name") or step["run"].strip().splitlines()[0]
                    problems.append(
                        f"{job_id} step {number} ({label}): make {' '.join(goals)}"
                        f" reads {', '.join(sorted(unset))}, which nothing sets"
                    )
    return problems


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


WORKFLOW_FILES = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_the_three_workflows_are_checked() -> None:
    assert {"ci.yml", "deploy.yml", "terraform.yml"} <= set(WORKFLOW_FILES)


@pytest.mark.parametrize("name", WORKFLOW_FILES)
def test_every_make_target_gets_the_variables_it_reads(name: str) -> None:
    workflow = load(WORKFLOWS / name)
    runs = [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job.get("steps") or []
        if "run" in step
    ]
    if name in {"ci.yml", "deploy.yml", "terraform.yml"}:
        assert any(make_invocations(run) for run in runs), f"{name} runs no make target"
    assert missing_variables(workflow) == []


# --- the checker itself --------------------------------------------------------------------


def test_database_knows_the_terraform_recipes() -> None:
    db = database()
    prerequisites, _ = db.rules["tf-plan"]
    assert prerequisites == ["tf-env-check", "infra/backend.hcl", "infra/terraform.tfvars"]
    assert db.defined("TF")
    assert db.variables["TF"][1] == "terraform"


def test_make_level_reads_follow_variables_into_functions() -> None:
    # REGION_ARG = $(if $(AWS_REGION),--region $(AWS_REGION)): AWS_REGION is read.
    assert "AWS_REGION" in make_reads(database(), ["deploy"])
    assert "AWS_REGION" not in make_reads(database(), ["tf-validate"])


def test_shell_reads_resolve_indirect_expansion() -> None:
    reads = shell_reads(expanded_recipes(["tf-plan"], []))
    assert {"TF_BACKEND_HCL", "TF_TFVARS"} <= reads
    assert "var" not in reads


def test_a_workflow_without_the_backend_variables_is_caught() -> None:
    # What terraform.yml looked like before: TF_STATE_BUCKET set, the two read variables not.
    workflow = {
        "env": {"TF_STATE_BUCKET": "${{ vars.TF_STATE_BUCKET }}"},
        "jobs": {"plan": {"steps": [{"name": "plan", "run": "make tf-plan"}]}},
    }
    (problem,) = missing_variables(workflow)
    assert "reads TF_BACKEND_HCL, TF_TFVARS" in problem
    workflow["jobs"]["plan"]["steps"][0]["env"] = {
        "TF_BACKEND_HCL": "${{ vars.TF_BACKEND_HCL }}",
        "TF_TFVARS": "${{ vars.TF_TFVARS }}",
    }
    assert missing_variables(workflow) == []


def test_command_line_values_count_and_their_shell_variables_are_checked() -> None:
    step = {"run": 'make deploy TAG="$TAG"', "env": {"AWS_REGION": "x"}}
    workflow = {"jobs": {"deploy": {"steps": [step]}}}
    (problem,) = missing_variables(workflow)
    assert "reads TAG" in problem
    step["env"]["TAG"] = "${{ github.sha }}"
    assert missing_variables(workflow) == []


def test_make_invocations_parse_options_assignments_and_redirections() -> None:
    run = 'make --silent tf-plan-summary >> "$GITHUB_STEP_SUMMARY"\necho make x\nmake a b V=1'
    assert make_invocations(run) == [
        (["tf-plan-summary"], [], ["--silent"]),
        (["a", "b"], ["V=1"], []),
    ]
