"""probe: a steady rate of requests to the public URL while a deployment runs.

A deployment that "reduces downtime" has to be measured with traffic crossing
it. The probe sends GET requests on an open-loop schedule (one due every
1/rate seconds, whatever the answers do), so a stall shows up as latency and
as a gap between successful answers instead of silently slowing the sender
down (coordinated omission). Requests go over a few keep-alive connections,
as browsers and API clients send them, and about one in ten on a brand-new
connection, as new clients arrive.

Before it reuses an idle keep-alive connection, a worker checks whether the
peer closed it (the socket is readable: EOF or unexpected bytes, urllib3's
is_connection_dropped) and reconnects silently, as real clients do. A request
that fails after that check counts as failed: nothing is retried, because the
ALB does not retry either and a client would have seen the error.

The same class measures the live service in deploy.yml (`finlex-release
probe -- make deploy`) and HAProxy in the traffic rehearsal (tools/traffic/),
so that one piece of code stands behind both sets of figures.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import http.client
import itertools
import math
import os
import queue
import select
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from finlex_release.command import AddCommand, Context, whole_number
from finlex_release.errors import Exit, ReleaseError, UsageError

DEFAULT_PATH = "/version"
DEFAULT_RATE = 20.0
DEFAULT_MAX_GAP = 0.25
DEFAULT_CONNECTIONS = 8
DEFAULT_FRESH_SHARE = 0.1
DEFAULT_TIMEOUT = 5.0
MAX_RATE = 5000.0
MAX_CONNECTIONS = 256
MAX_SECONDS = 24 * 3600.0
# Long runs print a progress line at least this often (seconds).
PROGRESS_EVERY = 10.0
# After Ctrl-C or SIGTERM the wrapped command gets this long to end by itself
# (it usually got the same signal from the terminal or the runner), then the
# signal is passed on, then it is killed.
COMMAND_GRACE = 2.0
COMMAND_KILL_AFTER = 10.0
# How often the watchdog looks for requests older than the timeout.
_WATCH_EVERY = 0.05
_HEADERS = {
    "Accept": "application/json",
    "Cache-Control": "no-cache",
    "User-Agent": "finlex-release-probe",
}


@dataclass(frozen=True)
class Sample:
    """One request: when it was due, when its answer (or error) arrived, what it was."""

    due: float  # time.monotonic() at which the request was scheduled (open loop)
    done: float  # time.monotonic() when the full response (or the error) arrived
    status: int  # HTTP status; 0 = no answer (refused, reset, timeout, bad response)
    error: str  # "" or a short reason ("reset", "timeout", "refused", ...)
    fresh: bool  # sent on a new connection (True) or a reused keep-alive one

    @property
    def latency(self) -> float:
        """done - due: includes any wait for a free connection (no coordinated omission)."""
        return self.done - self.due

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


@dataclass(frozen=True)
class Target:
    """Where the probe connects and what it asks for."""

    scheme: str
    hostname: str
    port: int | None
    path: str  # the request target: path and query
    url: str  # the URL as probed, path included

    @property
    def https(self) -> bool:
        return self.scheme == "https"


def parse_target(url: str, *, allow_http: bool = False) -> Target:
    """The URL checked: https (http only with allow_http), a host, a valid port,
    no user or fragment; a base URL (no path, or /) gets DEFAULT_PATH."""
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise UsageError(f"--url {url!r} contains whitespace or control characters")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"--url {url!r} must be an https:// URL with a host")
    if parts.scheme == "http" and not allow_http:
        raise UsageError(
            f"--url {url!r} is plain http, refused: the public URL is https "
            "(pass --allow-http to probe plain http, e.g. a local server)"
        )
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"--url {url!r} has an invalid port") from None
    if port == 0:
        raise UsageError(f"--url {url!r} has an invalid port")
    if parts.username or parts.password or parts.fragment:
        raise UsageError(f"--url {url!r}: no user, password or fragment")
    path = parts.path if parts.path not in {"", "/"} else DEFAULT_PATH
    if parts.query:
        path += "?" + parts.query
    netloc = parts.netloc
    return Target(parts.scheme, parts.hostname, port, path, f"{parts.scheme}://{netloc}{path}")


def _check_host(host: str | None) -> str | None:
    if host is None:
        return None
    if not host or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in host):
        raise UsageError(f"--host {host!r} must be a non-empty host name without spaces")
    return host


def _dropped(sock: socket.socket) -> bool:
    """True when an idle keep-alive socket is readable: the peer closed it (EOF),
    reset it, or sent bytes nobody asked for. Either way it cannot carry a request."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):  # closed or invalid descriptor
        return True


def _reason(error: BaseException) -> str:
    """A short reason for a request that got no answer."""
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, http.client.RemoteDisconnected):
        return "closed"  # the server closed the connection without answering
    if isinstance(error, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return "reset"
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(error, socket.gaierror):
        return "dns"
    if isinstance(error, http.client.IncompleteRead):
        return "incomplete"
    if isinstance(error, http.client.HTTPException):
        return "bad response"
    if isinstance(error, OSError) and error.errno:
        return errno.errorcode.get(error.errno, "oserror").lower()
    return type(error).__name__.lower()


def _is_fresh(index: int, share: float) -> bool:
    """Whether request `index` goes on a new connection: evenly spread, `share` of all."""
    return math.floor((index + 1) * share) > math.floor(index * share)


class _Worker:
    """One thread, one keep-alive connection, requests taken from the shared queue."""

    def __init__(self, probe: Probe, name: str) -> None:
        self.probe = probe
        self.samples: list[Sample] = []
        self.connection: http.client.HTTPConnection | None = None
        self.thread = threading.Thread(target=self.run, name=name, daemon=True)
        self._lock = threading.Lock()
        self._started: float | None = None  # the request in flight began then
        self._aborted = False

    def run(self) -> None:
        try:
            while (item := self.probe.queue.get()) is not None:
                due, fresh = item
                if time.monotonic() > self.probe.deadline:
                    # Due before the stop, but the stop's wait ran out first.
                    self.samples.append(Sample(due, time.monotonic(), 0, "unsent", False))
                    continue
                self.samples.append(self.send(due, fresh))
        finally:
            self.close()

    def send(self, due: float, want_fresh: bool) -> Sample:
        connection = self.connection
        if connection is not None and (
            want_fresh or connection.sock is None or _dropped(connection.sock)
        ):
            self.close()
            connection = None
        if connection is None:
            connection = self.connection = self.probe.connect()
        with self._lock:
            self._started, self._aborted = time.monotonic(), False
        fresh = connection.sock is None
        status, error = 0, ""
        try:
            connection.request("GET", self.probe.target.path, headers=self.probe.headers)
            response = connection.getresponse()
            # read() without a size: a body cut short raises IncompleteRead
            # (read(n) would return the part silently).
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException, ValueError) as failure:
            with self._lock:
                error = "timeout" if self._aborted else _reason(failure)
            self.close()
        finally:
            with self._lock:
                self._started = None
        return Sample(due, time.monotonic(), status, error, fresh)

    def abort_if_started_before(self, limit: float) -> None:
        """Called by the watchdog: end a request older than the timeout. Only a
        shutdown here; the worker closes its own socket, so that no descriptor
        is closed under it."""
        with self._lock:
            if self._started is None or self._started >= limit or self._aborted:
                return
            self._aborted = True
            sock = self.connection.sock if self.connection is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()


class Probe:
    """Open-loop load at a fixed rate over keep-alive connections.

    `start()` returns at once; `stop()` stops sending, waits for the requests in
    flight (at most `timeout` seconds more) and returns every sample sorted by
    due time. A request due before the stop that could not be sent within that
    wait is a failure ("unsent"), never dropped from the count.
    """

    def __init__(
        self,
        url: str,
        rate: float,
        *,
        fresh_share: float = DEFAULT_FRESH_SHARE,
        connections: int = DEFAULT_CONNECTIONS,
        timeout: float = DEFAULT_TIMEOUT,
        allow_http: bool = False,
        host: str | None = None,
    ) -> None:
        self.target = parse_target(url, allow_http=allow_http)
        if not (math.isfinite(rate) and 0 < rate <= MAX_RATE):
            raise UsageError(f"rate {rate!r} must be above 0 and at most {MAX_RATE:g} per second")
        if not 0.0 <= fresh_share <= 1.0:
            raise UsageError(f"fresh share {fresh_share!r} must be between 0 and 1")
        if not 1 <= connections <= MAX_CONNECTIONS:
            raise UsageError(f"connections {connections!r} must be between 1 and {MAX_CONNECTIONS}")
        if not (math.isfinite(timeout) and 0 < timeout <= MAX_SECONDS):
            raise UsageError(f"timeout {timeout!r} must be above 0 seconds")
        self.rate = rate
        self.fresh_share = fresh_share
        self.timeout = timeout
        self.headers = dict(_HEADERS)
        if (checked := _check_host(host)) is not None:
            self.headers["Host"] = checked
        self.queue: queue.SimpleQueue[tuple[float, bool] | None] = queue.SimpleQueue()
        self.deadline = math.inf  # set by stop(): no request is sent after it
        self._tls = ssl.create_default_context() if self.target.https else None
        self._workers = [_Worker(self, f"probe-{n}") for n in range(connections)]
        self._stopping = threading.Event()
        self._watch_ended = threading.Event()
        self._scheduler = threading.Thread(target=self._schedule, name="probe-clock", daemon=True)
        self._watchdog = threading.Thread(target=self._watch, name="probe-watchdog", daemon=True)
        self._start: float | None = None
        self._result: list[Sample] | None = None

    @property
    def url(self) -> str:
        return self.target.url

    def connect(self) -> http.client.HTTPConnection:
        """A new, not yet opened connection (http.client opens it on the first request)."""
        target = self.target
        if self._tls is not None:
            return http.client.HTTPSConnection(
                target.hostname, target.port, timeout=self.timeout, context=self._tls
            )
        return http.client.HTTPConnection(target.hostname, target.port, timeout=self.timeout)

    def start(self) -> None:
        if self._start is not None:
            raise RuntimeError("a Probe starts once")
        self._start = time.monotonic()
        for worker in self._workers:
            worker.thread.start()
        self._watchdog.start()
        self._scheduler.start()

    def _schedule(self) -> None:
        """Put each request on the queue at its due time; never wait for answers."""
        start = self._start or time.monotonic()
        index = 0
        while True:
            due = start + index / self.rate
            if self._stopping.wait(max(0.0, due - time.monotonic())):
                return
            self.queue.put((due, _is_fresh(index, self.fresh_share)))
            index += 1

    def _watch(self) -> None:
        """End requests that took longer than the timeout, the whole exchange
        (a socket timeout alone bounds each read, not a trickle of bytes)."""
        while not self._watch_ended.wait(_WATCH_EVERY):
            limit = time.monotonic() - self.timeout
            for worker in self._workers:
                worker.abort_if_started_before(limit)

    def samples(self) -> list[Sample]:
        """The samples so far, sorted by due time (for progress while it runs)."""
        return sorted((s for w in self._workers for s in list(w.samples)), key=_by_due)

    def stop(self) -> list[Sample]:
        if self._result is not None:
            return list(self._result)
        if self._start is None:
            self._result = []
            return []
        self._stopping.set()
        self._scheduler.join()
        self.deadline = time.monotonic() + self.timeout
        for _ in self._workers:
            self.queue.put(None)
        for worker in self._workers:
            worker.thread.join()
        self._watch_ended.set()
        self._watchdog.join()
        self._result = self.samples()
        return list(self._result)


def _by_due(sample: Sample) -> float:
    return sample.due


@dataclass(frozen=True)
class Figures:
    """What a run of the probe shows, in seconds and counts."""

    sent: int
    failed: int
    statuses: dict[str, int]  # "200": n, "503": n, "reset": n ...
    # Longest time between consecutive successful completions (by done), plus
    # from the first due to the first success and from the last success to the last done.
    max_gap: float
    p50: float  # latency of all samples, seconds
    p99: float
    max_latency: float
    rate: float  # achieved requests per second


def _percentile(ordered: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted values (0.0 for none)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def max_gap(samples: Sequence[Sample]) -> float:
    """The longest stretch without a successful answer, edges included."""
    if not samples:
        return 0.0
    first_due = min(s.due for s in samples)
    last_done = max(s.done for s in samples)
    points = [first_due, *sorted(s.done for s in samples if s.ok), last_done]
    return max(later - earlier for earlier, later in itertools.pairwise(points))


def figures(samples: Sequence[Sample]) -> Figures:
    latencies = sorted(s.latency for s in samples)
    statuses = Counter(str(s.status) if s.status else s.error or "no answer" for s in samples)
    span = max(s.done for s in samples) - min(s.due for s in samples) if samples else 0.0
    return Figures(
        sent=len(samples),
        failed=sum(1 for s in samples if not s.ok),
        statuses=dict(sorted(statuses.items())),
        max_gap=max_gap(samples),
        p50=_percentile(latencies, 0.50),
        p99=_percentile(latencies, 0.99),
        max_latency=latencies[-1] if latencies else 0.0,
        rate=len(samples) / span if span > 0 else 0.0,
    )


# --- the command line ---------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def statuses_text(statuses: dict[str, int]) -> str:
    return ", ".join(f"{key}: {count}" for key, count in statuses.items()) or "none"


@dataclass(frozen=True)
class Bounds:
    max_gap: float
    max_failed: int


@dataclass(frozen=True)
class Outcome:
    """A run's figures, the wrapped command's result, and what broke a bound."""

    url: str
    figures: Figures
    bounds: Bounds
    command: str | None = None  # the wrapped command as typed, or None (--duration)
    returncode: int | None = None  # None: no command, or it did not end (interrupted)
    problems: list[str] = field(default_factory=list)


def command_result(returncode: int) -> str:
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-returncode).name}"
        return f"was killed by signal {-returncode}"
    return f"exited {returncode}"


def judge(
    url: str,
    found: Figures,
    bounds: Bounds,
    command: str | None = None,
    returncode: int | None = None,
) -> Outcome:
    problems = []
    if command is not None and returncode is not None and returncode != 0:
        problems.append(f"`{command}` {command_result(returncode)}")
    if found.failed > bounds.max_failed:
        problems.append(
            f"{found.failed} of {found.sent} requests failed, more than --max-failed "
            f"{bounds.max_failed} ({statuses_text(found.statuses)})"
        )
    if found.max_gap > bounds.max_gap:
        problems.append(
            f"the longest gap between successful answers was {ms(found.max_gap)}, "
            f"over --max-gap {ms(bounds.max_gap)}"
        )
    if found.sent == 0:
        problems.append("no request was sent")
    return Outcome(url, found, bounds, command, returncode, problems)


def figures_line(outcome: Outcome) -> str:
    found = outcome.figures
    line = (
        f"probe {outcome.url}: {found.sent} sent at {found.rate:.1f}/s, {found.failed} failed "
        f"({statuses_text(found.statuses)}), longest gap {ms(found.max_gap)} "
        f"(bound {ms(outcome.bounds.max_gap)}), p50 {ms(found.p50)}, p99 {ms(found.p99)}, "
        f"max {ms(found.max_latency)}"
    )
    if outcome.command is not None:
        ended = "did not end" if outcome.returncode is None else command_result(outcome.returncode)
        line += f"; `{outcome.command}` {ended}"
    return line


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(outcome: Outcome) -> str:
    """The job summary: each figure beside its bound."""
    found, bounds = outcome.figures, outcome.bounds

    def verdict(good: bool) -> str:
        return "ok" if good else "**FAILED**"

    shown = (outcome.command or "").replace("`", "'")
    while_ = f" while `{shown}` ran" if outcome.command else ""
    rows = [
        ("requests sent", f"{found.sent} at {found.rate:.1f}/s", "", ""),
        (
            "failed",
            str(found.failed),
            f"at most {bounds.max_failed}",
            verdict(found.failed <= bounds.max_failed),
        ),
        (
            "longest gap between successes",
            ms(found.max_gap),
            f"at most {ms(bounds.max_gap)}",
            verdict(found.max_gap <= bounds.max_gap),
        ),
        ("p50 latency", ms(found.p50), "", ""),
        ("p99 latency", ms(found.p99), "", ""),
        ("max latency", ms(found.max_latency), "", ""),
        ("answers", statuses_text(found.statuses), "", ""),
    ]
    if outcome.command is not None:
        result = "did not end" if outcome.returncode is None else command_result(outcome.returncode)
        rows.append(("command", result, "exit 0", verdict(outcome.returncode == 0)))
    table = "\n".join(f"| {' | '.join(_cell(c) for c in row)} |" for row in rows)
    state = "passed" if not outcome.problems else "FAILED"
    return (
        f"### finlex-release probe: {state}\n\n"
        f"`GET {outcome.url}`{while_}\n\n"
        "| figure | value | bound | |\n|---|---|---|---|\n"
        f"{table}\n\n"
    )


def write_summary(outcome: Outcome, progress: Callable[[str], None]) -> None:
    """Append the table to $GITHUB_STEP_SUMMARY when set; a write that fails is
    reported, not fatal (the figures line on stdout carries the same)."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(summary_markdown(outcome))
    except OSError as error:
        progress(f"cannot write the job summary to {path}: {error.strerror or error}")


class _Progress(Protocol):
    def __call__(self, message: str, elapsed: float | None = None) -> None: ...


def _report(probe: Probe, progress: _Progress, began: float) -> None:
    found = figures(probe.samples())
    progress(
        f"{found.sent} sent, {found.failed} failed, longest gap {ms(found.max_gap)}, "
        f"p99 {ms(found.p99)} so far",
        time.monotonic() - began,
    )


def _wait_for(seconds: float, probe: Probe, progress: _Progress) -> None:
    began = time.monotonic()
    end = began + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, PROGRESS_EVERY))
        if end - time.monotonic() > 0:
            _report(probe, progress, began)


def _end_command(child: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Let the command end after an interrupt: it usually got the same signal;
    if not, pass it on; kill it as a last resort. Never leave it behind."""
    for step in (None, sig, signal.SIGKILL):
        if step is not None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(step)
        try:
            child.wait(COMMAND_GRACE if step is None else COMMAND_KILL_AFTER)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Wrapped:
    """The command the probe runs across, and how it ended (None: not yet)."""

    argv: list[str]
    returncode: int | None = None

    @property
    def text(self) -> str:
        return shlex.join(self.argv)


def _run_command(command: Wrapped, probe: Probe, progress: _Progress) -> None:
    began = time.monotonic()
    child = subprocess.Popen(command.argv)  # noqa: S603 - the user's own command, by design
    try:
        while command.returncode is None:
            try:
                command.returncode = child.wait(PROGRESS_EVERY)
            except subprocess.TimeoutExpired:
                _report(probe, progress, began)
    except KeyboardInterrupt:
        _end_command(child, signal.SIGINT)
        command.returncode = child.returncode
        raise
    except BaseException:  # SIGTERM (cli.Terminated) and anything else
        _end_command(child, signal.SIGTERM)
        command.returncode = child.returncode
        raise


def run(args: argparse.Namespace, context: Context) -> None:
    """`finlex-release probe`: probe while COMMAND runs, or for --duration seconds."""
    command = Wrapped(list(args.wrapped)) if args.wrapped else None
    if (command is None) == (args.duration is None):
        raise UsageError(
            "give a COMMAND after -- (e.g. -- make deploy TAG=...) or --duration SECONDS, "
            "exactly one"
        )
    if args.max_gap <= 1 / args.rate:
        raise UsageError(
            f"--max-gap {args.max_gap:g} s is not above the time between requests "
            f"({1 / args.rate:g} s at --rate {args.rate:g}): every run would fail; "
            "raise --rate or --max-gap"
        )
    if command is not None and shutil.which(command.argv[0]) is None:
        raise UsageError(f"command {command.argv[0]!r} not found")
    probe = Probe(
        args.url,
        args.rate,
        fresh_share=args.fresh_share,
        connections=args.connections,
        timeout=args.request_timeout,
        allow_http=args.allow_http,
        host=args.host,
    )
    bounds = Bounds(args.max_gap, args.max_failed)
    during = f"while `{command.text}` runs" if command else f"for {args.duration:g} s"
    context.progress(f"probing {probe.url} at {args.rate:g}/s {during}")
    probe.start()
    try:
        if command is not None:
            _run_command(command, probe, context.progress)
        else:
            _wait_for(args.duration, probe, context.progress)
    finally:
        outcome = judge(
            probe.url,
            figures(probe.stop()),
            bounds,
            command.text if command else None,
            command.returncode if command else None,
        )
        print(figures_line(outcome), file=context.out, flush=True)
        write_summary(outcome, context.progress)
    if outcome.problems:
        raise ReleaseError("; ".join(outcome.problems), Exit.FAILED)


def _number(low: float, high: float, *, low_inclusive: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        above = value >= low if low_inclusive else value > low
        if math.isnan(value) or not above or value > high:
            sign = ">=" if low_inclusive else ">"
            raise argparse.ArgumentTypeError(f"{text!r} must be {sign} {low:g} and <= {high:g}")
        return value

    return parse


def register(command: AddCommand) -> None:
    """The probe subcommand and its options."""
    parser = command(
        "probe",
        run,
        "Send a steady rate of GET requests to URL while COMMAND runs (or for --duration "
        "seconds) and fail on a failed request or a gap between successful answers over "
        "--max-gap; figures on stdout and in the GitHub job summary.",
        uses_aws=False,
    )
    seconds = _number(0.0, MAX_SECONDS)
    parser.add_argument(
        "--url",
        required=True,
        help=f"https URL to GET; an empty path means {DEFAULT_PATH}",
    )
    parser.add_argument(
        "--rate",
        type=_number(0.0, MAX_RATE),
        default=DEFAULT_RATE,
        help="requests per second, sent on schedule whatever the answers "
        f"(default {DEFAULT_RATE:g})",
    )
    parser.add_argument(
        "--max-gap",
        type=seconds,
        default=DEFAULT_MAX_GAP,
        help="fail when the longest time without a successful answer exceeds this many "
        f"seconds (default {DEFAULT_MAX_GAP:g})",
    )
    parser.add_argument(
        "--max-failed",
        type=whole_number(0, 10**9),
        default=0,
        help="fail when more requests than this fail (default 0)",
    )
    parser.add_argument(
        "--allow-http", action="store_true", help="accept a plain http:// URL (local servers)"
    )
    parser.add_argument("--host", help="Host header to send instead of the URL's host")
    parser.add_argument(
        "--duration", type=seconds, help="probe this many seconds (instead of a COMMAND)"
    )
    parser.add_argument(
        "--connections",
        type=whole_number(1, MAX_CONNECTIONS),
        default=DEFAULT_CONNECTIONS,
        help=f"keep-alive connections, one thread each (default {DEFAULT_CONNECTIONS})",
    )
    parser.add_argument(
        "--fresh-share",
        type=_number(0.0, 1.0, low_inclusive=True),
        default=DEFAULT_FRESH_SHARE,
        help=f"share of requests sent on a new connection (default {DEFAULT_FRESH_SHARE:g})",
    )
    parser.add_argument(
        "--request-timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per request, the whole exchange (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "wrapped",
        nargs="*",
        metavar="-- COMMAND",
        help="the command to probe across, after --, e.g. -- make deploy TAG=abc",
    )
