"""The WSGI layer in front of Flask: the HTTP/1.1 framing checks Granian leaves to
the application, and the access log (one line per request, errors included).
"""

from __future__ import annotations

import io
import json
import re
import time
from http import HTTPStatus
from typing import Any

from finlex_api.logs import JsonLines, encode


class Front:
    """WSGI middleware in front of Flask: HTTP/1.1 checks Granian leaves to
    the application, and the access log (one line per request, errors included).

    - RFC 9112 3.2: an HTTP/1.1 request without Host, with more than one
      (Granian joins them with a comma), or with an invalid one gets 400.
    - RFC 9112 6.1 and 7.1: a body framed by Transfer-Encoding is taken when
      chunked is its one coding (Granian decodes it). Chunked not last, or
      sent twice, gets 400; another coding before chunked gets 501 (none is
      applied here); Transfer-Encoding on HTTP/1.0 gets 400. Granian already
      refuses the first and the last itself; the checks stand for any server.
    - A chunked body is read here, within the body limit (413 above it), and
      the app gets it as a body of known length: Content-Length set and
      Transfer-Encoding removed, as RFC 9112 7.1.3's decoding does. So the
      limit holds for both framings, and routes see one kind of body.
    - A 400, 413 or 501 closes the connection (Connection: close): what the
      client sent after it is never read as a next request.

    Two things Granian 2.8.7 does not let any WSGI layer see (measured, see
    docs/performance.md): Content-Length sent beside Transfer-Encoding (it
    drops the field, reads by chunked alone and closes after the response,
    which is RFC 9112 6.1's second choice; the ALB refuses the pair with 400
    before it reaches a task), and a chunk that breaks the grammar (it ends
    the body there and closes after the response: what it decoded before the
    error, never anything of a broken size line, is the body the app sees).
    """

    def __init__(self, app: Any, access: JsonLines, max_body_bytes: int) -> None:
        self.app = app
        self.access = access
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        status = ["500"]

        def start(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = line
            if line[:3] in _CLOSING and not any(n.lower() == "connection" for n, _ in headers):
                headers = [*headers, ("Connection", "close")]
            return start_response(line, headers, exc_info)

        problem = _framing_problem(environ) or _take_chunked_body(environ, self.max_body_bytes)
        body = _reject(environ, start, *problem) if problem else self.app(environ, start)
        if self.access.enabled:
            method = environ.get("REQUEST_METHOD", "")
            path = environ.get("PATH_INFO", "").encode("latin-1").decode(errors="replace")
            fields = (
                f',"method":{encode(method)},"path":{encode("/" + path.lstrip("/"))}'
                f',"status":{int(status[0][:3])}'
                f',"duration_ms":{round((time.perf_counter() - started) * 1000, 3)!r}'
            )
            trace = environ.get("HTTP_X_AMZN_TRACE_ID")
            if trace:
                fields += f',"trace_id":{encode(trace)}'
            self.access.write(fields)
        return body


# Statuses after which the rest of the connection cannot be trusted to start
# a new request: the request's framing or body was refused, or left unread.
_CLOSING = frozenset({"400", "413", "501"})

# A Host value: a DNS name or IPv4 address, or an IPv6 literal, and an optional
# port (RFC 9112 3.2, RFC 3986 3.2.2; stricter than reg-name on purpose: no
# real host name holds a comma, which is how duplicated Host headers arrive).
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)

Problem = tuple[int, str]  # (status, message)


def _framing_problem(environ: dict[str, Any]) -> Problem | None:
    if environ.get("SERVER_PROTOCOL") == "HTTP/1.1":
        host = environ.get("HTTP_HOST", "")
        if not host:
            return 400, "missing host header"
        if not _HOST.fullmatch(host):
            return 400, "invalid host header"
    coding = environ.get("HTTP_TRANSFER_ENCODING")
    if coding is None:
        return None
    if environ.get("SERVER_PROTOCOL") != "HTTP/1.1":
        return 400, "transfer-encoding needs http/1.1"
    codings = _transfer_codings(coding)
    if not codings or codings[-1] != "chunked":
        return 400, "chunked is not the final transfer coding"
    if codings.count("chunked") > 1:
        return 400, "chunked applied more than once"
    if len(codings) > 1:
        return 501, "transfer coding not implemented"
    return None


def _transfer_codings(value: str) -> list[str]:
    """The codings of a Transfer-Encoding value, lower case: Granian joins
    repeated fields with commas, and empty list elements are ignored (RFC 9110
    5.6.1). A coding with parameters is kept whole, so it never equals chunked."""
    return [part.strip(" \t").lower() for part in value.split(",") if part.strip(" \t")]


def _take_chunked_body(environ: dict[str, Any], limit: int) -> Problem | None:
    """Read a chunked body (already decoded by the server) of at most `limit`
    bytes and give it to the app with its Content-Length; 413 above `limit`."""
    if "HTTP_TRANSFER_ENCODING" not in environ:
        return None
    stream = environ["wsgi.input"]
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(limit + 1 - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    if size > limit:
        return 413, "request entity too large"
    body = b"".join(parts)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    del environ["HTTP_TRANSFER_ENCODING"]
    return None


def _reject(environ: dict[str, Any], start_response: Any, status: int, message: str) -> list[bytes]:
    if "application/json" in environ.get("HTTP_ACCEPT", ""):
        body = json.dumps({"error": message, "status": status}, separators=(",", ":")).encode()
        content_type = "application/json"
    else:
        body = f"{status} {message}\n".encode()
        content_type = "text/plain; charset=utf-8"
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [body]
