"""ECS's side of each scenario: launch, register, wait healthy, deregister, stop.

`Cluster` plays the service scheduler's sequences in ECS's order, against
Docker (the tasks) and HAProxy's runtime API (the target group):

- launch: the task starts; once it runs, it is registered and health-checked;
- healthy: the target passed `healthy_threshold` checks and the container's
  own health check says healthy;
- retire (the scheduler's stop): deregister, so the target drains; wait the
  deregistration delay; remove the target; SIGTERM, and SIGKILL after the
  stop timeout;
- stop_task (StopTask, a failed health check reaching a routed task): SIGTERM
  first, the deregistration reaches the load balancer `lag` seconds later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from localhost import free_port
from traffic.balancer import Balancer
from traffic.spec import Spec
from traffic.tasks import Docker
from traffic.watch import Events


class ScenarioError(Exception):
    """A scenario could not play out (a task that never started, a timeout)."""


@dataclass
class Task:
    name: str
    port: int
    revision: str


@dataclass
class Cluster:
    spec: Spec
    docker: Docker
    balancer: Balancer
    events: Events
    # Settings over the task definition's environment (the negative controls).
    env: Mapping[str, str] = field(default_factory=dict)
    # Skip the deregistration before a stop (a negative control).
    drain: bool = True
    tasks: list[Task] = field(default_factory=list)
    # The revision the service runs (a rolling deploy moves it on).
    revision: str = ""
    _count: int = 0
    _revisions: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)

    # --- one task ------------------------------------------------------------

    def launch(self, revision: str, *, listen_elsewhere: bool = False) -> Task:
        """Start a task of `revision` and register it once it runs.

        `listen_elsewhere`: the revision is broken, its server listens on
        another port than the one the target group checks (a bad release).
        """
        self._count += 1
        task = Task(f"{self.docker.run_id}-{self._count}", free_port(), revision)
        listen = free_port() if listen_elsewhere else task.port
        env = {**self.env, "FINLEX_REVISION": revision}
        self.docker.start(task.name, listen, self.spec.container, env)
        self.tasks.append(task)
        self.balancer.register(task.name, task.port)
        self.events.add(task.name, "registered")
        return task

    def unhealthy(self, tasks: list[Task]) -> list[Task]:
        """Those of `tasks` whose target is not UP or whose container is not healthy.

        HAProxy is asked first (a socket read); Docker (a CLI call that costs
        the machine the load shares) only about the targets that are UP.
        """
        targets = self.balancer.states()
        up = [task for task in tasks if targets.get(task.name) == "UP"]
        containers = self.docker.states(task.name for task in up)

        def ready(task: Task) -> bool:
            state, health = containers.get(task.name, ("", ""))
            return state == "running" and health in ("healthy", "")

        return [task for task in tasks if task not in up or not ready(task)]

    def wait_healthy(self, tasks: list[Task], limit: float) -> list[Task]:
        """Wait up to `limit` seconds for `tasks` to be healthy; those that are not."""
        deadline = time.monotonic() + limit
        waiting = list(tasks)
        while waiting and time.monotonic() < deadline:
            waiting = self.unhealthy(waiting)
            time.sleep(0.1)
        return waiting

    def retire(self, task: Task) -> None:
        """The scheduler's stop: deregister, wait the delay, remove the target, SIGTERM."""
        if self.drain:
            self.balancer.drain(task.name)
            self.events.add(task.name, "draining")
            time.sleep(self.spec.deregistration_delay)
            self._deregister(task)
        self._stop(task)
        if not self.drain:
            self._deregister(task)

    def stop_task(self, task: Task, lag: float) -> None:
        """StopTask of a routed task: SIGTERM now, the deregistration `lag` s later."""
        stopper = self.background(lambda: self._stop(task))
        time.sleep(lag)
        if self.drain:
            self.balancer.drain(task.name)
            self.events.add(task.name, "draining")
            time.sleep(self.spec.deregistration_delay)
        stopper.join()
        self._deregister(task)

    def kill(self, task: Task) -> None:
        """SIGKILL: the task is gone at once; only the health checks take it out."""
        self.docker.kill(task.name)
        self.tasks.remove(task)

    def forget(self, task: Task) -> None:
        """A dead task leaves the target group once its target is DOWN."""
        deadline = time.monotonic() + 60 * self.spec.time_scale + self.spec.detection + 5
        while self.balancer.states().get(task.name) not in ("DOWN", None):
            if time.monotonic() > deadline:
                raise ScenarioError(f"{task.name} was never marked DOWN after it died")
            time.sleep(0.05)
        self.balancer.deregister(task.name)
        self.events.add(task.name, "deregistered")

    def _deregister(self, task: Task) -> None:
        if task.name in self.balancer.states():
            self.balancer.deregister(task.name)
            self.events.add(task.name, "deregistered")

    def _stop(self, task: Task) -> None:
        self.docker.stop(task.name, self.spec.container.stop_timeout)
        if task in self.tasks:
            self.tasks.remove(task)

    # --- the service ---------------------------------------------------------

    def next_revision(self) -> str:
        self._revisions += 1
        return f"rev-{self._revisions}"

    def background(self, work: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def start_service(self, revision: str) -> list[Task]:
        """The service at its desired count, every task healthy."""
        self.revision = revision
        started = [self.launch(revision) for _ in range(self.spec.service.desired_count)]
        self.require_healthy(started)
        return started

    def require_healthy(self, tasks: list[Task]) -> None:
        limit = self.spec.service.grace_period + self.spec.health_check.interval * 4 + 30
        late = self.wait_healthy(tasks, limit)
        if late:
            raise ScenarioError(
                f"{', '.join(t.name for t in late)} not healthy within {limit:.0f} s "
                f"(target: {self.balancer.states()}; containers: "
                f"{self.docker.states(t.name for t in late)})"
            )

    def rolling_deploy(self, revision: str) -> None:
        """minimumHealthyPercent/maximumPercent: start the surge, stop one old
        task for each new one that is healthy."""
        old = [task for task in self.tasks if task.revision != revision]
        self.revision = revision
        service = self.spec.service
        surge = max(1, service.desired_count * (service.maximum_percent - 100) // 100)
        while old:
            batch = [self.launch(revision) for _ in range(min(surge, len(old)))]
            self.require_healthy(batch)
            for _ in batch:
                retiring = old.pop(0)
                self.background(lambda task=retiring: self.retire(task))  # type: ignore[misc]
        self.join()

    def failing_deploy(self, revision: str) -> int:
        """A revision that never gets healthy: launch, give up after the grace
        period, until the circuit breaker's threshold; then roll back. Returns
        the number of failed tasks."""
        failed = 0
        service = self.spec.service
        surge = max(1, service.desired_count * (service.maximum_percent - 100) // 100)
        threshold = self.spec.breaker_threshold
        limit = service.grace_period + self.spec.health_check.interval * 2
        while failed < threshold:
            batch = [
                self.launch(revision, listen_elsewhere=True)
                for _ in range(min(surge, threshold - failed))
            ]
            unhealthy = self.wait_healthy(batch, limit)
            if len(unhealthy) < len(batch):
                raise ScenarioError("a task of the bad revision became healthy")
            for task in unhealthy:
                failed += 1
                self.events.add(task.name, "unhealthy: stopped")
                self._deregister(task)
                self.background(lambda task=task: self._stop(task))  # type: ignore[misc]
        self.join()
        return failed
