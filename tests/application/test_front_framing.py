"""finlex_api.front.Front's framing checks as a WSGI layer, under any server.

The process tests (test_http_conformance.py, test_chunked_bodies.py) show
what reaches the app through Granian; some of these cases Granian refuses
before the app sees them, so they are shown here, as Flask's development
server (``python3 app.py``) or another WSGI server would hand them on.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from finlex_api.front import Front
from finlex_api.logs import JsonLines

LIMIT = 16


class Inner:
    """The app behind Front: records the environ it got, answers `status`."""

    def __init__(self, status: str = "200 OK") -> None:
        self.status = status
        self.environ: dict[str, Any] | None = None
        self.body = b""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.environ = environ
        self.body = environ["wsgi.input"].read()
        start_response(self.status, [("Content-Length", "0")])
        return [b""]


def call(
    inner: Inner, coding: str | None = None, body: bytes = b"", protocol: str = "HTTP/1.1"
) -> tuple[str, dict[str, str]]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "SERVER_PROTOCOL": protocol,
        "HTTP_HOST": "x",
        "wsgi.input": io.BytesIO(body),
    }
    if coding is not None:
        environ["HTTP_TRANSFER_ENCODING"] = coding
    got: list[tuple[str, list[tuple[str, str]]]] = []
    front = Front(inner, JsonLines("finlex.access", "info", "critical"), LIMIT)
    front(environ, lambda status, headers, exc_info=None: got.append((status, headers)))
    status, headers = got[0]
    return status, {name.lower(): value for name, value in headers}


@pytest.mark.parametrize(
    ("coding", "protocol", "status"),
    [
        ("gzip", "HTTP/1.1", "400 Bad Request"),
        ("chunked, gzip", "HTTP/1.1", "400 Bad Request"),
        ("", "HTTP/1.1", "400 Bad Request"),
        ("chunked;x=1", "HTTP/1.1", "400 Bad Request"),
        ("chunked, chunked", "HTTP/1.1", "400 Bad Request"),
        ("gzip, chunked", "HTTP/1.1", "501 Not Implemented"),
        ("chunked", "HTTP/1.0", "400 Bad Request"),
    ],
)
def test_a_transfer_encoding_the_app_cannot_take_is_refused_and_closes(
    coding: str, protocol: str, status: str
) -> None:
    inner = Inner()
    got, headers = call(inner, coding, b"abc", protocol)
    assert (got, headers["connection"]) == (status, "close")
    assert inner.environ is None, "the request reached the app"


@pytest.mark.parametrize("coding", ["chunked", "Chunked", " chunked ", ", chunked"])
def test_a_chunked_body_reaches_the_app_with_its_length(coding: str) -> None:
    inner = Inner()
    status, headers = call(inner, coding, b"a" * LIMIT)
    assert status == "200 OK"
    assert "connection" not in headers
    assert inner.environ is not None
    assert inner.body == b"a" * LIMIT
    assert inner.environ["CONTENT_LENGTH"] == str(LIMIT)
    assert "HTTP_TRANSFER_ENCODING" not in inner.environ


def test_a_chunked_body_over_the_limit_is_413_and_closes() -> None:
    inner = Inner()
    status, headers = call(inner, "chunked", b"a" * (LIMIT + 1))
    assert (status[:3], headers["connection"]) == ("413", "close")
    assert inner.environ is None


def test_a_body_without_transfer_encoding_is_left_to_the_app() -> None:
    inner = Inner()
    assert call(inner, None, b"a" * (LIMIT + 5))[0] == "200 OK"
    assert inner.body == b"a" * (LIMIT + 5)  # Content-Length bodies: Flask's own limit


@pytest.mark.parametrize(
    ("status", "closes"),
    [("400 Bad Request", True), ("413 Request Entity Too Large", True), ("404 Not Found", False)],
)
def test_the_app_s_own_refusals_close_the_connection(status: str, closes: bool) -> None:
    headers = call(Inner(status))[1]
    assert ("connection" in headers) is closes
