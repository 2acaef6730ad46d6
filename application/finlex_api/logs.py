"""The service's log lines: one JSON object per line on stdout, as CloudWatch Logs
reads it, batched into whole-line writes that never interleave between workers.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import multiprocessing.util
import os
import select
import signal
import stat
import sys
import threading
import time

from finlex_api.settings import LOG_LEVELS

# The logger names the lines carry; the infra's metric filters match them.
ACCESS_LOGGER = "finlex.access"
ERROR_LOGGER = "finlex.error"

_LEVELS = {name: number for number, name in enumerate(LOG_LEVELS)}


class LineBatcher:
    """Batches whole log lines into few writes to file descriptor 1.

    Each write holds whole lines and at most PIPE_BUF bytes (one longer line goes
    alone), so writes from several worker processes to one pipe never interleave
    inside a line. A batch is written when the next line would not fit, at most
    `interval` seconds after its first line (a daemon thread), and at exit,
    including the exit of a Granian worker process (multiprocessing runs its
    finalizers, not atexit). Nothing is lost unless the process is SIGKILLed,
    and then at most `interval` seconds of lines.
    """

    def __init__(self, fd: int = 1, limit: int = select.PIPE_BUF, interval: float = 0.1) -> None:
        self.fd = fd
        self.limit = limit
        self.interval = interval
        self.batching = _is_pipe_or_file(fd)
        self._lines: list[bytes] = []
        self._size = 0
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    def add(self, line: bytes) -> None:
        with self._lock:
            if self._size + len(line) > self.limit:
                self._write_locked()
            self._lines.append(line)
            self._size += len(line)
            if self._flusher is None:
                self._start_locked()

    def flush(self) -> None:
        with self._lock:
            self._write_locked()

    def _write_locked(self) -> None:
        if not self._lines:
            return
        data = b"".join(self._lines)
        self._lines.clear()
        self._size = 0
        with contextlib.suppress(OSError):  # logging must never break a request
            while data:
                data = data[os.write(self.fd, data) :]

    def _start_locked(self) -> None:
        self._flusher = threading.Thread(target=self._run, name="log-flusher", daemon=True)
        self._flusher.start()
        atexit.register(self.flush)
        multiprocessing.util.Finalize(None, self.flush, exitpriority=10)

    def _run(self) -> None:
        # Signals are for the main thread: Python runs its handlers only there,
        # and a SIGTERM the kernel hands to this thread instead could wait
        # unnoticed while the main thread sleeps (Granian's worker does).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        while True:
            time.sleep(self.interval)
            self.flush()


def _is_pipe_or_file(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


LINES = LineBatcher()
encode = json.encoder.encode_basestring_ascii  # the C encoder json.dumps uses for str


class JsonLines:
    """Writes one JSON object per line to stdout, as CloudWatch Logs reads it.

    The access log writes a line per request, so this is the cheap path: no
    `logging` records or handlers, one strftime per second instead of per line,
    and the C string encoder. The fields and their order are those `json.dumps`
    of the same dict would give. When stdout is the process's own pipe or file
    (a container's log pipe), whole lines are batched by LINES (see there);
    otherwise (a terminal, a test's captured stdout) each line is written and
    flushed at once.
    """

    __slots__ = ("_prefix", "_second", "_stamp", "enabled")

    def __init__(self, logger: str, level: str, threshold: str) -> None:
        self.enabled = _LEVELS[level] >= _LEVELS[threshold]
        self._prefix = f'","level":{encode(level)},"logger":{encode(logger)}'
        self._second = -1
        self._stamp = ""

    def _timestamp(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:  # a race here only recomputes the same string
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
            self._second = second
        return self._stamp

    def write(self, fields: str) -> None:
        """`fields`: the record's own members, already encoded, starting with a comma."""
        line = '{"ts":"' + self._timestamp() + self._prefix + fields + "}\n"
        stream = sys.stdout
        if stream is sys.__stdout__ and LINES.batching:
            LINES.add(line.encode())
            return
        try:
            stream.write(line)
            stream.flush()
        except (OSError, ValueError):  # logging must never break a request
            pass

    def record(self, values: dict[str, object]) -> None:
        """Any JSON-serialisable members, for the rare lines (errors)."""
        if self.enabled:
            self.write("," + json.dumps(values, separators=(",", ":"))[1:-1])
