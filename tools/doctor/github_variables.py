"""The repository variables the workflows read, set on GitHub (through gh)."""

from __future__ import annotations

import json

from .machine import Machine
from .result import Result
from .workflows import workflow_variables


def check_github_variables(m: Machine) -> list[Result]:
    goals = ("deploy",)
    wanted = workflow_variables(m.repo)
    names = ", ".join(n for n, req in wanted.items() if req)
    gh = m.which("gh")
    listing = m.run([gh, "variable", "list", "--json", "name"]) if gh else None
    if listing is None or listing.returncode != 0:
        why = "gh not on PATH" if gh is None else "gh cannot list them (gh auth login?)"
        return [
            Result(
                "GitHub variables",
                goals,
                False,
                f"not checked: {why}",
                f"set {names} under Settings -> Secrets and variables -> Actions -> Variables "
                "(docs/runbook.md 1.6), or install gh and run make doctor again",
            )
        ]
    try:
        present = {item["name"] for item in json.loads(listing.stdout)}
    except (ValueError, KeyError, TypeError):
        present = set()
    results = []
    for name, req in wanted.items():
        if name in present:
            results.append(Result(f"variable {name}", goals, True, "set"))
        elif req:
            fix = f"gh variable set {name} --body VALUE (docs/runbook.md 1.6)"
            results.append(Result(f"variable {name}", goals, False, "not set", fix))
        else:
            results.append(Result(f"variable {name}", goals, True, "not set (optional)"))
    return results
