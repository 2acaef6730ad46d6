"""verify: poll the public URL until it is healthy and reports the expected
version and, when given, the expected build revision.

Every request runs under a hard deadline (the smaller of --request-timeout and
the time left before --timeout), enforced around the whole exchange, not per
socket read: a server that trickles one byte a second cannot hold verify.

The URL must be https: a plain-http answer could come from anyone on the path.
`--allow-http` names the exception, for a server on the machine at hand. What
the server sends reaches the output only as a bounded, escaped excerpt, so a
hostile answer can neither flood the log nor drive the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from finlex_release.command import AddCommand, Context, seconds, wait_options, whole_number
from finlex_release.errors import ReleaseError, UsageError, WaitTimeoutError
from finlex_release.waiting import Clock, Progress, duration

# Equal to application/finlex_api/routes.py's VERSION_PATH, HEALTH_PATH and REVISION_HEADER
# (a test checks); kept here so that the installed package needs nothing from
# the repository.
DEFAULT_VERSION_PATH = "/version"
DEFAULT_HEALTH_PATH = "/healthz"
REVISION_HEADER = "X-Finlex-Revision"
# Where the expected version lives, relative to the repository root.
VERSION_FILE = Path("application", "VERSION")
# Requests to each endpoint per attempt; every answer must be right. Behind a
# load balancer each new connection may reach another task.
DEFAULT_ROUNDS = 3
_MAX_BODY = 64 * 1024
# What of a server's answer is printed: at most this many characters of a
# body, a version or a header, every control character escaped.
EXCERPT_CHARS = 64
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_REVISION = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_BASE_PATH = re.compile(r"^[A-Za-z0-9._~/%-]*$")
_HEADERS = {
    "Accept": "application/json",
    "Cache-Control": "no-cache",
    "User-Agent": "finlex-release",
}


@dataclass(frozen=True)
class Probe:
    answered: bool  # the service sent an HTTP response
    ok: bool
    detail: str


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    revision: str | None  # the REVISION_HEADER, if sent


def find_version_file(start: Path) -> Path | None:
    """application/VERSION in `start` or the nearest parent that has one."""
    for folder in (start, *start.parents):
        candidate = folder / VERSION_FILE
        if candidate.is_file():
            return candidate
    return None


def expected_version(explicit: str | None, version_file: Path | None, cwd: Path) -> str:
    if explicit is not None:
        if not explicit.strip():
            raise UsageError("--expected-version is empty")
        return explicit.strip()
    path = version_file or find_version_file(cwd)
    if path is None:
        raise UsageError(
            f"no {VERSION_FILE} in {cwd} or its parents; pass --expected-version or --version-file"
        )
    try:
        version = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise UsageError(f"cannot read version file {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UsageError(f"version file {path} is not UTF-8 text") from None
    if not version:
        raise UsageError(f"version file {path} is empty")
    return version


def expected_revision(text: str | None) -> str | None:
    """The --expected-revision value, checked; None (or empty) means: do not check."""
    if text is None or not text.strip():
        return None
    revision = text.strip()
    if not _REVISION.match(revision):
        raise UsageError(
            f"--expected-revision {text!r} must be 1-128 characters of A-Z a-z 0-9 . _ -"
        )
    return revision


def escaped(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` fit for one line of a terminal: at most `limit` characters, each
    control or format character (and each byte that was not UTF-8) as an
    escape, a backslash doubled, and "…" where it was cut."""
    shown = "".join(_escape(char) for char in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\\":
        return "\\\\"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if char.isprintable():
        return char
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def excerpt(body: bytes) -> str:
    """A body as a quoted, escaped excerpt with its size: `"<html>…" (10018 bytes)`."""
    text = body.decode("utf-8", errors="surrogateescape")
    return f'"{escaped(text)}" ({len(body)} bytes)'


def _check_host(url: str, host: str) -> None:
    """UsageError unless `host` is a DNS name or an IP address."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return
    if not all(_HOST_LABEL.match(label) for label in host.removesuffix(".").split(".")):
        raise UsageError(f"--url {url!r}: {host!r} is not a host name or an IP address")


def base_url(url: str, *, allow_http: bool = False) -> str:
    """`url` without a trailing slash, if it is a usable https base URL (or,
    with `allow_http`, http)."""
    bad = UsageError(f"--url {url!r} must be an https:// URL (http:// with --allow-http)")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise UsageError(f"--url {url!r} contains whitespace or control characters")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise bad
    if parts.scheme == "http" and not allow_http:
        raise UsageError(
            f"--url {url!r} is plain http: verify requires https; "
            "pass --allow-http to check a local server over http"
        )
    _check_host(url, parts.hostname)
    if not _BASE_PATH.match(parts.path):
        raise UsageError(f"--url {url!r}: the path may hold only A-Z a-z 0-9 . _ ~ / % -")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        raise UsageError(f"--url {url!r} has an invalid port") from None
    if parts.port == 0:
        raise UsageError(f"--url {url!r} has an invalid port")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(f"--url {url!r}: give the base URL only (no user, query or fragment)")
    return url.rstrip("/")


def check_path(path: str) -> str:
    if not path.startswith("/") or any(char.isspace() for char in path):
        raise UsageError(f"path {path!r} must start with / and contain no spaces")
    return path


def _abort(connection: http.client.HTTPConnection) -> None:
    """Unblock a read in another thread: shut the socket down, then close it."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    connection.close()


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A connection for `url` and the request target, through the environment's
    proxy (http_proxy / https_proxy, no_proxy) as urllib would use it."""
    parts = urlsplit(url)
    host, port, target = parts.hostname or "", parts.port, parts.path or "/"
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and urllib.request.proxy_bypass(parts.netloc):
        proxy = None
    if proxy:
        proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        via, via_port = proxy_parts.hostname or "", proxy_parts.port
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if not proxy:
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=context), target
        tunnel = http.client.HTTPSConnection(via, via_port, timeout=timeout, context=context)
        tunnel.set_tunnel(host, port)
        return tunnel, target
    if not proxy:
        return http.client.HTTPConnection(host, port, timeout=timeout), target
    # A plain-HTTP proxy takes the absolute URL as the request target.
    return http.client.HTTPConnection(via, via_port, timeout=timeout), url


def fetch(url: str, timeout: float) -> Answer:
    """GET `url` and read at most _MAX_BODY bytes, all within `timeout` seconds.

    Raise TimeoutError when the whole exchange takes longer, and OSError,
    ValueError or http.client.HTTPException for other failures.
    """
    connection, target = _connection(url, timeout)
    outcome: list[Answer | BaseException] = []

    def exchange() -> None:
        try:
            connection.request("GET", target, headers=_HEADERS)
            response = connection.getresponse()
            body = response.read(_MAX_BODY)
            outcome.append(Answer(response.status, body, response.getheader(REVISION_HEADER)))
        except BaseException as error:  # handed to the calling thread
            outcome.append(error)

    worker = threading.Thread(target=exchange, name="finlex-verify-request", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive() or not outcome:
        _abort(connection)
        raise TimeoutError(f"no complete answer within {timeout:.3g}s")
    connection.close()
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _failure(url: str, error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    text = " ".join(str(reason).split()) or type(error).__name__
    return f"{url}: {escaped(text, 4 * EXCERPT_CHARS)}"


@dataclass(frozen=True)
class Expected:
    version: str
    revision: str | None = None


def _revision_problem(url: str, answer: Answer, expected: Expected) -> str | None:
    if expected.revision is None or answer.revision == expected.revision:
        return None
    got = escaped(answer.revision) if answer.revision else f"none (no {REVISION_HEADER} header)"
    return f"{url} answered from revision {got}, expected {expected.revision}"


def probe(
    base: str,
    expected: Expected,
    health_path: str,
    version_path: str,
    budget: Callable[[], float],
    rounds: int = 1,
) -> Probe:
    """`rounds` times: the health endpoint answers 200 and /version reports the
    expected version; with a revision, every answer carries it. `budget()` is
    the time the next request may take."""
    answered = False
    version_url = base + version_path
    reported = ""
    for _ in range(rounds):
        for url in (base + health_path, version_url):
            seconds = budget()
            if seconds <= 0:
                return Probe(answered, ok=False, detail=f"{url}: out of time")
            try:
                answer = fetch(url, seconds)
            except (OSError, ValueError, http.client.HTTPException) as error:
                return Probe(answered, ok=False, detail=_failure(url, error))
            answered = True
            if answer.status != 200:
                return Probe(answered, ok=False, detail=f"{url} answered {answer.status}")
            problem = _revision_problem(url, answer, expected)
            if problem:
                return Probe(answered, ok=False, detail=problem)
            if url != version_url:
                continue
            try:
                reported = json.loads(answer.body)["version"]
            except (ValueError, KeyError, TypeError):
                detail = f"{url} sent no JSON with a version field; body: {excerpt(answer.body)}"
                return Probe(answered, ok=False, detail=detail)
            if reported != expected.version:
                return Probe(
                    answered,
                    ok=False,
                    detail=f"{url} reports version {escaped(str(reported))}, "
                    f"expected {expected.version}",
                )
    detail = f"{version_url} reports version {escaped(str(reported))}"
    if expected.revision:
        detail += f", revision {expected.revision}"
    return Probe(answered=True, ok=True, detail=detail)


def verify(
    url: str,
    expected: str | Expected,
    *,
    health_path: str = DEFAULT_HEALTH_PATH,
    version_path: str = DEFAULT_VERSION_PATH,
    timeout: float = 300.0,
    interval: float = 2.0,
    max_interval: float = 15.0,
    request_timeout: float = 5.0,
    rounds: int = DEFAULT_ROUNDS,
    allow_http: bool = False,
    clock: Clock,
    progress: Progress,
    out: TextIO,
) -> None:
    """Retry with capped exponential backoff until the service is right or
    `timeout` has passed; no request runs past that deadline."""
    want = expected if isinstance(expected, Expected) else Expected(expected)
    base = base_url(url, allow_http=allow_http)
    check_path(health_path)
    check_path(version_path)
    start = clock.monotonic()

    def remaining() -> float:
        return timeout - (clock.monotonic() - start)

    def budget() -> float:
        return min(request_timeout, remaining())

    last = Probe(answered=False, ok=False, detail="not tried")
    pause = interval
    while True:
        last = probe(base, want, health_path, version_path, budget, rounds)
        if last.ok:
            print(f"verified: {last.detail}, {base}{health_path} answered 200", file=out)
            return
        progress(f"not yet: {last.detail}", clock.monotonic() - start)
        left = remaining()
        if left <= 0:
            break
        clock.sleep(min(pause, left))
        pause = min(pause * 2, max_interval)
        if remaining() <= 0:
            break
    if last.answered:
        raise ReleaseError(f"verify failed after {duration(timeout)}: {last.detail}")
    raise WaitTimeoutError(f"no answer within {duration(timeout)}: {last.detail}")


# --- the command -------------------------------------------------------------


def run(args: argparse.Namespace, context: Context) -> None:
    """`finlex-release verify`: every input is checked before the first line of progress."""
    base = base_url(args.url, allow_http=args.allow_http)
    check_path(args.health_path)
    check_path(args.version_path)
    expected = Expected(
        expected_version(args.expected_version, args.version_file, context.cwd()),
        expected_revision(args.expected_revision),
    )
    revision = f", revision {expected.revision}" if expected.revision else ""
    context.progress(f"verifying {base} reports version {expected.version}{revision}")
    verify(
        base,
        expected,
        health_path=args.health_path,
        version_path=args.version_path,
        timeout=args.timeout,
        interval=args.interval,
        max_interval=args.max_interval,
        request_timeout=args.request_timeout,
        rounds=args.rounds,
        allow_http=args.allow_http,
        clock=context.clock,
        progress=context.progress,
        out=context.out,
    )


def register(command: AddCommand) -> None:
    """The verify subcommand and its options."""
    parser = command(
        "verify",
        run,
        "Poll the public URL until the health endpoint answers 200 and the version endpoint "
        "reports the expected version (and, with --expected-revision, every answer comes "
        "from that build).",
        uses_aws=False,
    )
    parser.add_argument("--url", required=True, help="base URL, e.g. https://finlex.example.com")
    parser.add_argument(
        "--allow-http",
        action="store_true",
        help="accept a plain http:// URL (local servers); without it, https only",
    )
    parser.add_argument("--expected-version", help="default: the content of the version file")
    parser.add_argument(
        "--expected-revision",
        help=f"git revision every answer must carry in its {REVISION_HEADER} header "
        "(the build's REVISION); empty or absent: not checked",
    )
    parser.add_argument(
        "--version-file",
        type=Path,
        help=f"file holding the expected version (default: {VERSION_FILE} "
        "in the current directory or its nearest parent that has one)",
    )
    parser.add_argument("--version-path", default=DEFAULT_VERSION_PATH, help="%(default)s")
    parser.add_argument("--health-path", default=DEFAULT_HEALTH_PATH, help="%(default)s")
    wait_options(parser, timeout=300.0, interval=2.0)
    parser.add_argument(
        "--max-interval",
        type=seconds,
        default=15.0,
        help="cap of the doubling pause between attempts (default 15)",
    )
    parser.add_argument(
        "--request-timeout",
        type=seconds,
        default=5.0,
        help="seconds per HTTP request, the whole exchange (default 5)",
    )
    parser.add_argument(
        "--rounds",
        type=whole_number(1, 100),
        default=DEFAULT_ROUNDS,
        help="requests to each endpoint per attempt, all of which must be right "
        f"(default {DEFAULT_ROUNDS})",
    )
