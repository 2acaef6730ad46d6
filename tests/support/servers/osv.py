"""A local advisory database that answers OSV's query API, for pip-audit's --osv-url.

OSV's public API cannot be reached from the machines that run the tests, so
the dependency scan gate is exercised against this stand-in: pip-audit runs
for real and talks OSV's protocol (``POST /v1/query`` with a package and a
version, answered with ``{"vulns": [...]}`` or ``{}``) to a server on
loopback that holds a few advisories from a fixture file. Like OSV, it
answers with the advisories whose ``affected`` entry names the package and
covers the version, by its explicit ``versions`` or an ``ECOSYSTEM`` range.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from support import TESTS

FIXTURE = TESTS / "release" / "fixtures" / "osv-advisories.json"
Advisory = Mapping[str, Any]


def _in_range(version: Version, events: Sequence[Mapping[str, str]]) -> bool:
    """OSV's ECOSYSTEM range: affected from an `introduced` until a `fixed` (or after
    a `last_affected`), events in version order."""
    affected = False
    for event in sorted(events, key=lambda e: Version(next(iter(e.values())))):
        kind, bound = next(iter(event.items()))
        point = Version(bound)
        if kind == "introduced" and version >= point:
            affected = True
        elif (kind == "fixed" and version >= point) or (
            kind == "last_affected" and version > point
        ):
            affected = False
    return affected


def affects(advisory: Advisory, name: str, version: str) -> bool:
    try:
        parsed = Version(version)
    except InvalidVersion:
        return False
    for affected in advisory.get("affected", []):
        package = affected.get("package", {})
        if package.get("ecosystem") != "PyPI" or canonicalize_name(package["name"]) != name:
            continue
        if version in affected.get("versions", []):
            return True
        for span in affected.get("ranges", []):
            if span.get("type") == "ECOSYSTEM" and _in_range(parsed, span["events"]):
                return True
    return False


@dataclass
class OsvServer:
    url: str  # the query endpoint, for --osv-url
    queries: list[tuple[str, str]] = field(default_factory=list)  # (name, version) asked


@contextmanager
def serving(advisories: Sequence[Advisory] | None = None) -> Iterator[OsvServer]:
    """Serve `advisories` (default: the fixture file) on loopback while the block runs."""
    database = list(advisories) if advisories is not None else json.loads(FIXTURE.read_text())
    lock = threading.Lock()
    state = OsvServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            if self.path != "/v1/query":
                self.send_error(404)
                return
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name = canonicalize_name(query["package"]["name"])
            version = str(query["version"])
            with lock:
                state.queries.append((name, version))
            vulns = [a for a in database if affects(a, name, version)]
            body = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
