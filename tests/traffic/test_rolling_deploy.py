"""A short rolling deploy of the real image under 200 requests/s: nothing may fail.

The same scenario with no drain of either kind (the negative control) must
lose requests, so this test also shows that the harness can see downtime: a
harness blind to failures could not pass both.
"""

from __future__ import annotations

from pathlib import Path

from traffic import scenarios
from traffic import spec as specs
from traffic.report import verdict
from traffic.tasks import Docker

from localhost import free_port

RATE = 200.0


def play(
    control: scenarios.Control,
    spec: specs.Spec,
    docker: Docker,
    haproxy_binary: str,
    folder: Path,
) -> scenarios.Result:
    bench = scenarios.Bench(spec.scaled(0.1), docker, haproxy_binary, free_port(), folder, RATE)
    with scenarios.service(bench, control) as cluster:
        return scenarios.run(scenarios.SCENARIOS["rolling-deploy"], bench, cluster, control)


def test_a_rolling_deploy_under_load_loses_nothing(
    terraform_spec: specs.Spec, docker: Docker, haproxy_binary: str, tmp_path: Path
) -> None:
    result = play(scenarios.SHIPPED, terraform_spec, docker, haproxy_binary, tmp_path)
    found = verdict(result)
    print(f"rolling deploy: {found.figures}")
    assert found.figures.sent > RATE * 5, "the deploy ended before the load did anything"
    assert found.figures.failed == 0, found.figures.statuses
    events = {(event.task.rsplit("-", 1)[-1], event.what) for event in result.events}
    # Both old tasks drained and stopped; both new ones were healthy first.
    assert {("1", "draining"), ("2", "draining"), ("1", "exited"), ("2", "exited")} <= events
    assert {("3", "target UP"), ("4", "target UP")} <= events


def test_the_same_deploy_without_any_drain_loses_requests(
    terraform_spec: specs.Spec, docker: Docker, haproxy_binary: str, tmp_path: Path
) -> None:
    control = scenarios.CONTROLS["no-drain"]
    found = verdict(play(control, terraform_spec, docker, haproxy_binary, tmp_path))
    print(f"rolling deploy, control no-drain: {found.figures}")
    assert found.figures.failed > 0, "the harness saw no failure where there must be some"
