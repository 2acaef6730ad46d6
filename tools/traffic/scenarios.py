"""The seven scenarios, each under the same steady load through HAProxy.

Every scenario starts a fresh HAProxy and a service of `desired_count`
healthy tasks, then starts the load (finlex-release's Probe, the very code
that measures a production deploy), lets it warm up, plays ECS's sequence,
lets it settle and stops the load. The Result keeps every request and every
lifecycle event; the report turns them into figures, a JSON file and a PNG.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finlex_release.probe import DEFAULT_RATE, Probe, Sample
from traffic import balancer as haproxy
from traffic.balancer import Balancer
from traffic.ecs import Cluster, ScenarioError
from traffic.spec import Spec
from traffic.tasks import Docker
from traffic.watch import Event, Events, docker_events, target_states

WARM_UP = 0.5  # seconds of load before the scenario acts
SETTLE = 0.5  # seconds of load after it has finished
IDLE_CONNECTIONS = 8  # scenario 6: connections that sit idle past the idle timeout


@dataclass(frozen=True)
class Control:
    """A negative control: the same scenarios with one protection removed."""

    name: str
    description: str
    env: dict[str, str] = field(default_factory=dict)
    drain: bool = True
    # A negative control must see failures; the run fails if it sees none.
    negative: bool = True


SHIPPED = Control("", "as shipped")
CONTROLS = {
    "no-prestop": Control(
        "no-prestop",
        "FINLEX_PRESTOP_DELAY=0: the server stops accepting at SIGTERM",
        env={"FINLEX_PRESTOP_DELAY": "0"},
    ),
    "no-drain": Control(
        "no-drain",
        "no drain of either kind: no deregistration before a stop and no pre-stop delay, "
        "so a routed task gets SIGTERM and stops accepting at once",
        env={"FINLEX_PRESTOP_DELAY": "0"},
        drain=False,
    ),
    # Not a negative control: one protection removed where the other covers it.
    "no-deregistration": Control(
        "no-deregistration",
        "no deregistration before a stop; the pre-stop delay alone keeps the task serving",
        drain=False,
        negative=False,
    ),
}
# The controls a run includes unless told otherwise: the negative ones.
DEFAULT_CONTROLS = [name for name, control in CONTROLS.items() if control.negative]


@dataclass
class Result:
    scenario: str
    title: str
    control: str
    rate: float
    samples: list[Sample]
    events: list[Event]
    began: float  # monotonic time the load started
    notes: dict[str, Any] = field(default_factory=dict)
    goals_apply: bool = True


@dataclass
class Bench:
    """What every scenario shares: the spec, the engine, the ports, the folder."""

    spec: Spec
    docker: Docker
    haproxy_binary: str
    port: int
    folder: Path
    rate: float


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    play: Callable[[Cluster, Bench, Path], dict[str, Any]]
    goals_apply: bool = True


def _rolling(cluster: Cluster, bench: Bench, folder: Path) -> dict[str, Any]:
    """The deploy, with the live probe's command (finlex-release probe, as deploy.yml runs
    it around `make deploy`) pointed at HAProxy beside the load: its dry run."""
    done = folder / "deploy-done"
    summary = folder / "live-probe-summary.md"
    wait = "import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.05)"
    live = subprocess.Popen(  # noqa: S603 - argument list, no shell
        [
            sys.executable, "-m", "finlex_release", "probe", "--url", cluster.balancer.url,
            "--allow-http", "--host", bench.spec.host_names[0], "--rate", f"{DEFAULT_RATE:g}",
            "--", sys.executable, "-c", wait, str(done),
        ],
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        cluster.rolling_deploy(cluster.next_revision())
    finally:
        done.touch()
        output, _ = live.communicate(timeout=60)
    figures = next((line for line in output.splitlines() if line.startswith("probe ")), output)
    figures = figures.split(": ", 1)[-1].split("; `", 1)[0]
    return {
        "tasks after": len(cluster.tasks),
        "live probe": f"exit {live.returncode}: {figures}",
    }


def _bad_release(cluster: Cluster, _bench: Bench, _folder: Path) -> dict[str, Any]:
    good = cluster.revision
    failed = cluster.failing_deploy("rev-bad")
    serving = [task.revision for task in cluster.tasks]
    if serving != [good] * cluster.spec.service.desired_count:
        raise AssertionError(f"after the rollback the service runs {serving}")
    return {"failed tasks": failed, "rolled back to": good}


def _scale(cluster: Cluster, _bench: Bench, _folder: Path) -> dict[str, Any]:
    desired = cluster.spec.service.desired_count
    added = [cluster.launch(cluster.revision) for _ in range(desired)]
    cluster.require_healthy(added)
    out = len(cluster.tasks)
    for task in added:
        cluster.background(lambda task=task: cluster.retire(task))  # type: ignore[misc]
    cluster.join()
    return {"scaled": f"{desired} -> {out} -> {len(cluster.tasks)}"}


def _stop_while_routed(cluster: Cluster, bench: Bench, _folder: Path) -> dict[str, Any]:
    lag = deregistration_lag(bench.spec)
    victim = cluster.tasks[0]
    replacement = cluster.launch(cluster.revision)
    cluster.stop_task(victim, lag)
    cluster.require_healthy([replacement])
    return {"deregistration lag": f"{lag:.1f} s"}


def _health_replace(cluster: Cluster, _bench: Bench, _folder: Path) -> dict[str, Any]:
    spec = cluster.spec
    victim = cluster.tasks[0]
    cluster.docker.fault(victim.name)
    cluster.events.add(victim.name, "health fault")
    limit = spec.container.health_interval * (spec.container.health_retries + 2) + 10
    deadline = time.monotonic() + limit
    while cluster.docker.states([victim.name])[victim.name][1] != "unhealthy":
        if time.monotonic() > deadline:
            raise AssertionError(f"{victim.name}'s container never became unhealthy")
        time.sleep(0.25)
    replacement = cluster.launch(cluster.revision)
    cluster.require_healthy([replacement])
    cluster.retire(victim)
    return {"replaced": victim.name}


def _idle(cluster: Cluster, bench: Bench, _folder: Path) -> dict[str, Any]:
    idle_for = bench.spec.idle_timeout * 1.5
    idlers = [
        load(cluster.balancer, 1 / idle_for, connections=1, fresh_share=0)
        for _ in range(IDLE_CONNECTIONS)
    ]
    for idler in idlers:
        idler.start()
        time.sleep(idle_for / IDLE_CONNECTIONS)
    cluster.rolling_deploy(cluster.next_revision())
    time.sleep(idle_for)
    idle = [sample for idler in idlers for sample in idler.stop()]
    bench_notes: dict[str, Any] = {
        "idle connections": IDLE_CONNECTIONS,
        "idle for": f"{idle_for:.1f} s (idle timeout {bench.spec.idle_timeout:.1f} s)",
        "idle requests": len(idle),
        "idle failed": sum(1 for s in idle if not s.ok),
    }
    bench_notes["_samples"] = idle
    return bench_notes


def _sigkill(cluster: Cluster, _bench: Bench, _folder: Path) -> dict[str, Any]:
    victim = cluster.tasks[0]
    replacement = cluster.launch(cluster.revision)
    cluster.kill(victim)
    cluster.forget(victim)
    cluster.require_healthy([replacement])
    spec = cluster.spec
    return {
        "floor": f"{spec.detection:.1f} s here, {spec.detection / spec.time_scale:.0f} s in AWS "
        "(interval x unhealthy threshold)"
    }


def load(balancer: Balancer, rate: float, **options: Any) -> Probe:
    """finlex-release's probe at `rate` through HAProxy, for the service's Host name."""
    return Probe(balancer.url, rate, allow_http=True, host=balancer.spec.host_names[0], **options)


def deregistration_lag(spec: Spec) -> float:
    """How late a deregistration reaches the load balancer in scenario 4: the
    margin the infra allows for it (5 s, local.prestop_margin), scaled."""
    return 5.0 * spec.time_scale


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("rolling-deploy", "rolling deploy of a new revision (100 % / 200 %)", _rolling),
        Scenario(
            "bad-release", "bad release: circuit breaker, old tasks keep serving", _bad_release
        ),
        Scenario("scale-out-in", "scale out 2 -> 4, then in to 2", _scale),
        Scenario(
            "stop-while-routed",
            "StopTask of a routed task, deregistration lag",
            _stop_while_routed,
        ),
        Scenario(
            "health-replace",
            "container health check fails; the task is replaced",
            _health_replace,
        ),
        Scenario(
            "idle-keep-alive",
            "idle keep-alive connections past the idle timeout, across a deploy",
            _idle,
        ),
        Scenario("sigkill", "a task killed hard (SIGKILL): the floor", _sigkill, goals_apply=False),
    )
}


@contextmanager
def service(bench: Bench, control: Control = SHIPPED) -> Iterator[Cluster]:
    """HAProxy and the service at its desired count, healthy, for the scenarios of one
    control; every container and HAProxy are gone on the way out, however it ends."""
    folder = bench.folder / (control.name or "shipped")
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        stack.callback(bench.docker.remove_all)
        balancer = stack.enter_context(
            haproxy.running(bench.spec, bench.haproxy_binary, bench.port, folder)
        )
        cluster = Cluster(
            bench.spec, bench.docker, balancer, Events(), env=control.env, drain=control.drain
        )
        cluster.start_service(cluster.next_revision())
        yield cluster


def run(scenario: Scenario, bench: Bench, cluster: Cluster, control: Control = SHIPPED) -> Result:
    """Play one scenario under load on `cluster`, and leave the service as it found it:
    its desired count of healthy tasks."""
    cluster.events = events = Events()
    for task in cluster.tasks:
        events.add(task.name, "serving")
    folder = bench.folder / (scenario.name + (f"-{control.name}" if control.name else ""))
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        stack.enter_context(docker_events(bench.docker.binary, bench.docker.run_id, events))
        stack.enter_context(target_states(cluster.balancer, events))
        probe = load(cluster.balancer, bench.rate)
        began = time.monotonic()
        probe.start()
        stack.callback(probe.stop)
        time.sleep(WARM_UP)
        notes = scenario.play(cluster, bench, folder)
        time.sleep(SETTLE)
        samples = probe.stop()
    if len(cluster.tasks) != bench.spec.service.desired_count:
        raise ScenarioError(f"{scenario.name} left {len(cluster.tasks)} tasks running")
    cluster.require_healthy(cluster.tasks)
    extra = notes.pop("_samples", [])
    return Result(
        scenario=scenario.name,
        title=scenario.title,
        control=control.name,
        rate=bench.rate,
        samples=sorted([*samples, *extra], key=lambda s: s.due),
        events=events.items(),
        began=began,
        notes=notes,
        goals_apply=scenario.goals_apply,
    )
