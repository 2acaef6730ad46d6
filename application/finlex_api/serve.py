"""Start the finlex API under the production server, Granian.

Granian was chosen by measurement (see docs/performance.md). This launcher
turns the FINLEX_* settings into Granian's options and runs Granian's main
process in this process, so that in a container it is PID 1 and receives
SIGTERM directly. On SIGTERM the server first serves on for
FINLEX_PRESTOP_DELAY seconds with /healthz answering 503 (see prestop below);
then Granian stops accepting connections, lets in-flight requests finish, and
kills workers still busy after FINLEX_GRACEFUL_TIMEOUT.

The pre-stop delay exists because a SIGTERM may arrive while the load balancer
still routes to the task (ECS's StopTask, scale-in, a failed container health
check, a deregistration still reaching every ALB node): a server that stopped
accepting at once lost every request sent to it until the health checks caught
up. The main process's stop thread creates a marker file (its path is passed
to the workers in FINLEX_STOPPING_FILE) that every worker's /healthz reads;
a second SIGTERM or SIGINT ends the delay early. During a delay a worker
ignores stop signals that do not come from the main process (a terminal's
Ctrl-C reaches the whole process group): its stop is the main process's.

Five things are done here rather than left to Granian's defaults:

- Workers are started with the "spawn" method, not "fork". A forked worker
  inherits the main process's Python SIGTERM handler until Granian installs
  its own, so a SIGTERM that reaches a worker while it is still starting (for
  instance a stop right after start-up) was swallowed, and the worker was
  killed only after the kill timeout. A spawned worker starts with the default
  disposition: a SIGTERM before it serves simply ends it.
- The runtime mode is "mt". In Granian 2.8's "st" mode a worker whose
  runtime thread was still starting could miss the stop (seen as "Killing
  worker-2 after it refused to gracefully stop" after a stop right after
  start-up, about 1 in 30 on the host); `make stop-soak` measures it.
- In the main process and in each worker, one thread takes the stop signals
  (see take_stop_signals). Python runs signal handlers only in the main
  thread, and the main thread of Granian's main process and of its workers
  sleeps in a lock wait that only a signal delivered to that very thread
  interrupts; the kernel may hand a process-directed SIGTERM to any thread
  that does not block it, and Granian's other threads (a worker's runtime and
  blocking threads, the main process's worker watchers) did not. Such a
  SIGTERM was lost: a worker was killed after the kill timeout (about 1 stop
  in 150 under load), and a lost stop of the main process would have waited
  for `docker stop`'s SIGKILL.
- A worker still alive IDLE_RESIGNAL_AFTER seconds after SIGTERM with no
  client connection (it has nothing to finish, so it lost the signal) gets
  SIGTERM again; one with connections is left to drain until the kill
  timeout, since a second SIGTERM makes a Granian worker exit at once. Kept
  as a second line of defence behind the signal thread.
- The port is checked before Granian binds it. Granian binds with SO_REUSEPORT,
  so a second server on a busy port would either crash with a long traceback
  or silently share the port with whatever holds it.

Usage: finlex-api [MODULE:FACTORY]   (default: finlex_api.factory:create_app)
(`python3 -m finlex_api.serve` is the same command.)
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

from finlex_api import settings as config

DEFAULT_TARGET = "finlex_api.factory:create_app"
# A worker still alive this long after SIGTERM that holds no client connection
# has nothing to finish: it missed the signal, which is sent again (see Server).
IDLE_RESIGNAL_AFTER = 0.5


def client_connections(pid: int) -> int | None:
    """TCP sockets of process `pid` other than listening ones (None: unknown)."""
    try:
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        count = 0
        for table in ("tcp", "tcp6"):
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
            for line in lines:
                fields = line.split()
                if fields[9] in inodes and fields[3] != "0A":  # 0A: LISTEN
                    count += 1
        return count
    except OSError:
        return None


STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def load_in_worker(target: str) -> Any:
    """Granian's target loader, run in each worker: the app from MODULE:FACTORY,
    then the stop signals routed to one thread.

    A worker inherits the main process's block of the stop signals. It opens
    them while it loads the app, so that a stop then ends it at once (the
    default disposition of a spawned process; it serves nothing yet); from the
    end of the load they are taken by the thread take_stop_signals starts and
    handed to Granian's handler.
    """
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    module, _, name = target.partition(":")
    factory: Any = importlib.import_module(module)
    for part in name.split("."):
        factory = getattr(factory, part)
    app = factory()
    # With a pre-stop delay, only the main process stops a worker.
    only_from = os.getppid() if os.environ.get(config.STOPPING_FILE_ENV) else None
    take_stop_signals(only_from=only_from)
    return app


def take_stop_signals(prestop: Prestop | None = None, only_from: int | None = None) -> None:
    """Block SIGTERM and SIGINT in this (the main) thread, so that every thread
    and process started after it, Granian's included, inherits the block; then
    take them in one thread of ours with sigwait and call the handler installed
    for them at that moment (Granian's only sets its stop event, which any
    thread may do). With no thread open to them, the kernel keeps a stop
    signal for sigwait instead of handing it to a thread that would lose it.

    `prestop` (the main process): the first stop signal starts its delay
    before the handler is called. `only_from` (a worker): stop signals sent by
    any other process are ignored."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    threading.Thread(
        target=_stop_signal_loop, args=(prestop, only_from), name="stop-signals", daemon=True
    ).start()


def _stop_signal_loop(prestop: Prestop | None, only_from: int | None) -> None:
    while True:
        info = signal.sigwaitinfo(STOP_SIGNALS)
        signum = info.si_signo
        if only_from is not None and info.si_pid != only_from:
            continue
        handler = signal.getsignal(signum)
        if callable(handler) and handler is not signal.default_int_handler:
            if prestop is not None:
                prestop.wait()
            handler(signum, None)
        elif handler != signal.SIG_IGN:
            # No handler of Granian's yet: end the process, as the default would.
            os._exit(128 + signum)


class Prestop:
    """The pre-stop delay of the main process: on the first stop signal, the
    marker file makes every worker's /healthz answer 503 while all else is
    served for `delay` seconds, or until the next stop signal."""

    def __init__(self, delay: float, marker: Path) -> None:
        self.delay = delay
        self.marker = marker
        self.done = False

    def wait(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.marker.touch()
        except OSError as error:  # serving on without the marker would hide the stop
            print(f"finlex: cannot mark the stop ({error.strerror}); stopping now", file=sys.stderr)
            return
        signal.sigtimedwait(STOP_SIGNALS, self.delay)

    def cleanup(self) -> None:
        with contextlib.suppress(OSError):
            self.marker.unlink(missing_ok=True)
            self.marker.parent.rmdir()


def prestop_for(settings: config.Settings) -> Prestop | None:
    """The main process's Prestop, with its marker path exported to the workers
    it will spawn; None when the delay is 0."""
    if settings.prestop_delay <= 0:
        return None
    marker = Path(tempfile.mkdtemp(prefix="finlex-")) / "stopping"
    os.environ[config.STOPPING_FILE_ENV] = str(marker)
    return Prestop(settings.prestop_delay, marker)


def server_class() -> Any:
    """Granian's multi-process server; its stop sends SIGTERM again to an idle
    worker that is still alive, as one that missed the first signal would be.
    A worker with client connections is left to finish them as usual (a second
    SIGTERM would make Granian's worker exit at once)."""
    import time

    from granian.log import logger
    from granian.server.mp import MPServer

    class Server(MPServer):
        def _stop_workers(self) -> None:
            workers: list[Any] = list(self.wrks)
            for worker in workers:
                worker.terminate()
            deadline = time.monotonic() + (self.workers_kill_timeout or 0)
            resignal = time.monotonic() + IDLE_RESIGNAL_AFTER
            while time.monotonic() < deadline and any(w.is_alive() for w in workers):
                time.sleep(0.05)
                if time.monotonic() < resignal:
                    continue
                resignal = time.monotonic() + IDLE_RESIGNAL_AFTER
                for worker in workers:
                    if worker.is_alive() and client_connections(worker.inner.pid) == 0:
                        worker.terminate()
            # Past the kill timeout: kill, so that Granian's own stop below (which
            # joins and logs each worker) does not wait a second timeout.
            for worker in workers:
                if worker.is_alive():
                    logger.warning(
                        f"Killing worker-{worker.idx + 1} after it refused to gracefully stop"
                    )
                    worker.kill()
                    worker.join()
            super()._stop_workers()  # type: ignore[no-untyped-call]

    return Server


def granian_options(settings: config.Settings) -> dict[str, Any]:
    """Keyword arguments of granian.Granian that serve with `settings`."""
    from granian.constants import HTTPModes, Interfaces, RuntimeModes
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    return {
        "address": settings.host,
        "port": settings.port,
        "interface": Interfaces.WSGI,
        # The ALB talks HTTP/1.1 to its targets; no protocol sniffing needed.
        "http": HTTPModes.http1,
        "http1_settings": HTTP1Settings(
            # Granian closes a keep-alive connection that sends no request
            # headers for this long: its idle keep-alive timeout.
            header_read_timeout=settings.keepalive_timeout * 1000,
            keep_alive=True,
        ),
        "websockets": False,
        "workers": settings.workers,
        "blocking_threads": settings.threads,
        # One runtime thread per worker: the workers are the parallelism. Not
        # "st": see the module docstring.
        "runtime_mode": RuntimeModes.mt,
        "runtime_threads": 1,
        "workers_kill_timeout": settings.graceful_timeout,
        "respawn_failed_workers": True,
        "log_level": LogLevels(settings.log_level),
        "factory": True,
    }


def check_port(host: str, port: int) -> str | None:
    """None when `host:port` can be listened on, else a one-line reason with the fix."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            probe.listen(1)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use: stop what listens there "
                    "(`ss -ltnp` names it) or set FINLEX_PORT to a free port"
                )
            if error.errno == errno.EACCES:
                return f"port {port} on {host} needs privileges: set FINLEX_PORT to 1024 or above"
            return f"cannot listen on {host}:{port}: {error.strerror}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and ":" not in args[0]):
        print("usage: finlex-api [MODULE:FACTORY]", file=sys.stderr)
        return 2
    try:
        settings = config.load()
    except config.SettingsError as error:
        print(f"finlex: {error}", file=sys.stderr)
        return 2
    problem = check_port(settings.host, settings.port)
    if problem:
        print(f"finlex: {problem}", file=sys.stderr)
        return 2
    multiprocessing.set_start_method("spawn", force=True)
    server = server_class()(args[0] if args else DEFAULT_TARGET, **granian_options(settings))
    # multiprocessing starts its resource tracker with the first worker, and
    # unblocks SIGTERM and SIGINT in the calling thread when it has: start it
    # before the stop signals are blocked here.
    resource_tracker.ensure_running()
    prestop = prestop_for(settings)
    take_stop_signals(prestop)
    try:
        server.serve(target_loader=load_in_worker)
    finally:
        if prestop:
            prestop.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
