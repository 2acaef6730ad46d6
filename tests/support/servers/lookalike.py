"""A finlex look-alike on loopback for the release tool's tests: /healthz and
/version answer 200 with the repository's version and a given revision header."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Callable, Iterator

from finlex_api import routes
from support import REPO_ROOT

VERSION = (REPO_ROOT / "application" / "VERSION").read_text(encoding="utf-8").strip()
COMMIT = "9b80cab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"


@contextlib.contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """The base URL of a threaded HTTP server on loopback that answers with `handler`."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def revision_server(
    revision_of: Callable[[int], str | None],
    paths: list[str] | None = None,
    body: bytes | None = None,
) -> type[http.server.BaseHTTPRequestHandler]:
    """A finlex look-alike whose n-th answer carries revision_of(n) (no header for
    None) and `body` (the repository's version as JSON unless given); it records
    each request target in `paths`."""
    counter = iter(range(1_000_000))
    answer = json.dumps({"version": VERSION}).encode() if body is None else body

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if paths is not None:
                paths.append(self.path)
            self.send_response(200)
            revision = revision_of(next(counter))
            if revision is not None:
                self.send_header(routes.REVISION_HEADER, revision)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def live(revision: str = COMMIT) -> Iterator[str]:
    """The base URL of a server whose every answer is 200 from `revision`."""
    with http_server(revision_server(lambda _n: revision)) as url:
        yield url
