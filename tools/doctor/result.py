"""One check's outcome and how it prints: a mark, the detail, the goals, the fix."""

from __future__ import annotations

from dataclasses import dataclass

OK = "\u2714"  # ✔
BAD = "\u2718"  # ✘
UNCHECKED = "?"


@dataclass(frozen=True)
class Result:
    name: str
    goals: tuple[str, ...]
    ok: bool
    detail: str
    fix: str = ""
    # False: the check could not run here (no token, no network); its detail says
    # how to check by hand. Not a failure unless --strict.
    checked: bool = True

    def line(self) -> str:
        mark = (OK if self.ok else BAD) if self.checked else UNCHECKED
        text = f"{mark} {self.name}: {self.detail}  [{', '.join(self.goals)}]"
        return text if self.ok or not self.fix else f"{text}\n    fix: {self.fix}"
