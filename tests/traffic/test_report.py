"""The report of a scenario: figures beside the goals, the JSON, the Markdown row, the PNG."""

from __future__ import annotations

import json
from pathlib import Path

from traffic import report
from traffic.scenarios import Result
from traffic.watch import Event

from finlex_release.probe import Sample


def result(samples: list[Sample], *, goals_apply: bool = True) -> Result:
    events = [Event(0.0, "run-1", "started"), Event(0.5, "run-1", "target UP")]
    events += [Event(2.0, "run-1", "SIGTERM"), Event(2.5, "run-1", "exited")]
    return Result(
        "stop-while-routed", "a stop", "", 100.0, samples, events, 0.0, {"lag": "0.5 s"},
        goals_apply,
    )  # fmt: skip


def steady(count: int, *, failing: range = range(0)) -> list[Sample]:
    """`count` requests 10 ms apart, each answered in 2 ms; those in `failing` get 503."""
    return [
        Sample(i / 100, i / 100 + 0.002, 503 if i in failing else 200, "", False)
        for i in range(count)
    ]


def test_a_clean_run_meets_every_goal() -> None:
    found = report.verdict(result(steady(300)))
    assert found.passed
    assert found.loss_window == 0
    line = report.line(found)
    assert "failed    0 (goal 0, ok)" in line
    assert "MISSED" not in line


def test_failures_miss_the_goal_and_give_the_loss_window() -> None:
    found = report.verdict(result(steady(300, failing=range(100, 150))))
    assert not found.passed
    assert found.figures.failed == 50
    assert abs(found.loss_window - (1.49 + 0.002 - 1.00)) < 1e-9
    assert "failed   50 (goal 0, MISSED)" in report.line(found)
    assert "longest gap  510 ms (goal <= 250 ms, MISSED)" in report.line(found)


def test_a_slow_tail_misses_the_p99_goal_alone() -> None:
    samples = steady(300)
    samples[:5] = [Sample(s.due, s.due + 0.2, 200, "", False) for s in samples[:5]]
    found = report.verdict(result(samples))
    assert found.figures.failed == 0
    assert not found.passed
    assert "p99 200 ms (goal <= 50 ms, MISSED)" in report.line(found)


def test_the_floor_scenario_reports_its_window_not_goals() -> None:
    found = report.verdict(result(steady(300, failing=range(10, 20)), goals_apply=False))
    assert found.passed  # no goals apply: its figure is the window
    assert "loss window 0.09 s" in report.line(found)
    assert "goal" not in report.line(found)


def test_json_markdown_and_timeline(tmp_path: Path) -> None:
    found = report.verdict(result(steady(300, failing=range(100, 150))))
    report.write_json([found], tmp_path / "results.json", {"rate": 100.0})
    written = json.loads((tmp_path / "results.json").read_text())
    (scenario,) = written["scenarios"]
    assert scenario["figures"]["failed"] == 50
    assert scenario["passed"] is False
    assert sum(row["failed"] for row in scenario["per_100ms"]) == 50
    assert sum(row["ok"] for row in scenario["per_100ms"]) == 250
    assert [e["what"] for e in scenario["events"]] == ["started", "target UP", "SIGTERM", "exited"]
    table = report.markdown([found]).splitlines()
    assert table[2].startswith("| stop-while-routed | - | 300 | 50 | 510 ms |")
    report.timeline(found, tmp_path / "timeline.png")
    assert (tmp_path / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
