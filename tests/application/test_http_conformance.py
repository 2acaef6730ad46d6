"""HTTP/1.1 by RFC 9112, against the real server process (serve.py: Granian + the app).

Each case writes raw bytes to a socket, so nothing between the test and the
server normalises the request. Where Granian itself cannot meet the RFC and no
setting fixes it, the app's WSGI front (front.Front) does. make bench's
scorecard runs these same cases against other servers (FINLEX_CONFORMANCE_URL);
the one case Granian fails there, a client's half-close, is pinned to
Granian's exact behaviour in test_half_close.py (docs/performance.md).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from rawhttp import Conn, Reply
from servers import production_server

from finlex_api.routes import HEALTH_PATH, VERSION, VERSION_PATH

Server = tuple[str, subprocess.Popen[bytes] | None]
# Set by make bench's scorecard: the base URL of the server under test.
SCORECARD_URL = os.environ.get("FINLEX_CONFORMANCE_URL")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    if SCORECARD_URL:
        yield SCORECARD_URL, None
        return
    with production_server() as running:
        yield running


def exchange(server: Server, payload: bytes) -> Reply:
    with Conn(server[0]) as conn:
        conn.send(payload)
        return conn.read()


def served_afterwards(server: Server) -> bool:
    """A new connection gets a normal answer: the bad request harmed nothing."""
    reply = exchange(server, b"GET " + HEALTH_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    return reply.status == 200


GET = b"GET " + VERSION_PATH.encode()


# --- Host (RFC 9112 3.2) --------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [b"", b"Host: a.example\r\nHost: b.example\r\n", b"Host: a b/c\r\n", b"Host: x@y\r\n"],
    ids=["missing", "duplicated", "space-and-slash", "userinfo"],
)
def test_bad_host_is_400_and_closes(server: Server, headers: bytes) -> None:
    with Conn(server[0]) as conn:
        # A second request behind the bad one: a 400 ends the connection, so it
        # is never read as the next request.
        conn.send(
            GET + b" HTTP/1.1\r\n" + headers + b"\r\n" + GET + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        replies, closed = conn.replies_until_close()
    assert [reply.status for reply in replies] == [400], replies
    assert closed, "the connection stayed open after a 400"
    assert served_afterwards(server)


@pytest.mark.parametrize(
    "host", [b"finlex.example.com", b"10.0.1.10:5000", b"[::1]:5000", b"localhost"]
)
def test_good_host_is_served(server: Server, host: bytes) -> None:
    reply = exchange(server, GET + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert (reply.status, reply.body) == (200, f"API version: {VERSION}\n".encode())


def test_http_1_0_needs_no_host(server: Server) -> None:
    assert exchange(server, GET + b" HTTP/1.0\r\n\r\n").status == 200


# --- message framing (RFC 9112 6 and 7) ---------------------------------------------

POST = b"POST " + VERSION_PATH.encode()
# Behind a request whose framing is in doubt: were it ever answered (the app
# has no /admin: 404), the server would have read the first request's body
# differently from a front end that believed another framing.
SMUGGLED = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"


def chunked(body: bytes, coding: bytes = b"chunked", more: bytes = b"") -> bytes:
    """A POST to /version whose body is framed by Transfer-Encoding."""
    return (
        POST
        + b" HTTP/1.1\r\nHost: x\r\n"
        + more
        + b"Transfer-Encoding: "
        + coding
        + b"\r\n\r\n"
        + body
    )


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        (b"chunked", b"3\r\nabc\r\n0\r\n\r\n"),
        (b"chunked", b"0\r\n\r\n"),
        (b"chunked", b"1\r\na\r\nA\r\n0123456789\r\n0\r\n\r\n"),
        (b"chunked", b"3;name=value\r\nabc\r\n0\r\n\r\n"),
        (b"chunked", b"3\r\nabc\r\n0\r\nX-Checksum: 1\r\n\r\n"),
        (b"Chunked", b"3\r\nabc\r\n0\r\n\r\n"),
    ],
    ids=["one-chunk", "empty", "hex-sizes", "extension", "trailer", "coding-case"],
)  # fmt: skip
def test_a_chunked_request_is_read_to_its_last_chunk_and_answered(
    server: Server, coding: bytes, body: bytes
) -> None:
    """RFC 9112 7.1: a recipient MUST be able to parse the chunked coding. The
    request is answered as any other (405: /version takes GET and HEAD), and
    it ends at its last chunk, so the request behind it on the same
    connection is the next one."""
    with Conn(server[0]) as conn:
        conn.send(chunked(body, coding) + GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        first = conn.read()
        assert first.status == 405, first
        assert "GET" in first.headers["allow"]
        second = conn.read()
        assert (second.status, second.body) == (200, f"API version: {VERSION}\n".encode())


def test_transfer_encoding_with_content_length_is_never_smuggled(server: Server) -> None:
    """RFC 9112 6.1: a server MAY reject a request with both Transfer-Encoding
    and Content-Length, or process it by Transfer-Encoding alone; either way it
    MUST close the connection after responding. The tail, which a server that
    believed Content-Length would take for a second request, is never answered."""
    with Conn(server[0]) as conn:
        conn.send(chunked(b"0\r\n\r\n" + SMUGGLED, more=b"Content-Length: 5\r\n"))
        replies, closed = conn.replies_until_close()
    assert [reply.status for reply in replies] in ([400], [405]), replies
    assert closed, "the connection stayed open after Transfer-Encoding with Content-Length"
    assert served_afterwards(server)


def test_chunked_not_last_is_400_and_closes(server: Server) -> None:
    """RFC 9112 6.3: when chunked is not the final coding the body's length
    cannot be known: the server MUST answer 400 and close."""
    with Conn(server[0]) as conn:
        conn.send(chunked(b"3\r\nabc\r\n0\r\n\r\n" + SMUGGLED, coding=b"gzip"))
        replies, closed = conn.replies_until_close()
    assert [reply.status for reply in replies] == [400], replies
    assert closed
    assert served_afterwards(server)


@pytest.mark.parametrize(
    ("coding", "statuses"),
    [(b"gzip, chunked", [501]), (b"x-unknown, chunked", [501]), (b"chunked, chunked", [400])],
    ids=["gzip-then-chunked", "unknown-then-chunked", "chunked-twice"],
)
def test_a_coding_the_server_does_not_apply_is_refused_and_closes(
    server: Server, coding: bytes, statuses: list[int]
) -> None:
    """Chunked is last, so the body can be framed, but the server applies no
    other coding: RFC 9112 6.1 says 501 for a coding it does not understand. A
    body chunked twice breaks 6.1's "MUST NOT apply chunked more than once":
    400. The body was not read as the sender meant it, so the connection ends."""
    with Conn(server[0]) as conn:
        conn.send(chunked(b"3\r\nabc\r\n0\r\n\r\n" + SMUGGLED, coding=coding))
        replies, closed = conn.replies_until_close()
    assert [reply.status for reply in replies] in (statuses, [400]), replies
    assert closed, "the connection stayed open after a refused transfer coding"
    assert served_afterwards(server)


def test_chunked_on_http_1_0_is_400_and_closes(server: Server) -> None:
    with Conn(server[0]) as conn:
        conn.send(POST + b" HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        replies, closed = conn.replies_until_close()
    assert [reply.status for reply in replies] == [400], replies
    assert closed


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",
        b"-1\r\nabc\r\n0\r\n\r\n",
        b"0x10\r\nabc\r\n0\r\n\r\n",
        b"1" * 40 + b"\r\nabc\r\n0\r\n\r\n",
        b"5\r\nabc\r\n0\r\n\r\n",
        b"3\r\nabcX0\r\n\r\n",
    ],
    ids=["not-hex", "negative", "0x-prefix", "overflow", "short-chunk", "no-crlf-after-data"],
)  # fmt: skip
def test_an_invalid_chunk_ends_the_connection(server: Server, body: bytes) -> None:
    """A chunk that breaks the grammar leaves no way to know where the request
    ends: the server closes the connection instead of reading on, so nothing
    after it is taken for a request. (Whether it answers first, and with what,
    the RFC leaves open: 2.2 says SHOULD 400; see test_chunked_bodies.py for
    what the shipped server does.)"""
    with Conn(server[0]) as conn:
        conn.send(chunked(body + SMUGGLED))
        replies, closed = conn.replies_until_close()
    assert [reply.status for reply in replies] in ([], [400], [405]), replies
    assert closed, "the connection stayed open after an invalid chunk"
    assert served_afterwards(server)


def test_expect_100_continue_is_handled(server: Server) -> None:
    """The server answers without waiting for the body: either 100 and then a
    final status once the body arrives, or a final status straight away."""
    with Conn(server[0]) as conn:
        conn.send(
            b"POST " + VERSION_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 3\r\nExpect: 100-continue\r\n\r\n"
        )
        first = conn.read()
        if first.status == 100:
            conn.send(b"abc")
            first = conn.read()
        assert first.status == 405, first  # /version takes GET and HEAD only
        assert "GET" in first.headers["allow"]


def test_head_response_has_no_body(server: Server) -> None:
    with Conn(server[0]) as conn:
        conn.send(b"HEAD " + VERSION_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        head = conn.read(head=True)
        assert head.status == 200
        assert int(head.headers["content-length"]) == len(f"API version: {VERSION}\n")
        # The next bytes on the connection are the next response, not a body.
        conn.send(GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.read().body == f"API version: {VERSION}\n".encode()


@pytest.mark.parametrize(
    ("request_line", "status"),
    [(b"GET /nope HTTP/1.1", 404), (b"DELETE /version HTTP/1.1", 405)],
    ids=["404", "405"],
)
def test_error_responses_are_self_delimiting(
    server: Server, request_line: bytes, status: int
) -> None:
    with Conn(server[0]) as conn:
        conn.send(request_line + b"\r\nHost: x\r\n\r\n")
        reply = conn.read()  # asserts a Content-Length and reads exactly that
        assert reply.status == status
        conn.send(GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.read().status == 200


# --- persistence (RFC 9112 9.3) ---------------------------------------------------


def test_keep_alive_by_default_on_http_1_1(server: Server) -> None:
    with Conn(server[0]) as conn:
        for _ in range(3):
            conn.send(GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.read().status == 200
        assert not conn.closed_by_server(wait=0.5)


def test_close_by_default_on_http_1_0(server: Server) -> None:
    with Conn(server[0]) as conn:
        conn.send(GET + b" HTTP/1.0\r\n\r\n")
        assert conn.read().status == 200
        assert conn.closed_by_server()


def test_connection_close_is_honoured(server: Server) -> None:
    with Conn(server[0]) as conn:
        conn.send(GET + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = conn.read()
        assert reply.status == 200
        assert reply.headers.get("connection") == "close"
        assert conn.closed_by_server()


if SCORECARD_URL:
    # The scorecard's case only: Granian as shipped fails it, and what it does
    # instead is asserted exactly, in every test run, by test_half_close.py.

    def test_half_close_after_a_complete_request_still_gets_the_response(
        server: Server,
    ) -> None:
        """A client may close its sending side (a TCP half-close) once its
        request is complete; the server still owes it the response."""
        answered = 0
        attempts = 20
        for _ in range(attempts):
            with Conn(server[0]) as conn:
                conn.send(GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                conn.sock.shutdown(socket.SHUT_WR)
                with contextlib.suppress(AssertionError, ConnectionResetError, TimeoutError):
                    answered += conn.read().status == 200
        assert answered == attempts, f"{answered} of {attempts} half-closed requests answered"


# --- limits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        GET + b" HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
        GET + b" HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(500))
        + b"\r\n",
    ],
    ids=["long-request-line", "big-header", "header-flood"],
)  # fmt: skip
def test_oversized_requests_get_4xx_and_the_server_goes_on(server: Server, payload: bytes) -> None:
    with Conn(server[0]) as conn:
        # The server may answer and close before the whole payload is sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.send(payload)
        reply = conn.read()
    assert 400 <= reply.status < 500, reply
    assert served_afterwards(server)


def test_idle_keep_alive_connection_lives_until_the_configured_timeout() -> None:
    """The relation the ALB needs, proven on a short configured value instead of
    60 s: a connection idle for less than FINLEX_KEEPALIVE_TIMEOUT is still
    served, and the server closes it only after that time."""
    timeout = 2
    with production_server(extra_env={"FINLEX_KEEPALIVE_TIMEOUT": str(timeout)}) as running:
        with Conn(running[0]) as conn:
            conn.send(GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.read().status == 200
            time.sleep(timeout - 1)
            conn.send(GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.read().status == 200, "closed before the keep-alive timeout"
            idle_since = time.monotonic()
            assert conn.closed_by_server(wait=timeout + 3), "never closed"
            closed_after = time.monotonic() - idle_since
        assert timeout - 0.2 <= closed_after <= timeout + 1.5, closed_after
