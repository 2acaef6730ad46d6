"""Polling with a deadline, a replaceable clock, and progress lines."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Clock:
    """Where waits get the time and sleep. Tests substitute a fake one."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def ticks(
    timeout: float,
    interval: float,
    clock: Clock,
    *,
    backoff: float = 1.0,
    max_interval: float | None = None,
) -> Iterator[float]:
    """Yield the elapsed seconds before each attempt, until `timeout` has passed.

    The first attempt is immediate; the last one happens at the deadline.
    Between attempts the pause starts at `interval` and is multiplied by
    `backoff` each time, up to `max_interval`.
    """
    start = clock.monotonic()
    pause = interval
    while True:
        yield clock.monotonic() - start
        remaining = timeout - (clock.monotonic() - start)
        if remaining <= 0:
            return
        clock.sleep(min(pause, remaining))
        pause = pause * backoff
        if max_interval is not None:
            pause = min(pause, max_interval)


def duration(seconds: float) -> str:
    """'45s', '2m05s', '1h00m00s'."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


@dataclass
class Progress:
    """Prints progress lines to stderr (kept apart from results on stdout)."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)

    def __call__(self, message: str, elapsed: float | None = None) -> None:
        prefix = f"[{duration(elapsed):>7}] " if elapsed is not None else ""
        print(prefix + message, file=self.stream, flush=True)
