"""Start the finlex API under the production server, Granian.

Granian was chosen by measurement (see docs/performance.md). This launcher
turns the FINLEX_* settings into Granian's arguments and then replaces itself
with Granian, so that in a container Granian is PID 1 and receives SIGTERM
directly. On SIGTERM Granian stops accepting connections, lets in-flight
requests finish, and kills workers still busy after FINLEX_GRACEFUL_TIMEOUT.

Usage: python3 serve.py [MODULE:FACTORY]   (default: app:create_app)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import settings as config

DEFAULT_TARGET = "app:create_app"


def granian_argv(settings: config.Settings, target: str = DEFAULT_TARGET) -> list[str]:
    """The Granian command line that serves `target` with `settings`."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        # The ALB talks HTTP/1.1 to its targets; no protocol sniffing needed.
        "--http",
        "1",
        "--factory",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(settings.workers),
        "--blocking-threads",
        str(settings.threads),
        "--workers-kill-timeout",
        str(settings.graceful_timeout),
        "--respawn-failed-workers",
        "--log-level",
        settings.log_level,
        "--no-ws",
        target,
    ]


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
    command = granian_argv(settings, *args)
    # Granian imports the target relative to the working directory.
    os.chdir(Path(__file__).resolve().parent)
    os.execv(command[0], command)  # noqa: S606 - replaces this process by design
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
