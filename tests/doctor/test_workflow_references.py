"""make doctor asks for the GitHub variables and secrets the workflows evaluate, no others.

The doctor reads the workflows with a line scanner (it runs before any venv); these
tests hold it to PyYAML's reading of the same files, the project's and made-up ones,
and check where GitHub looks for each name: the repository, or the environments of
the jobs that read it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import doctor
from doctor import expressions, github_environments, github_variables, workflows

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted(p.name for p in (REPO / ".github" / "workflows").glob("*.yml"))
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def yaml_references(path: Path) -> set[tuple[str, str, str | None]]:
    """(context, NAME, job) of each vars./secrets. reference GitHub would evaluate: in a
    `${{ }}` of any string, or an `if:` value, read by PyYAML (comments are gone)."""
    found: set[tuple[str, str, str | None]] = set()

    def walk(node: Any, job: str | None, key: Any = None) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, job, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, job, key)
        elif isinstance(node, str):
            expressions = EXPRESSION.findall(node) or ([node] if key == "if" else [])
            for expression in expressions:
                text = re.sub(r"'(?:[^']|'')*'", "''", expression)
                for match in re.finditer(r"\b(vars|secrets)\.(\w+)", text):
                    found.add((match[1], match[2].upper(), job))

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in document.items():
        if key == "jobs":
            for job, body in value.items():
                walk(body, job)
        else:
            walk(value, None, key)
    return {ref for ref in found if ref[:2] != ("secrets", "GITHUB_TOKEN")}


def yaml_environments(path: Path) -> dict[str, tuple[str, ...]]:
    """job -> the environments PyYAML reads: a name, or an expression's possible results."""
    found = {}
    for job, body in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].items():
        value = body.get("environment", "")
        value = value.get("name", "") if isinstance(value, dict) else value
        if "${{" in value:
            # The literals that are not compared: what `a == 'x' && 'b' || 'c'` may yield.
            kept = re.sub(r"(==|!=)\s*'[^']*'|'[^']*'\s*(==|!=)", "", value)
            found[job] = tuple(re.findall(r"'([^']+)'", kept))
        else:
            found[job] = (value,) if value else ()
    return found


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_the_references_are_those_pyyaml_reads(workflow: str) -> None:
    """Every job of the project's workflows, the ones being added included."""
    mine = {(r.context, r.name, r.job) for r in workflows.references(REPO, [workflow])}
    assert mine == yaml_references(REPO / ".github" / "workflows" / workflow)


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_the_job_environments_are_those_pyyaml_reads(workflow: str) -> None:
    path = REPO / ".github" / "workflows" / workflow
    assert workflows.job_environments(REPO, workflow) == yaml_environments(path)


MADE_UP = """\
name: made-up
# vars.IN_A_COMMENT and ${{ secrets.IN_A_COMMENT }}: YAML comments are not read
on: push
env:
  TOP: ${{ vars.WORKFLOW_LEVEL }} # ${{ vars.AFTER_A_VALUE }}
jobs:
  first:
    name: Uses vars.NOT_AN_EXPRESSION in its name only
    if: vars.SWITCH
    environment: ${{ vars.SKIP == 'true' && 'production' || 'staging' }}
    steps:
      - name: "step #1 ${{ vars.AFTER_A_HASH_IN_QUOTES }}"
        run: echo step #2 ${{ vars.AFTER_A_PLAIN_HASH }} is a YAML comment
      - run: |
          # GitHub fills in ${{ vars.IN_A_SHELL_COMMENT }} too: the script is text
          echo '${{ secrets.API_KEY }}' ${{ secrets.GITHUB_TOKEN }}
      - if: >-
          !vars.NEGATED
        run: echo ${{ format('vars.{0}', 'IN_A_LITERAL') }}
  second:
    environment:
      name: production
    env:
      SPREAD: ${{ vars.FIRST_LINE
        || vars.SECOND_LINE }}
      FALLBACK: ${{ vars.WITH_DEFAULT || 'x' }}
"""


@pytest.fixture
def made_up(tmp_path: Path) -> Path:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "made-up.yml").write_text(MADE_UP, encoding="utf-8")
    return tmp_path


def test_only_what_github_evaluates_is_a_reference(made_up: Path) -> None:
    """The old scanner took `vars.NOT_AN_EXPRESSION` from a job's name and missed the
    references after a `#` in quotes or in a script; GITHUB_TOKEN is GitHub's own."""
    path = made_up / ".github" / "workflows" / "made-up.yml"
    found = workflows.references(made_up)
    assert {(r.context, r.name, r.job) for r in found} == yaml_references(path)
    assert workflows.workflow_variables(made_up) == {
        "WORKFLOW_LEVEL": True,
        "SWITCH": False,  # a job's condition: a test
        "SKIP": False,
        "AFTER_A_HASH_IN_QUOTES": True,
        "IN_A_SHELL_COMMENT": True,
        "NEGATED": False,
        "FIRST_LINE": False,
        "SECOND_LINE": True,
        "WITH_DEFAULT": False,
    }
    assert workflows.workflow_secrets(made_up) == {"API_KEY": True}
    assert workflows.job_environments(made_up, "made-up.yml") == {
        "first": ("production", "staging"),
        "second": ("production",),
    }


def test_the_project_secrets_are_sonarqubes_and_optional() -> None:
    assert workflows.workflow_secrets(REPO) == {"SONAR_TOKEN": False, "SONAR_HOST_URL": False}


# --- set on GitHub: the repository, or the environments of the jobs that read it ----------

DEPLOY = """\
name: deploy
on: push
env:
  SHARED: ${{ vars.WORKFLOW_LEVEL }}
jobs:
  release:
    environment: ${{ vars.SKIP == 'true' && 'production' || 'staging' }}
    env:
      ROLE: ${{ vars.ROLE_ARN }}
      REGION: ${{ vars.REGION }}
    steps:
      - run: echo ${{ secrets.API_KEY }} ${{ secrets.GITHUB_TOKEN }}
  deploy:
    if: vars.SKIP != 'true'
    environment: production
    env:
      ROLE: ${{ vars.ROLE_ARN }}
"""


def gh(bin_dir: Path, listings: dict[tuple[str, str], list[str]]) -> None:
    """A gh that lists names: (variable|secret, environment or "") -> NAME or NAME=value;
    any other environment does not exist (gh exits 1, as on GitHub's 404)."""

    def items(names: list[str]) -> str:
        pairs = [[*n.split("=", 1), ""][:2] for n in names]
        return json.dumps([{"name": name, "value": value} for name, value in pairs])

    cases = "".join(
        f"  '{group}:{env}') echo '{items(names)}' ;;\n" for (group, env), names in listings.items()
    )
    path = bin_dir / "gh"
    path.write_text(
        '#!/bin/sh\nenv=""\n[ "$3" = "--env" ] && env="$4"\n'
        f'case "$1:$env" in\n{cases}'
        "  *) echo 'HTTP 404: Not Found' >&2; exit 1 ;;\nesac\n",
        encoding="utf-8",
    )
    path.chmod(0o755)


@pytest.fixture
def deploy_checkout(tmp_path: Path) -> Path:
    folder = tmp_path / "checkout" / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "deploy.yml").write_text(DEPLOY, encoding="utf-8")
    (tmp_path / "bin").mkdir()
    return tmp_path / "checkout"


def settings(checkout: Path, listings: dict[tuple[str, str], list[str]]) -> dict[str, Any]:
    bin_dir = checkout.parent / "bin"
    gh(bin_dir, listings)
    machine = doctor.Machine(env={"PATH": str(bin_dir)}, repo=checkout)
    results = github_variables.check_github_variables(machine)
    results += github_variables.check_github_secrets(machine)
    return {r.name: (r.ok, r.detail, r.fix) for r in results}


def test_a_variable_of_the_environment_is_set_for_its_jobs(deploy_checkout: Path) -> None:
    """GitHub gives a job its environment's variables: the old check, which listed the
    repository's alone, called ROLE_ARN and API_KEY not set."""
    found = settings(
        deploy_checkout,
        {
            ("variable", ""): ["WORKFLOW_LEVEL", "REGION", "SKIP=true"],
            ("variable", "production"): ["ROLE_ARN"],
            ("secret", ""): [],
            ("secret", "production"): ["API_KEY"],
        },
    )
    assert found == {
        "variable WORKFLOW_LEVEL": (True, "set", ""),
        "variable SKIP": (True, "set", ""),
        "variable ROLE_ARN": (True, "set in production", ""),
        "variable REGION": (True, "set", ""),
        "secret API_KEY": (True, "set in production", ""),
    }


def test_each_environment_that_exists_needs_it(deploy_checkout: Path) -> None:
    found = settings(
        deploy_checkout,
        {
            ("variable", ""): ["REGION"],
            ("variable", "production"): ["ROLE_ARN", "WORKFLOW_LEVEL"],
            ("variable", "staging"): [],
            ("secret", ""): [],
            ("secret", "production"): [],
            ("secret", "staging"): [],
        },
    )
    # Read outside any job: only the repository's value reaches it.
    assert found["variable WORKFLOW_LEVEL"] == (
        False,
        "not set",
        "gh variable set WORKFLOW_LEVEL --body VALUE (docs/runbook.md 1.6)",
    )
    assert found["variable ROLE_ARN"] == (
        False,
        "not set",
        "gh variable set ROLE_ARN --env staging --body VALUE (docs/runbook.md 1.6)",
    )
    # Read by release alone, which runs in staging (SKIP unset).
    assert found["secret API_KEY"] == (
        False,
        "not set",
        "gh secret set API_KEY --env staging (docs/runbook.md 1.6)",
    )


@pytest.mark.parametrize(
    ("skip", "staging", "expected"),
    [
        # release runs in production: a staging environment left from before needs nothing
        ("SKIP=true", [], (True, "set in production", "")),
        # release runs in staging, which GitHub would create empty: ROLE_ARN is missing
        # there (the check had called it set, from production alone)
        (
            "SKIP=false",
            None,
            (
                False,
                "not set",
                "gh variable set ROLE_ARN --env staging --body VALUE (docs/runbook.md 1.6)",
            ),
        ),
    ],
)
def test_a_job_needs_it_in_the_environment_it_will_run_in(
    deploy_checkout: Path, skip: str, staging: list[str] | None, expected: tuple[object, ...]
) -> None:
    listings = {
        ("variable", ""): ["REGION", "WORKFLOW_LEVEL", skip],
        ("variable", "production"): ["ROLE_ARN"],
        ("secret", ""): ["API_KEY"],
    }
    if staging is not None:
        listings[("variable", "staging")] = staging
    assert settings(deploy_checkout, listings)["variable ROLE_ARN"] == expected


def test_an_environment_it_cannot_tell_is_needed_only_where_it_exists(
    deploy_checkout: Path,
) -> None:
    """release's environment chosen by what the doctor cannot evaluate (github.ref): it
    may run in production or staging; only production exists."""
    path = deploy_checkout / ".github" / "workflows" / "deploy.yml"
    path.write_text(DEPLOY.replace("vars.SKIP ==", "github.ref =="), encoding="utf-8")
    listings = {
        ("variable", ""): ["REGION", "WORKFLOW_LEVEL"],
        ("variable", "production"): ["ROLE_ARN"],
        ("secret", ""): ["API_KEY"],
    }
    assert settings(deploy_checkout, listings)["variable ROLE_ARN"] == (
        True,
        "set in production",
        "",
    )


def test_without_gh_each_kind_is_one_not_checked_line(deploy_checkout: Path) -> None:
    """The doctor's rule: what this machine cannot check is a `?`, a failure only with
    --strict. The variables line was a cross saying "not checked" (exit 1 without gh)."""
    machine = doctor.Machine(
        env={"PATH": str(deploy_checkout.parent / "bin")}, repo=deploy_checkout
    )
    (variables,) = github_variables.check_github_variables(machine)
    (secrets,) = github_variables.check_github_secrets(machine)
    assert (variables.ok, variables.checked) == (True, False)
    assert variables.line().startswith("? GitHub variables: not checked: gh not on PATH; set ")
    assert "WORKFLOW_LEVEL, ROLE_ARN, REGION (optional: SKIP)" in variables.detail
    assert (secrets.ok, secrets.checked) == (True, False)
    assert "set API_KEY under Settings -> Secrets and variables -> Actions -> Secrets" in (
        secrets.detail
    )


def test_every_environment_a_job_may_run_in_is_checked(deploy_checkout: Path) -> None:
    """An environment chosen by an expression: the old check read one plain name per
    listed job, so it never checked staging, where the release job may run."""
    terraform = REPO / ".github" / "workflows" / "terraform.yml"
    (deploy_checkout / ".github" / "workflows" / "terraform.yml").write_text(
        terraform.read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert github_environments.environment_jobs(deploy_checkout) == [
        ("production", False),
        ("staging", False),
        ("infrastructure", True),
        ("staging-infrastructure", True),
    ]
    # The plan jobs' environments let every branch in: checked apart (plan_environments).
    assert github_environments.plan_environments(deploy_checkout) == [
        "staging-plan",
        "production-plan",
    ]


@pytest.mark.parametrize(
    ("variables", "environments", "plans"),
    [
        ({}, ["staging", "production", "staging-infrastructure", "infrastructure"], True),
        ({"FINLEX_SKIP_STAGING": "true"}, ["production", "infrastructure"], False),
    ],
    ids=["staging then production", "production alone"],
)
def test_the_jobs_the_variables_keep_from_running_name_no_environment(
    tmp_path: Path, variables: dict[str, str], environments: list[str], plans: bool
) -> None:
    """terraform.yml's jobs run by FINLEX_SKIP_STAGING: one set or the other, so the
    doctor asks only for the environments of the set that runs."""
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    for name in ("deploy.yml", "terraform.yml"):
        source = REPO / ".github" / "workflows" / name
        (folder / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    named = github_environments.environment_jobs(tmp_path, variables)
    assert [name for name, _ in named] == environments
    expected = ["staging-plan", "production-plan"] if plans else []
    assert github_environments.plan_environments(tmp_path, variables) == expected


@pytest.mark.parametrize(
    ("condition", "variables", "runs"),
    [
        ("vars.SKIP == 'true'", {}, False),
        ("vars.SKIP == 'true'", {"SKIP": "true"}, True),
        ("github.event_name != 'schedule' && vars.SKIP != 'true'", {"SKIP": "true"}, False),
        ("github.event_name != 'schedule' && vars.SKIP != 'true'", {}, True),
        ("${{ vars.SKIP != 'true' }}", {"SKIP": "true"}, False),
        # `||` at the top: no part alone decides; github.* cannot be read here.
        ("github.ref == 'x' || vars.SKIP == 'true'", {}, True),
        ("!cancelled() && (needs.a.result == 'success' || vars.X) && vars.SKIP", {}, False),
        ("", {}, True),
    ],
)
def test_a_job_runs_unless_the_variables_alone_make_its_condition_false(
    condition: str, variables: dict[str, str], runs: bool
) -> None:
    assert workflows.may_run(condition, variables) is runs


# --- which environment an expression chooses -------------------------------------------

CHOICE = "vars.FINLEX_SKIP_STAGING == 'true' && 'production' || 'staging'"


@pytest.mark.parametrize(
    ("expression", "variables", "value"),
    [
        (CHOICE, {}, "staging"),  # an unset variable is ''
        (CHOICE, {"FINLEX_SKIP_STAGING": "true"}, "production"),
        (CHOICE, {"FINLEX_SKIP_STAGING": "TRUE"}, "production"),  # strings ignore case
        (CHOICE, {"FINLEX_SKIP_STAGING": "false"}, "staging"),
        ("vars.A || 'fallback'", {"A": "set"}, "set"),
        ("vars.A || 'fallback'", {}, "fallback"),
        ("!(vars.A != 'x') && 'yes'", {"A": "x"}, "yes"),
        ("vars.a == 'x'", {"A": "x"}, True),  # names ignore case
        ("null || false || 0", {}, 0.0),
    ],
)
def test_an_expression_yields_what_github_would(
    expression: str, variables: dict[str, str], value: object
) -> None:
    assert expressions.evaluate(expression, variables) == value


@pytest.mark.parametrize(
    "expression", ["github.ref == 'x'", "format('{0}', vars.A)", "vars.A ==", "(vars.A", "'a' 'b'"]
)
def test_what_the_doctor_cannot_evaluate_is_a_value_error(expression: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        expressions.evaluate(expression, {})


def test_an_expression_it_cannot_evaluate_leaves_every_name(made_up: Path) -> None:
    path = made_up / ".github" / "workflows" / "made-up.yml"
    path.write_text(MADE_UP.replace("vars.SKIP ==", "github.ref =="), encoding="utf-8")
    switched = {"SWITCH": "on"}  # the job's `if: vars.SWITCH`: it runs
    assert workflows.job_environments(made_up, "made-up.yml", switched)["first"] == (
        "production",
        "staging",
    )
    path.write_text(MADE_UP, encoding="utf-8")
    assert workflows.job_environments(made_up, "made-up.yml", switched)["first"] == ("staging",)
    assert "first" not in workflows.job_environments(made_up, "made-up.yml", {}), "will not run"


def test_a_variable_only_jobs_that_will_not_run_read_is_not_asked_for(
    deploy_checkout: Path,
) -> None:
    """terraform.yml's two sets of jobs, in small: with SKIP=true the promotion job does
    not run, so its own variable is needed nowhere (the check had asked for it)."""
    path = deploy_checkout / ".github" / "workflows" / "deploy.yml"
    path.write_text(DEPLOY + "      ONLY_HERE: ${{ vars.PROMOTION_ONLY }}\n", encoding="utf-8")
    listings = {
        ("variable", ""): ["WORKFLOW_LEVEL", "REGION", "SKIP=true"],
        ("variable", "production"): ["ROLE_ARN"],
        ("secret", ""): [],
        ("secret", "production"): ["API_KEY"],
    }
    found = settings(deploy_checkout, listings)
    assert found["variable PROMOTION_ONLY"] == (True, "not needed: no job that reads it runs", "")
    listings[("variable", "")] = ["WORKFLOW_LEVEL", "REGION", "SKIP=false"]
    listings[("variable", "staging")] = ["ROLE_ARN"]
    found = settings(deploy_checkout, listings)
    assert found["variable PROMOTION_ONLY"][:2] == (False, "not set")
