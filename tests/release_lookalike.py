"""A finlex look-alike on loopback for the release tool's tests: /healthz and
/version answer 200 with the repository's version and a given revision header."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

from finlex_api import routes

VERSION = (
    (Path(__file__).resolve().parent.parent / "application" / "VERSION")
    .read_text(encoding="utf-8")
    .strip()
)
COMMIT = "9b80cab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"


@contextlib.contextmanager
def live(revision: str = COMMIT) -> Iterator[str]:
    """The base URL of a server whose every answer is 200 from `revision`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"version": VERSION}).encode()
            self.send_response(200)
            self.send_header(routes.REVISION_HEADER, revision)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
