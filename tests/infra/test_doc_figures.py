"""Numbers the docs state that the code holds: each tied to its one home."""

from __future__ import annotations

import re
from pathlib import Path

from infra_hcl import default_of, locals_of

REPO = Path(__file__).resolve().parents[2]


def test_the_runbook_gives_the_albs_idle_timeout_its_default() -> None:
    runbook = (REPO / "docs" / "runbook.md").read_text()
    stated = re.findall(r"`alb_idle_timeout`, (\d+) s by default", runbook)
    assert stated, "the runbook no longer names alb_idle_timeout's default"
    default = default_of(REPO / "infra" / "modules" / "ecs_cluster", "alb_idle_timeout")
    assert {int(value) for value in stated} == {int(default)}


def test_the_readme_says_how_many_pytest_sessions_make_test_runs() -> None:
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    # Without PYTEST_ARGS: tests/rehearsal in one session, the rest (--ignore) in another.
    beside = "$(PYTEST) tests/rehearsal" in recipe and "--ignore=tests/rehearsal" in recipe
    sessions = 2 if beside else 1
    readme = (REPO / "README.md").read_text()
    words = {1: "one", 2: "two"}
    assert f"What `make test` runs, in {words[sessions]} pytest session" in readme


def test_infra_readme_gives_the_stop_figures_their_defaults() -> None:
    module = REPO / "infra" / "modules" / "ecs_cluster"
    interval = int(default_of(module, "health_check_interval"))
    threshold = int(default_of(module, "unhealthy_threshold"))
    stop = int(default_of(module, "stop_timeout"))
    readme = (REPO / "infra" / "README.md").read_text()
    prestop = re.search(
        r"\| `FINLEX_PRESTOP_DELAY` \| (\d+) s \(`health_check_interval` (\d+) s x "
        r"`unhealthy_threshold` (\d+) \+ (\d+)\)",
        readme,
    )
    assert prestop, "infra/README.md no longer gives the pre-stop delay"
    delay, said_interval, said_threshold, margin = (int(group) for group in prestop.groups())
    assert (said_interval, said_threshold) == (interval, threshold)
    assert margin == int(locals_of(module)["prestop_margin"])
    assert delay == interval * threshold + margin
    assert re.search(rf"\| `stopTimeout` \| {stop} s \|", readme)
