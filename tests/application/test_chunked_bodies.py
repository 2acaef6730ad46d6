"""What a route of the shipped server sees of a request body framed by
Transfer-Encoding, read from the route itself (echo_app's /echo).

Granian 2.8.7 (hyper underneath) decodes chunked bodies, refuses 400 a
Transfer-Encoding whose last coding is not chunked and one on HTTP/1.0, hides
Content-Length when Transfer-Encoding comes with it (and closes after the
response), and turns a chunk that breaks the grammar into the end of the body
(and closes). front.Front refuses the codings Granian lets through but nothing
here applies, reads a chunked body within the body limit and hands it to the
app with the Content-Length it turned out to have, and closes the connection
after every 400. docs/performance.md gives the figures and what is left.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rawhttp import Conn, Reply
from servers import production_server

from finlex_api.routes import VERSION, VERSION_PATH

LIMIT = 64  # FINLEX_MAX_BODY_BYTES of the server under test
ECHO_PATH = "/echo"  # echo_app's route, served in the server's process
SMUGGLED = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"
NEXT = b"GET " + VERSION_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with production_server(
        target="echo_app:create_app",
        extra_env={
            "FINLEX_MAX_BODY_BYTES": str(LIMIT),
            "PYTHONPATH": str(Path(__file__).parent),
        },
    ) as (url, _process):
        yield url


def post(body: bytes, headers: bytes = b"Transfer-Encoding: chunked\r\n") -> bytes:
    return b"POST " + ECHO_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n" + body


def seen(reply: Reply) -> dict[str, object]:
    """What /echo reports: the body it read, and the framing fields it was given."""
    assert reply.status == 200, reply
    result: dict[str, object] = json.loads(reply.body)
    return result


def is_version(reply: Reply) -> bool:
    return (reply.status, reply.body) == (200, f"API version: {VERSION}\n".encode())


@pytest.mark.parametrize(
    ("body", "decoded"),
    [
        (b"3\r\nabc\r\n0\r\n\r\n", "abc"),
        (b"0\r\n\r\n", ""),
        (b"1\r\na\r\nA\r\n0123456789\r\n0\r\n\r\n", "a0123456789"),
        (b"3;name=value\r\nabc\r\n0\r\n\r\n", "abc"),
        (b"3\r\nabc\r\n0\r\nX-Checksum: 1\r\n\r\n", "abc"),
        (b"20\r\n" + b"x" * 32 + b"\r\n20\r\n" + b"y" * 32 + b"\r\n0\r\n\r\n", "x" * 32 + "y" * 32),
    ],
    ids=["one-chunk", "empty", "hex-sizes", "extension", "trailer", "exactly-the-limit"],
)  # fmt: skip
def test_the_route_reads_a_chunked_body_decoded_with_its_length(
    base: str, body: bytes, decoded: str
) -> None:
    with Conn(base) as conn:
        conn.send(post(body) + NEXT)
        assert seen(conn.read()) == {
            "body": decoded,
            "content_length": str(len(decoded)),
            "transfer_encoding": None,
        }
        assert is_version(conn.read()), "the request behind the chunked one was not served"


def test_a_chunked_body_over_the_limit_is_413_and_closes(base: str) -> None:
    body = b"%x\r\n" % (LIMIT + 1) + b"z" * (LIMIT + 1) + b"\r\n0\r\n\r\n"
    with Conn(base) as conn:
        conn.send(post(body) + NEXT)
        replies, closed = conn.replies_until_close()
    assert [reply.status for reply in replies] == [413], replies
    assert closed


@pytest.mark.parametrize(
    "headers",
    [
        b"Transfer-Encoding: chunked\r\nContent-Length: 40\r\n",
        b"Content-Length: 40\r\nTransfer-Encoding: chunked\r\n",
    ],
    ids=["te-first", "cl-first"],
)
def test_content_length_beside_transfer_encoding_is_ignored_and_the_connection_ends(
    base: str, headers: bytes
) -> None:
    """Granian drops Content-Length (the route cannot tell that one was sent),
    reads by the chunked coding alone and closes after the response: RFC 9112
    6.1's second choice. The 400 this pair gets in production comes from the
    ALB (desync mitigation "strictest"), before it reaches a task."""
    with Conn(base) as conn:
        conn.send(post(b"3\r\nabc\r\n0\r\n\r\n" + SMUGGLED, headers) + NEXT)
        replies, closed = conn.replies_until_close()
    assert len(replies) == 1, replies
    assert seen(replies[0]) == {"body": "abc", "content_length": "3", "transfer_encoding": None}
    assert closed


@pytest.mark.parametrize(
    ("coding", "status"),
    [
        (b"gzip", 400),  # Granian: chunked is not the last coding (RFC 9112 6.3: MUST 400)
        (b"gzip, chunked", 501),  # front.Front: a coding it does not apply (RFC 9112 6.1)
        (b"gzip\r\nTransfer-Encoding: chunked", 501),  # the same, as two fields
        (b"chunked, chunked", 400),  # front.Front: chunked twice (RFC 9112 6.1: MUST NOT)
        (b", chunked", None),  # an empty list element is ignored (RFC 9110 5.6.1)
    ],
    ids=["gzip", "gzip-then-chunked", "two-fields", "chunked-twice", "empty-element"],
)
def test_each_transfer_coding_gets_its_exact_answer(
    base: str, coding: bytes, status: int | None
) -> None:
    with Conn(base) as conn:
        conn.send(post(b"3\r\nabc\r\n0\r\n\r\n", b"Transfer-Encoding: " + coding + b"\r\n") + NEXT)
        if status is None:
            assert seen(conn.read())["body"] == "abc"
            assert is_version(conn.read())
            return
        replies, closed = conn.replies_until_close()
    assert [reply.status for reply in replies] == [status], replies
    assert replies[0].headers.get("connection") == "close"
    assert closed


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",
        b"-1\r\nabc\r\n0\r\n\r\n",
        b"0x10\r\nabc\r\n0\r\n\r\n",
        b"1" * 40 + b"\r\nabc\r\n0\r\n\r\n",
        b"3\nabc\n0\n\n",
    ],
    ids=["not-hex", "negative", "0x-prefix", "overflow", "bare-lf"],
)  # fmt: skip
def test_a_malformed_chunk_size_never_reaches_the_route_as_a_body(base: str, body: bytes) -> None:
    """The route reads an empty body, never the bytes of the broken chunk or
    what follows it, and the connection ends after the answer: what came after
    is never read as a request. The status is the route's (200 here, 405 on
    /version): Granian reports the broken chunk to nobody, so no 400 can be
    sent for it (docs/performance.md)."""
    with Conn(base) as conn:
        conn.send(post(body + SMUGGLED) + NEXT)
        replies, closed = conn.replies_until_close()
    assert [seen(reply) for reply in replies] == [
        {"body": "", "content_length": "0", "transfer_encoding": None}
    ]
    assert closed


@pytest.mark.parametrize(
    ("body", "read"),
    [
        (b"5\r\nabc\r\n0\r\n\r\n", "abc\r\n"),
        (b"3\r\nabcX0\r\n\r\n", "abc"),
        (b"3\r\nabc\r\nzz\r\nrest\r\n0\r\n\r\n", "abc"),
    ],
    ids=["short-chunk", "no-crlf-after-data", "broken-second-size"],
)  # fmt: skip
def test_a_chunk_broken_after_its_size_line_leaves_what_was_read_as_the_body(
    base: str, body: bytes, read: str
) -> None:
    """The gap that remains, pinned so that a Granian that reports the error
    fails here: Granian hands on a chunk's data before it checks the CRLF
    after it, and then ends the body at the error as if it were the end, so
    the data read so far reaches the route as if it were the whole body (the
    connection still ends after the answer). No route of the API reads a
    body; docs/performance.md says what a route that does must not assume."""
    with Conn(base) as conn:
        conn.send(post(body + SMUGGLED) + NEXT)
        replies, closed = conn.replies_until_close()
    assert [seen(reply) for reply in replies] == [
        {"body": read, "content_length": str(len(read)), "transfer_encoding": None}
    ]
    assert closed


def test_every_400_closes_the_connection(base: str) -> None:
    """A 400 of the app's own (a body that is not the JSON the route asked
    for) ends the connection as front.Front's and Granian's do."""
    with Conn(base) as conn:
        conn.send(
            b"POST " + ECHO_PATH.encode() + b"?json=1 HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 3\r\n\r\n{{{" + NEXT
        )
        replies, closed = conn.replies_until_close()
    assert [reply.status for reply in replies] == [400], replies
    assert replies[0].headers.get("connection") == "close"
    assert closed


def test_the_server_process_is_still_serving(base: str) -> None:
    with Conn(base) as conn:
        conn.send(NEXT)
        assert is_version(conn.read())
