"""HTTP/1.1 by RFC 9112, against the real server process (serve.py: Granian + the app).

Each case writes raw bytes to a socket, so nothing between the test and the
server normalises the request. Where Granian itself cannot meet the RFC and no
setting fixes it, the app's WSGI front (app._Front) does; the one case neither
can fix is marked xfail and written up in docs/performance.md.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from servers import production_server

from app import VERSION
from routes import HEALTH_PATH, VERSION_PATH

Server = tuple[str, subprocess.Popen[bytes] | None]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # The benchmark's scorecard runs these same cases against other servers.
    external = os.environ.get("FINLEX_CONFORMANCE_URL")
    if external:
        yield external, None
        return
    with production_server() as running:
        yield running


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def connect(server: Server) -> socket.socket:
    parts = urlsplit(server[0])
    assert parts.hostname
    assert parts.port
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


class Conn:
    """A raw connection that reads responses one at a time, framed by Content-Length."""

    def __init__(self, server: Server) -> None:
        self.sock = connect(server)
        self.buffer = b""

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def read(self, head: bool = False) -> Reply:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"connection closed before a full response: {self.buffer!r}"
        raw_head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = raw_head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(status_line.split()[1])
        if head or status in (100, 204, 304):
            return Reply(status, headers, b"")
        # Self-delimiting: a length is given (this app never streams).
        assert "content-length" in headers, f"no Content-Length in {status_line}: {headers}"
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            assert self._fill(), "connection closed inside the body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Reply(status, headers, body)

    def closed_by_server(self, wait: float = 3) -> bool:
        """True when the server closes the connection (EOF) with nothing more to say."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b"" and self.buffer == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True


def exchange(server: Server, payload: bytes) -> Reply:
    with Conn(server) as conn:
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
def test_bad_host_is_400(server: Server, headers: bytes) -> None:
    reply = exchange(server, GET + b" HTTP/1.1\r\n" + headers + b"\r\n")
    assert reply.status == 400, reply
    assert served_afterwards(server)


@pytest.mark.parametrize(
    "host", [b"finlex.example.com", b"10.0.1.10:5000", b"[::1]:5000", b"localhost"]
)
def test_good_host_is_served(server: Server, host: bytes) -> None:
    reply = exchange(server, GET + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert (reply.status, reply.body) == (200, f"API version: {VERSION}\n".encode())


def test_http_1_0_needs_no_host(server: Server) -> None:
    assert exchange(server, GET + b" HTTP/1.0\r\n\r\n").status == 200


# --- message framing (RFC 9112 6) ---------------------------------------------------


def test_transfer_encoding_with_content_length_is_400_and_closes(server: Server) -> None:
    # The classic smuggling pair: the tail would be a second request to a
    # server that believed Content-Length.
    smuggled = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"0\r\n\r\n" + smuggled
    with Conn(server) as conn:
        conn.send(
            b"POST " + VERSION_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + body
        )
        assert conn.read().status == 400
        assert conn.closed_by_server(), "the connection stayed open after a framing error"
    assert served_afterwards(server)


def test_unknown_transfer_coding_is_rejected(server: Server) -> None:
    reply = exchange(
        server,
        b"POST " + VERSION_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: gzip\r\n\r\nxx",
    )
    assert reply.status in (400, 501), reply


def test_chunked_on_http_1_0_is_400(server: Server) -> None:
    reply = exchange(
        server,
        b"POST " + VERSION_PATH.encode() + b" HTTP/1.0\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    assert reply.status == 400, reply


@pytest.mark.parametrize("size", [b"zz", b"-1", b"0x10", b"1" * 40], ids=str)
def test_invalid_chunk_size_is_400(server: Server, size: bytes) -> None:
    with Conn(server) as conn:
        conn.send(
            b"POST " + VERSION_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\nabc\r\n0\r\n\r\n"
        )
        assert conn.read().status == 400
    assert served_afterwards(server)


def test_expect_100_continue_is_handled(server: Server) -> None:
    """The server answers without waiting for the body: either 100 and then a
    final status once the body arrives, or a final status straight away."""
    with Conn(server) as conn:
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
    with Conn(server) as conn:
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
    with Conn(server) as conn:
        conn.send(request_line + b"\r\nHost: x\r\n\r\n")
        reply = conn.read()  # asserts a Content-Length and reads exactly that
        assert reply.status == status
        conn.send(GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.read().status == 200


# --- persistence (RFC 9112 9.3) ---------------------------------------------------


def test_keep_alive_by_default_on_http_1_1(server: Server) -> None:
    with Conn(server) as conn:
        for _ in range(3):
            conn.send(GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.read().status == 200
        assert not conn.closed_by_server(wait=0.5)


def test_close_by_default_on_http_1_0(server: Server) -> None:
    with Conn(server) as conn:
        conn.send(GET + b" HTTP/1.0\r\n\r\n")
        assert conn.read().status == 200
        assert conn.closed_by_server()


def test_connection_close_is_honoured(server: Server) -> None:
    with Conn(server) as conn:
        conn.send(GET + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = conn.read()
        assert reply.status == 200
        assert reply.headers.get("connection") == "close"
        assert conn.closed_by_server()


@pytest.mark.xfail(
    # Not strict: how many of the 20 get an answer is a race inside Granian
    # (8 of 50 on a quiet machine; once all 20 on a loaded one), so an XPASS is
    # reported, not failed. make bench's scorecard counts this case as well.
    strict=False,
    reason="Granian (hyper, half_close off, no setting) drops a request whose client "
    "half-closed: a gap written up in docs/performance.md",
)
def test_half_close_after_a_complete_request_still_gets_the_response(server: Server) -> None:
    answered = 0
    attempts = 20
    for _ in range(attempts):
        with Conn(server) as conn:
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
    with Conn(server) as conn:
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
        with Conn(running) as conn:
            conn.send(GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.read().status == 200
            time.sleep(timeout - 1)
            conn.send(GET + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.read().status == 200, "closed before the keep-alive timeout"
            idle_since = time.monotonic()
            assert conn.closed_by_server(wait=timeout + 3), "never closed"
            closed_after = time.monotonic() - idle_since
        assert timeout - 0.2 <= closed_after <= timeout + 1.5, closed_after
