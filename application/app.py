"""The finlex API: a Flask application that reports its version.

Start it the seed's way with ``python3 app.py`` (Flask's development server on
port 5000), or in production with ``python3 serve.py`` (see serve.py).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import multiprocessing.util
import os
import re
import select
import signal
import stat
import sys
import threading
import time
import traceback
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

import settings as config
from routes import HEALTH_PATH, REVISION_HEADER, VERSION_PATH

# The single source of the version: application/VERSION.
VERSION = Path(__file__).with_name("VERSION").read_text(encoding="utf-8").strip()
ACCESS_LOGGER = "finlex.access"
ERROR_LOGGER = "finlex.error"
_OFFERED = ("text/plain", "application/json")


def _wants_json() -> bool:
    """True when the client prefers JSON to plain text (text wins ties)."""
    return request.accept_mimetypes.best_match(_OFFERED, default="text/plain") == (
        "application/json"
    )


def _plain(body: str, status: int = 200) -> Response:
    return Response(body + "\n", status=status, mimetype="text/plain")


_LEVELS = {name: number for number, name in enumerate(config.LOG_LEVELS)}


class LineBatcher:
    """Batches whole log lines into few writes to file descriptor 1.

    Each write holds whole lines and at most PIPE_BUF bytes (one longer line goes
    alone), so writes from several worker processes to one pipe never interleave
    inside a line. A batch is written when the next line would not fit, at most
    `interval` seconds after its first line (a daemon thread), and at exit,
    including the exit of a Granian worker process (multiprocessing runs its
    finalizers, not atexit). Nothing is lost unless the process is SIGKILLed,
    and then at most `interval` seconds of lines.
    """

    def __init__(self, fd: int = 1, limit: int = select.PIPE_BUF, interval: float = 0.1) -> None:
        self.fd = fd
        self.limit = limit
        self.interval = interval
        self.batching = _is_pipe_or_file(fd)
        self._lines: list[bytes] = []
        self._size = 0
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    def add(self, line: bytes) -> None:
        with self._lock:
            if self._size + len(line) > self.limit:
                self._write_locked()
            self._lines.append(line)
            self._size += len(line)
            if self._flusher is None:
                self._start_locked()

    def flush(self) -> None:
        with self._lock:
            self._write_locked()

    def _write_locked(self) -> None:
        if not self._lines:
            return
        data = b"".join(self._lines)
        self._lines.clear()
        self._size = 0
        with contextlib.suppress(OSError):  # logging must never break a request
            while data:
                data = data[os.write(self.fd, data) :]

    def _start_locked(self) -> None:
        self._flusher = threading.Thread(target=self._run, name="log-flusher", daemon=True)
        self._flusher.start()
        atexit.register(self.flush)
        multiprocessing.util.Finalize(None, self.flush, exitpriority=10)

    def _run(self) -> None:
        # Signals are for the main thread: Python runs its handlers only there,
        # and a SIGTERM the kernel hands to this thread instead could wait
        # unnoticed while the main thread sleeps (Granian's worker does).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        while True:
            time.sleep(self.interval)
            self.flush()


def _is_pipe_or_file(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


LINES = LineBatcher()
_encode = json.encoder.encode_basestring_ascii  # the C encoder json.dumps uses for str


class JsonLines:
    """Writes one JSON object per line to stdout, as CloudWatch Logs reads it.

    The access log writes a line per request, so this is the cheap path: no
    `logging` records or handlers, one strftime per second instead of per line,
    and the C string encoder. The fields and their order are those `json.dumps`
    of the same dict would give. When stdout is the process's own pipe or file
    (a container's log pipe), whole lines are batched by LINES (see there);
    otherwise (a terminal, a test's captured stdout) each line is written and
    flushed at once.
    """

    __slots__ = ("_prefix", "_second", "_stamp", "enabled")

    def __init__(self, logger: str, level: str, threshold: str) -> None:
        self.enabled = _LEVELS[level] >= _LEVELS[threshold]
        self._prefix = f'","level":{_encode(level)},"logger":{_encode(logger)}'
        self._second = -1
        self._stamp = ""

    def _timestamp(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:  # a race here only recomputes the same string
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
            self._second = second
        return self._stamp

    def write(self, fields: str) -> None:
        """`fields`: the record's own members, already encoded, starting with a comma."""
        line = '{"ts":"' + self._timestamp() + self._prefix + fields + "}\n"
        stream = sys.stdout
        if stream is sys.__stdout__ and LINES.batching:
            LINES.add(line.encode())
            return
        try:
            stream.write(line)
            stream.flush()
        except (OSError, ValueError):  # logging must never break a request
            pass

    def record(self, values: dict[str, object]) -> None:
        """Any JSON-serialisable members, for the rare lines (errors)."""
        if self.enabled:
            self.write("," + json.dumps(values, separators=(",", ":"))[1:-1])


class _Front:
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
                f',"method":{_encode(method)},"path":{_encode("/" + path.lstrip("/"))}'
                f',"status":{int(status[0][:3])}'
                f',"duration_ms":{round((time.perf_counter() - started) * 1000, 3)!r}'
            )
            trace = environ.get("HTTP_X_AMZN_TRACE_ID")
            if trace:
                fields += f',"trace_id":{_encode(trace)}'
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


def create_app(settings: config.Settings | None = None) -> Flask:
    """Build the application. `settings` defaults to the process environment."""
    settings = settings or config.load()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    access_log = JsonLines(ACCESS_LOGGER, "info", settings.log_level)
    error_log = JsonLines(ERROR_LOGGER, "error", settings.log_level)
    app.wsgi_app = _Front(  # type: ignore[method-assign]
        app.wsgi_app, access_log, settings.max_body_bytes
    )

    @app.get(VERSION_PATH)
    def version() -> Response:
        if _wants_json():
            return jsonify(version=VERSION)
        return _plain(f"API version: {VERSION}")

    stopping = os.environ.get(config.STOPPING_FILE_ENV)

    @app.get(HEALTH_PATH)
    def health() -> Response:
        # Cheap on purpose: nothing external; with a pre-stop delay, one stat of
        # the marker serve.py creates on SIGTERM, so that the load balancer stops
        # routing here before the server stops accepting (see serve.py).
        if stopping and os.path.exists(stopping):
            return _plain("stopping", 503)
        return _plain("ok")

    @app.before_request
    def check_length() -> None:
        length = request.content_length
        if length is not None and length > settings.max_body_bytes:
            raise RequestEntityTooLarge

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers[REVISION_HEADER] = settings.revision
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Short bodies with no HTML and no traceback; Allow and other headers kept.
        status = error.code or 500
        message = error.name.lower()
        if _wants_json():
            response = jsonify(error=message, status=status)
            response.status_code = status
        else:
            response = _plain(f"{status} {message}", status)
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        error_log.record(
            {
                "method": request.method,
                "path": request.path,
                "error": f"{type(error).__name__}: {error}",
                "traceback": "".join(traceback.format_exception(error)),
            }
        )
        if _wants_json():
            response = jsonify(error="internal server error", status=500)
            response.status_code = 500
            return response
        return _plain("500 internal server error", 500)

    return app


def main() -> int:
    """The seed's way: ``python3 app.py`` serves on port 5000 with Flask's dev server."""
    try:
        settings = config.load()
    except config.SettingsError as error:
        print(f"finlex: {error}", file=sys.stderr)
        return 2
    create_app(settings).run(host=settings.host, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
