"""GitHub environments: only the default branch may deploy; the apply one has reviewers."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path

from .github_api import (
    GITHUB_API,
    REPOSITORY,
    GitHubApi,
    GitHubError,
    GitHubUnreachableError,
    github_repository,
    github_token,
)
from .machine import Machine
from .result import Result
from .workflows import environment_values, job_conditions, job_environments, workflow_paths

# The deploy and apply roles trust `repo:OWNER/NAME:environment:NAME` alone. GitHub
# issues that `sub` only to a job it has started in the environment, and it starts
# none for a branch that the environment's deployment-branch policy does not allow:
# that policy is what keeps other branches away from both roles. It lives in the
# repository's settings, out of Terraform's view, so this check reads it.

# The root's default_branch (infra/variables.tf): the branch the plan role trusts.
TERRAFORM_DEFAULT_BRANCH = "main"
# The jobs that must name an environment (their role trusts it alone): (workflow, job,
# whether its environment must have required reviewers). Every other job that names
# one has its environments checked too.
ENVIRONMENT_JOBS = (
    ("deploy.yml", "release", False),
    ("deploy.yml", "deploy", False),
    ("terraform.yml", "apply", True),
    ("terraform.yml", "apply-staging", True),
    ("terraform.yml", "apply-production", True),
)
# terraform.yml's plan and drift jobs of one environment of two: their plan role trusts
# their environment (`<env>-plan`, plan_environment) and only reads, and pull requests
# of every branch plan, so that environment must let every branch in, without reviewers.
READ_ONLY_WORKFLOW = "terraform.yml"
READ_ONLY_JOB = re.compile(r"^(?:plan|drift)(?:-[A-Za-z0-9_.-]+)?$")
# Its apply jobs, of any environment (a third one's too): required reviewers.
APPLY_JOB = re.compile(r"^apply(?:-[A-Za-z0-9_.-]+)?$")
VARIABLE = re.compile(r"\bvars\.([A-Za-z_][A-Za-z0-9_]*)")
TFVARS_BRANCH = re.compile(r'^\s*default_branch\s*=\s*"([^"]*)"', re.MULTILINE)


def terraform_default_branch(m: Machine) -> tuple[str, str]:
    """The default_branch the plan role trusts, and where that value comes from.

    infra/terraform.tfvars first: the Makefile writes it from TF_TFVARS only when missing.
    """
    tfvars = m.repo / "infra" / "terraform.tfvars"
    try:
        text, where = tfvars.read_text(encoding="utf-8"), "infra/terraform.tfvars"
    except OSError:
        text, where = m.env.get("TF_TFVARS", ""), "TF_TFVARS"
    match = TFVARS_BRANCH.search(text)
    if match:
        return match.group(1), where
    return TERRAFORM_DEFAULT_BRANCH, "the default of infra/variables.tf"


def branch_policy_problem(api: GitHubApi, where: str, default: str) -> str | None:
    """What lets another branch than `default` deploy to the environment, or None."""
    env = api.object(where)
    policy = env.get("deployment_branch_policy")
    if not isinstance(policy, dict):
        return "any branch may deploy to it (no deployment branch policy)"
    if policy.get("protected_branches"):
        return f"'Protected branches only': every protected branch may deploy, not {default} alone"
    if not policy.get("custom_branch_policies"):
        return f"deployment branch policy {json.dumps(policy)} is neither form GitHub offers"
    listing = api.object(f"{where}/deployment-branch-policies?per_page=100")
    rules = listing.get("branch_policies")
    found = [
        (str(rule.get("type", "branch")), str(rule.get("name")))
        for rule in (rules if isinstance(rules, list) else [])
        if isinstance(rule, dict)
    ]
    if found == [("branch", default)]:
        return None
    if not found:
        return f"no branch may deploy to it (no rule), not even {default}"
    shown = ", ".join(name if kind == "branch" else f"{name} ({kind})" for kind, name in found)
    return f"the rules {shown} let other refs deploy: it must be {default} alone"


def reviewers(env: dict[str, object]) -> list[str]:
    """Logins and team names of the environment's required reviewers."""
    names = []
    rules = env.get("protection_rules")
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict) or rule.get("type") != "required_reviewers":
            continue
        entries = rule.get("reviewers")
        for entry in entries if isinstance(entries, list) else []:
            who = entry.get("reviewer") if isinstance(entry, dict) else None
            if isinstance(who, dict):
                names.append(str(who.get("login") or who.get("slug") or who.get("name")))
    return names


def environment_results(
    api: GitHubApi, repository: str, name: str, default: str, reviewed: bool
) -> list[Result]:
    goals = ("deploy",)
    where = f"/repos/{repository}/environments/{urllib.parse.quote(name, safe='')}"
    settings = f"Settings -> Environments -> {name}"
    branch_fix = (
        f"{settings} -> Deployment branches and tags: Selected branches and tags, "
        f"with the one branch rule {default} (docs/runbook.md 1.6)"
    )
    try:
        problem = branch_policy_problem(api, where, default)
    except GitHubError as error:
        if error.status != 404:
            raise
        return [
            Result(
                f"environment {name}",
                goals,
                False,
                "does not exist (a workflow job that names it creates it without any rule)",
                f"Settings -> Environments -> New environment {name}; then {branch_fix}",
            )
        ]
    results = [
        Result(f"environment {name}", goals, False, problem, branch_fix)
        if problem
        else Result(f"environment {name}", goals, True, f"only {default} may deploy")
    ]
    if reviewed:
        people = reviewers(api.object(where))
        results.append(
            Result(f"environment {name} reviewers", goals, True, ", ".join(people))
            if people
            else Result(
                f"environment {name} reviewers",
                goals,
                False,
                "no required reviewers: every apply would run without approval",
                f"{settings} -> Required reviewers: add the people or teams who approve applies",
            )
        )
    return results


def plan_environment_results(api: GitHubApi, repository: str, name: str) -> Result:
    """A plan environment lets every branch in (pull requests plan) and asks nobody."""
    where = f"/repos/{repository}/environments/{urllib.parse.quote(name, safe='')}"
    settings = f"Settings -> Environments -> {name}"
    check = f"environment {name}"
    try:
        env = api.object(where)
    except GitHubError as error:
        if error.status != 404:
            raise
        return Result(
            check,
            ("deploy",),
            False,
            "does not exist (the plan jobs' role ARN is its variable)",
            f"{settings}: New environment {name}, no branch restriction, no reviewers; then "
            "set its AWS_TERRAFORM_PLAN_ROLE_ARN (docs/runbook.md 1.6)",
        )
    if env.get("deployment_branch_policy") is not None:
        return Result(
            check,
            ("deploy",),
            False,
            "only some branches may use it: pull requests' plans would not start",
            f"{settings} -> Deployment branches and tags: No restriction (the plan role "
            "only reads; docs/runbook.md 1.6)",
        )
    if reviewers(env):
        return Result(
            check,
            ("deploy",),
            False,
            "required reviewers: every plan would wait for an approval",
            f"{settings} -> Required reviewers: remove them (reviewers approve the apply)",
        )
    return Result(check, ("deploy",), True, "every branch may plan (the plan role only reads)")


def environment_jobs(
    repo: Path, variables: Mapping[str, str] | None = None
) -> list[tuple[str, bool]]:
    """(environment, needs reviewers) of every environment a workflow job may run in (with
    the repository's variables: will run in), in the workflows' order, but the plan jobs'
    (plan_environments); ValueError if a job of ENVIRONMENT_JOBS names none."""
    named: dict[str, bool] = {}
    by_job = {path.name: job_environments(repo, path.name) for path in workflow_paths(repo)}
    for workflow, job, _ in ENVIRONMENT_JOBS:
        if not by_job.get(workflow, {}).get(job):
            raise ValueError(f"{workflow} job {job} names no environment")
    if variables is not None:
        by_job = {
            path.name: job_environments(repo, path.name, variables) for path in workflow_paths(repo)
        }
    reviewed_jobs = {(workflow, job) for workflow, job, reviewed in ENVIRONMENT_JOBS if reviewed}
    for workflow, jobs in by_job.items():
        for job, environments in jobs.items():
            if read_only(workflow, job):
                continue
            for environment in environments:
                reviewed = (workflow, job) in reviewed_jobs or (
                    workflow == READ_ONLY_WORKFLOW and bool(APPLY_JOB.match(job))
                )
                named[environment] = named.get(environment, False) or reviewed
    return list(named.items())


def read_only(workflow: str, job: str) -> bool:
    """A plan or drift job of terraform.yml: its role only reads."""
    return workflow == READ_ONLY_WORKFLOW and bool(READ_ONLY_JOB.match(job))


def plan_environments(repo: Path, variables: Mapping[str, str] | None = None) -> list[str]:
    """The environments terraform.yml's plan and drift jobs run in (with the repository's
    variables: will run in), in order."""
    jobs = (
        job_environments(repo, READ_ONLY_WORKFLOW, variables)
        if workflow_paths(repo, [READ_ONLY_WORKFLOW])[0].is_file()
        else {}
    )
    names = [
        env for job, envs in jobs.items() if read_only(READ_ONLY_WORKFLOW, job) for env in envs
    ]
    return list(dict.fromkeys(names))


def environment_variables(repo: Path) -> list[str]:
    """The repository variables that decide a job's environment, or whether it runs
    (deploy.yml's release job and terraform.yml's jobs: FINLEX_SKIP_STAGING)."""
    names = [
        name.upper()
        for path in workflow_paths(repo)
        for values in (environment_values(repo, path.name), job_conditions(repo, path.name))
        for value in values.values()
        for name in VARIABLE.findall(value)
    ]
    return list(dict.fromkeys(names))


def repository_variables(
    api: GitHubApi, repository: str, names: Sequence[str]
) -> dict[str, str] | None:
    """Those variables' values (an unset one is '', as in a workflow); None if the token
    may not read them."""
    values = {}
    for name in names:
        try:
            answer = api.object(f"/repos/{repository}/actions/variables/{name}")
        except GitHubError as error:
            if error.status != 404:
                return None
            answer = {}
        values[name] = str(answer.get("value", ""))
    return values


def by_hand(jobs: Sequence[tuple[str, bool]], plans: Sequence[str] = ()) -> str:
    every = " and ".join(name for name, _ in jobs)
    reviewed = " and ".join(name for name, needed in jobs if needed)
    verb = "have" if " and " in reviewed else "has"
    planned = (
        f"; {' and '.join(plans)} let every branch in, without reviewers (plans)" if plans else ""
    )
    return (
        f"check by hand in Settings -> Environments: {every} each allow the default branch "
        f"alone (Selected branches), {reviewed} {verb} required reviewers{planned} "
        "(docs/runbook.md 1.6)"
    )


def check_github_environments(m: Machine) -> list[Result]:
    """Each environment lets only the default branch deploy; the apply one has reviewers.

    Without a token or an answer from the API: one `not checked` line saying how to
    check by hand (a failure only with --strict).
    """
    name, goals = "GitHub environments", ("deploy",)
    api_url = m.env.get("GITHUB_API_URL") or GITHUB_API
    repository = github_repository(m)
    try:
        jobs = environment_jobs(m.repo)
    except ValueError as error:
        fix = "give the job `environment: NAME`: the role it assumes trusts that environment only"
        return [Result(name, goals, False, str(error), fix)]
    if not api_url.startswith(("https://", "http://")):
        fix = f"unset it, or set GitHub's API (github.com: {GITHUB_API})"
        return [Result(name, goals, False, f"GITHUB_API_URL={api_url} is not an http(s) URL", fix)]
    if repository is not None and not REPOSITORY.match(repository):
        fix = "export GITHUB_REPOSITORY=OWNER/NAME (the repository on GitHub)"
        return [Result(name, goals, False, f"repository {repository!r} is not OWNER/NAME", fix)]
    token = github_token(m)
    if token is None or repository is None:
        why = (
            "no GitHub token (GITHUB_TOKEN, GH_TOKEN or gh auth login)"
            if token is None
            else "which repository? (export GITHUB_REPOSITORY=OWNER/NAME)"
        )
        detail = f"not checked: {why}; {by_hand(jobs, plan_environments(m.repo))}"
        return [Result(name, goals, True, detail, "", False)]
    api = GitHubApi(api_url, token, m.env)
    try:
        default = str(api.object(f"/repos/{repository}").get("default_branch", ""))
        results = [repository_result(m, repository, default)]
        names = environment_variables(m.repo)
        variables = repository_variables(api, repository, names) if names else None
        if variables is not None:
            jobs = environment_jobs(m.repo, variables)
        for environment, reviewed in jobs:
            results += environment_results(api, repository, environment, default, reviewed)
        for environment in plan_environments(m.repo, variables):
            results.append(plan_environment_results(api, repository, environment))
    except GitHubUnreachableError as error:
        how = by_hand(jobs, plan_environments(m.repo))
        detail = f"not checked: {api_url} did not answer ({error}); {how}"
        return [Result(name, goals, True, detail, "", False)]
    except GitHubError as error:
        return [github_refused(repository, error)]
    return results


def repository_result(m: Machine, repository: str, default: str) -> Result:
    """The default branch on GitHub is the one the plan role trusts."""
    goals = ("deploy",)
    name = f"GitHub repository {repository}"
    trusted, where = terraform_default_branch(m)
    if default == trusted:
        return Result(name, goals, True, f"default branch {default}")
    return Result(
        name,
        goals,
        False,
        f"default branch {default or '?'}, but the plan role trusts refs/heads/{trusted} ({where})",
        f'set default_branch = "{default}" in infra/terraform.tfvars (and TF_TFVARS) and the '
        "branches of .github/workflows/*.yml; an administrator applies the trust",
    )


def github_refused(repository: str, error: GitHubError) -> Result:
    detail = f"GitHub answered {error}"
    if error.status == 401:
        fix = "the token is invalid or expired: gh auth login, or a new GITHUB_TOKEN"
    elif error.status == 404:
        detail = f"{repository} not found, or the token cannot read it ({error})"
        fix = "export GITHUB_REPOSITORY=OWNER/NAME, with a token that can read that repository"
    else:
        fix = (
            "a token that may read the repository's environments (classic: repo scope; "
            "fine-grained: Actions read), or wait for the rate limit to reset"
        )
    return Result("GitHub environments", ("deploy",), False, detail, fix)
