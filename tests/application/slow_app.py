"""The real finlex app plus one test-only route that takes as long as asked.

The graceful-shutdown test serves this through the production launcher, so
the server, its settings and its signal handling are exactly the shipped ones.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Flask, request

from app import create_app as create_finlex_app


def create_app() -> Flask:
    marker_dir = Path(os.environ["SLOW_APP_MARKERS"])
    startup = float(os.environ.get("SLOW_APP_STARTUP", "0"))
    if startup:
        # A worker still loading its app: the window in which a stop once got lost.
        (marker_dir / f"loading-{os.getpid()}").touch()
        time.sleep(startup)
    app = create_finlex_app()

    @app.get("/slow")
    def slow() -> str:
        name = request.args.get("id", "anon")
        (marker_dir / name).touch()  # tells the test the request is in flight
        time.sleep(float(request.args.get("seconds", "1")))
        return f"done {name}\n"

    return app
