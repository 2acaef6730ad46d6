"""Start the finlex API under the production server, Granian.

Granian was chosen by measurement (see docs/performance.md). This launcher
turns the FINLEX_* settings into Granian's options and runs Granian's main
process in this process, so that in a container it is PID 1 and receives
SIGTERM directly. On SIGTERM Granian stops accepting connections, lets
in-flight requests finish, and kills workers still busy after
FINLEX_GRACEFUL_TIMEOUT.

Three things are done here rather than left to Granian's defaults:

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
- The port is checked before Granian binds it. Granian binds with SO_REUSEPORT,
  so a second server on a busy port would either crash with a long traceback
  or silently share the port with whatever holds it.

Usage: python3 serve.py [MODULE:FACTORY]   (default: app:create_app)
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import socket
import sys
from pathlib import Path
from typing import Any

import settings as config

DEFAULT_TARGET = "app:create_app"


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
        print("usage: python3 serve.py [MODULE:FACTORY]", file=sys.stderr)
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
    from granian import Granian

    # Granian imports the target relative to the working directory.
    os.chdir(Path(__file__).resolve().parent)
    multiprocessing.set_start_method("spawn", force=True)
    Granian(args[0] if args else DEFAULT_TARGET, **granian_options(settings)).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
