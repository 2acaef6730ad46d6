"""The real finlex app plus one test-only route that takes as long as asked.

The graceful-shutdown test serves this through the production launcher, so
the server, its settings and its signal handling are exactly the shipped ones.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from flask import Flask, request

from finlex_api.factory import create_app as create_finlex_app


def _miss_first_sigterm(marker_dir: Path) -> None:
    """Make this worker miss the first SIGTERM after Granian installed its handler,
    as a worker that lost the stop does: the deterministic form of that race.
    Later SIGTERMs reach Granian's handler as usual."""
    import granian._signals

    install = granian._signals.set_sync_signals

    def deaf_once() -> object:
        event = install()
        granian_handler = signal.getsignal(signal.SIGTERM)
        missed: list[int] = []

        def handler(signum: int, frame: object) -> None:
            if not missed:
                missed.append(signum)
                (marker_dir / f"missed-{os.getpid()}").touch()
                return
            assert callable(granian_handler)
            granian_handler(signum, frame)

        signal.signal(signal.SIGTERM, handler)
        (marker_dir / f"deaf-{os.getpid()}").touch()  # the handler is in place
        return event

    granian._signals.set_sync_signals = deaf_once


def create_app() -> Flask:
    marker_dir = Path(os.environ["SLOW_APP_MARKERS"])
    startup = float(os.environ.get("SLOW_APP_STARTUP", "0"))
    if startup:
        # A worker still loading its app: the window in which a stop once got lost.
        (marker_dir / f"loading-{os.getpid()}").touch()
        time.sleep(startup)
    if os.environ.get("SLOW_APP_MISS_FIRST_SIGTERM"):
        _miss_first_sigterm(marker_dir)
    app = create_finlex_app()

    @app.get("/slow")
    def slow() -> str:
        name = request.args.get("id", "anon")
        (marker_dir / name).touch()  # tells the test the request is in flight
        time.sleep(float(request.args.get("seconds", "1")))
        return f"done {name}\n"

    return app
