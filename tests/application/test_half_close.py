"""A client that half-closes (shuts down its sending side) after a complete
request: what the shipped server does, asserted exactly.

Granian 2.8 runs hyper with half_close off and has no setting for it: when
hyper reads the client's FIN it closes the connection at once, with nothing
written, whether or not the response is ready (the request may still run in
the app, or not, as the race falls). A response that is ready before hyper
reads the FIN goes out, so for a fast route the outcome is a race
(docs/performance.md gives the counts); a route that takes SLOW_SECONDS makes
it certain. Any change fails here: a Granian that answers (the RFC's
behaviour, the scorecard's case in test_http_conformance.py) as much as one
that stops closing or waits.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rawhttp import Conn
from servers import production_server

from finlex_api.routes import VERSION_PATH

SLOW_SECONDS = 3


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    markers = tmp_path_factory.mktemp("half-close")
    with production_server(
        target="slow_app:create_app",
        extra_env={
            "SLOW_APP_MARKERS": str(markers),
            "PYTHONPATH": str(Path(__file__).parent),
        },
    ) as (base, _process):
        yield base, markers


def half_closed(base: str, target: str) -> tuple[list[int], bool, float]:
    """Send one request, shut down the sending side: (statuses received,
    closed cleanly by the server, seconds from the FIN to the close)."""
    with Conn(base) as conn:
        conn.send(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        conn.sock.shutdown(socket.SHUT_WR)
        sent = time.monotonic()
        replies, closed = conn.replies_until_close(wait=SLOW_SECONDS + 2)
        return [reply.status for reply in replies], closed, time.monotonic() - sent


@pytest.mark.parametrize("attempt", range(3))
def test_a_half_closed_request_gets_no_response_and_is_closed_at_the_fin(
    slow_server: tuple[str, Path], attempt: int
) -> None:
    statuses, closed, after = half_closed(
        slow_server[0], f"/slow?seconds={SLOW_SECONDS}&id=half-{attempt}"
    )
    assert statuses == [], f"answered {statuses}: Granian now serves half-closed clients"
    assert closed, "the server did not close the half-closed connection"
    # Closed at the FIN, long before the response could be ready.
    assert after < SLOW_SECONDS - 1, f"closed {after:.2f} s after the FIN"


def test_a_fast_response_either_wins_the_race_or_is_dropped(
    slow_server: tuple[str, Path],
) -> None:
    """Never anything but one whole 200 or nothing, and always a close."""
    outcomes = [half_closed(slow_server[0], VERSION_PATH)[:2] for _ in range(20)]
    assert {(tuple(statuses), closed) for statuses, closed in outcomes} <= {
        ((), True),
        ((200,), True),
    }, outcomes
