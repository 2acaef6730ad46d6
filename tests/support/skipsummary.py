"""The last word of every pytest session on skips: how many and why, and none under CI=true.

Every skip in this suite is a missing prerequisite (tests/support/prerequisites.py): a Docker
engine, the Terraform CLI, the hashicorp/aws provider. On a developer's
machine a skip is fine, but it must be seen, so each session ends with one
line, ``skipped: N (reason; K tests: reason; ...)``. Under ``CI=true`` the
pipeline is meant to provide every prerequisite, so a skip there fails the
session, even one that bypassed ``prerequisites.require``.

tests/conftest.py registers it; ``pytest -p support.skipsummary`` loads it elsewhere.
"""

from __future__ import annotations

from collections import Counter

import pytest

from support.prerequisites import in_ci


class SkipSummary:
    """Collects the reasons of skipped tests (xfails are not skips) during one session."""

    def __init__(self, ci: bool) -> None:
        self.ci = ci
        self.reasons: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            self.reasons[reason_of(report)] += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.ci and self.reasons and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """After pytest's own last line (`N passed, M skipped in ...`), so that it ends the run."""
        terminalreporter = config.pluginmanager.get_plugin("terminalreporter")
        if terminalreporter is None:
            return
        terminalreporter.write_line(self.line())
        if self.ci and self.reasons:
            terminalreporter.write_line(
                "under CI=true no test may skip: each skip above is a missing prerequisite "
                "that CI must provide (.ci/run, .github/workflows/ci.yml)",
                red=True,
            )

    def line(self) -> str:
        total = sum(self.reasons.values())
        if not total:
            return "skipped: 0"
        why = "; ".join(
            reason if count == 1 else f"{count} tests: {reason}"
            for reason, count in self.reasons.most_common()
        )
        return f"skipped: {total} ({why})"


def reason_of(report: pytest.TestReport) -> str:
    """pytest keeps a skip's reason as (path, line, "Skipped: reason")."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ").strip() or "no reason given"


def register(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("finlex-skip-summary"):
        config.pluginmanager.register(SkipSummary(in_ci()), "finlex-skip-summary")


def pytest_configure(config: pytest.Config) -> None:
    register(config)
