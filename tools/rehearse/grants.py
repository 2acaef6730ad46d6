"""What each pipeline role was granted and what the rehearsal's steps called.

One summary line per role: calls made, distinct actions, calls denied (0 on
the happy path; the broken copies' denials are counted apart), and the
granted actions no step called. Each of those must be on `UNCALLED` with its
reason, or the rehearsal fails: a grant nobody uses is a grant to remove.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Granted actions that no step of a full rehearsal calls, and why each is kept.
# Keyed by the job that holds the role (rehearse.steps.ROLE_OUTPUTS).
UNCALLED: Mapping[str, Mapping[str, str]] = {
    "plan": {},
    "apply": {},
    "deploy": {},
}


@dataclass(frozen=True)
class RoleUse:
    job: str
    role_arn: str
    calls: int
    actions: frozenset[str]  # distinct actions allowed to the role's calls
    denied: int  # denied calls outside the broken copies
    denied_on_purpose: int  # denied calls of the broken copies
    uncalled: frozenset[str]  # granted, never called
    denied_calls: tuple[str, ...] = ()  # "action on ARN" of each denial counted in `denied`

    @property
    def unexplained(self) -> list[str]:
        """Uncalled grants that UNCALLED does not list."""
        known = {action.lower() for action in UNCALLED.get(self.job, {})}
        return sorted(action for action in self.uncalled if action.lower() not in known)

    def line(self) -> str:
        explained = len(self.uncalled) - len(self.unexplained)
        text = (
            f"{self.job} role: {self.calls} calls, {len(self.actions)} distinct actions, "
            f"{self.denied} denied (+{self.denied_on_purpose} by its broken copy); "
            f"{len(self.uncalled)} granted actions never called ({explained} listed with a reason)"
        )
        if self.unexplained:
            text += f"; not listed: {', '.join(self.unexplained)}"
        return text


def uncalled(granted: Iterable[str], called: Iterable[str]) -> frozenset[str]:
    """Granted actions (patterns allowed) that match none of the called ones."""
    made = [action.lower() for action in called]
    return frozenset(
        action
        for action in granted
        if not any(fnmatch.fnmatchcase(made_one, action.lower()) for made_one in made)
    )
