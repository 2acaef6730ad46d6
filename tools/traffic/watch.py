"""The lifecycle of every task, as events on one clock (time.monotonic()).

Two watchers feed one `Events` log: Docker's event stream (container started,
health status, signals, exit) and a poll of HAProxy's view of each target
(DOWN, UP, DRAIN, gone). The orchestrator adds what ECS decides (registered,
draining, deregistered, stop sent). The timeline draws them beside the traffic.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from traffic.balancer import Balancer
from traffic.tasks import LABEL


@dataclass(frozen=True)
class Event:
    at: float  # time.monotonic()
    task: str
    what: str


class Events:
    """A thread-safe, append-only log of lifecycle events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Event] = []

    def add(self, task: str, what: str, at: float | None = None) -> None:
        with self._lock:
            self._items.append(Event(time.monotonic() if at is None else at, task, what))

    def items(self) -> list[Event]:
        with self._lock:
            return sorted(self._items, key=lambda event: event.at)

    def first(self, task: str, what: str) -> float | None:
        return next((e.at for e in self.items() if e.task == task and e.what == what), None)


# Docker event actions worth a line on the timeline, and their names there.
_DOCKER_ACTIONS = {
    "start": "started",
    "health_status: healthy": "container healthy",
    "health_status: unhealthy": "container unhealthy",
    "kill": "signal",
    "die": "exited",
}


@contextmanager
def docker_events(binary: str, run_id: str, events: Events) -> Iterator[None]:
    """Follow `docker events` for this run's containers while the block runs."""
    process = subprocess.Popen(  # noqa: S603 - argument list, no shell
        [binary, "events", "--filter", f"label={LABEL}={run_id}", "--format", "{{json .}}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    # Docker stamps events with the wall clock; the log uses the monotonic one.
    offset = time.time() - time.monotonic()

    def follow() -> None:
        for line in process.stdout or ():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            action = str(item.get("Action") or item.get("status") or "")
            name = str(item.get("Actor", {}).get("Attributes", {}).get("name", ""))
            what = _DOCKER_ACTIONS.get(action)
            if what == "signal":
                signal = item["Actor"]["Attributes"].get("signal", "")
                what = {"15": "SIGTERM", "9": "SIGKILL"}.get(signal, f"signal {signal}")
            if what and name:
                events.add(name, what, item.get("timeNano", 0) / 1e9 - offset)

    reader = threading.Thread(target=follow, name="docker-events", daemon=True)
    reader.start()
    time.sleep(0.2)  # the stream is open before the first container starts
    try:
        yield
    finally:
        time.sleep(0.3)  # the last events reach the stream
        process.terminate()
        process.wait(timeout=5)
        reader.join(timeout=5)


@contextmanager
def target_states(balancer: Balancer, events: Events, every: float = 0.05) -> Iterator[None]:
    """Poll HAProxy's view of each target while the block runs; log each change."""
    halt = threading.Event()

    def poll() -> None:
        seen: dict[str, str] = {}
        while not halt.is_set():
            try:
                now = balancer.states()
            except OSError:
                now = seen
            for name, state in now.items():
                if seen.get(name) != state:
                    events.add(name, f"target {state}")
            seen = now
            halt.wait(every)

    poller = threading.Thread(target=poll, name="target-states", daemon=True)
    poller.start()
    try:
        yield
    finally:
        halt.set()
        poller.join(timeout=5)
