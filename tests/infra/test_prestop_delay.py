"""The pre-stop delay's one home, modules/ecs_cluster's local.prestop_delay:
the task's FINLEX_PRESTOP_DELAY is set from it, it is derived from the target
group's health check, stop_timeout's default covers it, and the docs quote the
figure the defaults give."""

from __future__ import annotations

import re
from pathlib import Path

from finlex_api import settings
from infra_hcl import ECS, INFRA, default_of, expr, locals_of

REPO = INFRA.parent
DOCS = (REPO / "README.md", ECS / "README.md")


def default_prestop_delay() -> int:
    """local.prestop_delay with the module's defaults, from its expression."""
    local = locals_of(ECS)
    assert expr(local["prestop_delay"]) == (
        "var.health_check_interval * var.unhealthy_threshold + local.prestop_margin"
    )
    interval = default_of(ECS, "health_check_interval")
    threshold = default_of(ECS, "unhealthy_threshold")
    return int(interval * threshold + local["prestop_margin"])


def test_the_task_environment_sets_the_delay_from_the_local() -> None:
    environment = expr(locals_of(ECS)["container_environment"])
    assert "FINLEX_PRESTOP_DELAY = tostring(local.prestop_delay)" in environment


def test_the_default_stop_timeout_covers_the_delay_and_the_drain() -> None:
    stop = default_of(ECS, "stop_timeout")
    graceful = default_of(ECS, "graceful_timeout")
    margin = locals_of(ECS)["stop_margin"]
    assert default_prestop_delay() + graceful + margin <= stop <= 120
    assert default_prestop_delay() <= settings._RANGES["prestop_delay"][1]


def test_the_app_default_stops_at_once() -> None:
    # docker stop on a laptop, Ctrl-C and make run: no delay unless the infra sets one.
    assert settings.DEFAULT_PRESTOP_DELAY == 0


def test_the_docs_quote_the_rule_and_the_default_figure() -> None:
    delay = default_prestop_delay()
    for path in DOCS:
        text = re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))
        assert "FINLEX_PRESTOP_DELAY" in text, path
        assert f"{delay} s" in text, f"{path} does not quote the default delay, {delay} s"


def test_the_validation_reads_the_same_local() -> None:
    text = Path(ECS / "variables.tf").read_text(encoding="utf-8")
    assert "var.stop_timeout >= local.prestop_delay + var.graceful_timeout + local.stop_margin" in (
        re.sub(r"\s+", " ", text)
    )
