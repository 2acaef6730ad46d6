"""The variables and secrets the workflows read, set on GitHub (listed through gh).

Which names: exactly the `vars.X` and `secrets.X` the workflows evaluate (workflows.py).
Where: the repository, or the environments of the jobs that read them, since GitHub
gives a job in an environment that environment's variables and secrets too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from .machine import Machine
from .result import Result
from .workflows import Reference, job_environments, references, required_by_name, workflow_paths


@dataclass(frozen=True)
class Kind:
    """How one kind of setting is named, listed and set."""

    context: str  # the workflows' context: vars or secrets
    noun: str  # one of them, as a check's name says it
    title: str  # the whole check when it cannot run
    command: str  # gh's command group
    settings: str  # where the repository settings list them
    value: str  # what `gh ... set` takes besides the name


VARIABLES = Kind("vars", "variable", "GitHub variables", "variable", "Variables", " --body VALUE")
SECRETS = Kind("secrets", "secret", "GitHub secrets", "secret", "Secrets", "")


def listed(m: Machine, gh: str, kind: Kind, environment: str | None = None) -> set[str] | None:
    """The names gh lists (the repository's, or one environment's); None if it cannot."""
    scope = ["--env", environment] if environment else []
    answer = m.run([gh, kind.command, "list", *scope, "--json", "name"])
    if answer is None or answer.returncode != 0:
        return None
    try:
        return {item["name"] for item in json.loads(answer.stdout)}
    except (ValueError, KeyError, TypeError):
        return set()


def not_checked(kind: Kind, wanted: dict[str, bool], why: str) -> Result:
    """One `?` line saying what to set by hand (a failure only with --strict)."""
    required = ", ".join(n for n, req in wanted.items() if req)
    optional = ", ".join(n for n, req in wanted.items() if not req)
    what = required + (f" (optional: {optional})" if required and optional else "")
    what = what or f"(optional) {optional}"
    return Result(
        kind.title,
        ("deploy",),
        True,
        f"not checked: {why}; set {what} under Settings -> Secrets and variables -> "
        f"Actions -> {kind.settings}, or in the environments of the jobs that read them "
        "(docs/runbook.md 1.6); or install gh and run make doctor again",
        "",
        False,
    )


def variable_values(m: Machine, gh: str) -> dict[str, str] | None:
    """The repository's variables and their values (what chooses a job's environment)."""
    answer = m.run([gh, "variable", "list", "--json", "name,value"])
    if answer is None or answer.returncode != 0:
        return None
    try:
        return {
            str(item["name"]).upper(): str(item.get("value", ""))
            for item in json.loads(answer.stdout)
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def environments_of(
    m: Machine, found: Sequence[Reference], variables: dict[str, str] | None
) -> dict[str, list[tuple[str, ...]]]:
    """name -> the environments of each job that reads it (`()`: a job without one, or
    outside any job); with the repository's variables, those the jobs will run in."""
    jobs = {
        path.name: job_environments(m.repo, path.name, variables) for path in workflow_paths(m.repo)
    }
    scopes: dict[str, list[tuple[str, ...]]] = {}
    for ref in found:
        if ref.job and variables is not None and ref.job not in jobs.get(ref.workflow, {}):
            continue  # a job these variables keep from running
        where = jobs.get(ref.workflow, {}).get(ref.job, ()) if ref.job else ()
        scopes.setdefault(ref.name, []).append(where)
    return scopes


class Listings:
    """What gh lists, the repository's names first, each environment's when first asked."""

    def __init__(self, m: Machine, gh: str, kind: Kind, repository: set[str]) -> None:
        self.m, self.gh, self.kind, self.repository = m, gh, kind, repository
        self.environments: dict[str, set[str] | None] = {}

    def environment(self, name: str) -> set[str] | None:
        """The environment's names; None when gh cannot list them (no such environment)."""
        if name not in self.environments:
            self.environments[name] = listed(self.m, self.gh, self.kind, name)
        return self.environments[name]


def where_set(name: str, scopes: list[tuple[str, ...]], lists: Listings) -> tuple[str, list[str]]:
    """(where the name is set, or "" if it is not; the environments to set it in, none
    meaning the repository).

    The repository's value reaches every job. An environment's reaches only the jobs in
    it, so that is enough only when every job that reads the name runs in an environment.
    A job's one environment must have it (one that does not exist yet, GitHub creates
    empty); a job whose environment could not be told among several needs it in each of
    those that exist.
    """
    if name in lists.repository:
        return "set", []
    if not all(scopes):
        return "", []
    needed = [
        env
        for scope in scopes
        for env in scope
        if len(scope) == 1 or lists.environment(env) is not None
    ]
    needed = list(dict.fromkeys(needed))
    missing = [env for env in needed if name not in (lists.environment(env) or set())]
    if needed and not missing:
        return f"set in {', '.join(needed)}", []
    return "", missing or list(dict.fromkeys(env for scope in scopes for env in scope))


def check_github_settings(m: Machine, kind: Kind) -> list[Result]:
    """One line per name the workflows read: set (in the repository or in the environments
    of the jobs that read it), not set, or not set but optional."""
    goals = ("deploy",)
    found = [ref for ref in references(m.repo) if ref.context == kind.context]
    wanted = required_by_name(found, kind.context)
    if not wanted:
        return []
    gh = m.which("gh")
    repository = listed(m, gh, kind) if gh else None
    if gh is None or repository is None:
        why = "gh not on PATH" if gh is None else "gh cannot list them (gh auth login?)"
        return [not_checked(kind, wanted, why)]
    lists = Listings(m, gh, kind, repository)
    scopes = environments_of(m, found, variable_values(m, gh))
    results = []
    for name, required in wanted.items():
        check = f"{kind.noun} {name}"
        if name not in scopes:
            results.append(Result(check, goals, True, "not needed: no job that reads it runs"))
            continue
        where, targets = where_set(name, scopes[name], lists)
        if where:
            results.append(Result(check, goals, True, where))
        elif not required:
            results.append(Result(check, goals, True, "not set (optional)"))
        else:
            commands = [
                f"gh {kind.command} set {name}{f' --env {env}' if env else ''}{kind.value}"
                for env in targets or [""]
            ]
            fix = f"{'; '.join(commands)} (docs/runbook.md 1.6)"
            results.append(Result(check, goals, False, "not set", fix))
    return results


def check_github_variables(m: Machine) -> list[Result]:
    return check_github_settings(m, VARIABLES)


def check_github_secrets(m: Machine) -> list[Result]:
    return check_github_settings(m, SECRETS)
