"""Benchmark and scorecard of the finlex API's server, all in one invocation.

Speed (wrk -t1 -c64, GET /version), in one run:
  - the baseline: the seed's own 6-line app under `python3 app.py` (bench/seed_app.py);
  - the image as users run it (--image): in a container, host networking, the
    JSON access log on and going through the container's log pipe to Docker's
    log driver, as on ECS; the bench checks that no access line went missing;
  - the production setup on the host (finlex-api), access log on (to a file) and
    off, which gives the per-request cost of logging;
  - the other candidate servers with the same app (gunicorn gthread, waitress);
  - nginx returning the same string: the ceiling of this machine.

Scorecard of the candidates (Granian as shipped, gunicorn gthread, waitress):
req/s ratio to the baseline and p99, the RFC 9112 cases of
tests/application/test_http_conformance.py that pass, stops over the bound out
of --stops (SIGTERM right after the first answered request must exit 0 within
2 s), and how each honours a configured idle keep-alive timeout.

Targets (exit code 1 when one fails): the image serves >= 10x the baseline's
req/s with p99 <= 20 ms and 0 errors. Absolute figures vary between machines
and runs; compare the ratios of one run.

Needs Debian's `wrk` and `nginx` (apt-get install wrk nginx-light), and Docker
for --image. Usage: python bench/serve_bench.py [--image finlex:latest] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent
APPLICATION = REPO / "application"
BENCH = REPO / "bench"
VERSION = (APPLICATION / "VERSION").read_text(encoding="utf-8").strip()
PATH = "/version"
# The production server: the finlex-api command (application/finlex_api/serve.py),
# installed beside this interpreter by `make venv`.
SERVER = str(Path(sys.executable).with_name("finlex-api"))
CONFORMANCE_TESTS = REPO / "tests" / "application" / "test_http_conformance.py"

TARGET_SPEEDUP = 10.0
TARGET_P99_MS = 20.0
STOP_BOUND_S = 2.0
KEEPALIVE_PROBE_S = 3
ACCESS_FIELDS = {"ts", "level", "logger", "method", "path", "status", "duration_ms"}
# The docker client; `make bench` and `make stop-soak` pass the Makefile's DOCKER.
DEFAULT_DOCKER = os.environ.get("DOCKER") or "docker"


@dataclass(frozen=True)
class Result:
    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    requests: int = 0
    cpu_us_per_request: float | None = None

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


@dataclass
class Score:
    name: str
    speed: Result
    conformance: tuple[int, int] = (0, 0)
    stops_over_bound: int = 0
    stops: int = 0
    worst_stop_s: float = 0.0
    keepalive: str = ""
    notes: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, alive: Callable[[], bool], timeout: float = 30) -> None:
    """Poll `url` until it answers 200; stop early when the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise SystemExit(f"bench: the server for {url} exited")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise SystemExit(f"bench: {url} did not answer within {timeout} s")


def process_alive(process: subprocess.Popen[bytes]) -> Callable[[], bool]:
    return lambda: process.poll() is None


def container_running(docker: str, name: str) -> Callable[[], bool]:
    def alive() -> bool:
        state = subprocess.run(
            [docker, "inspect", "--format", "{{.State.Running}}", name],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return state.stdout.strip() == "true"

    return alive


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in the process group `pgid`."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[0] is the state; [2] the process group
            total += int(fields[11]) + int(fields[12])
    return total / ticks


@dataclass
class Running:
    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]


@contextlib.contextmanager
def running(argv: list[str], port: int, env: dict[str, str], cwd: Path) -> Iterator[Running]:
    url = f"http://127.0.0.1:{port}{PATH}"
    with tempfile.TemporaryFile() as log:
        # Logs go to a file, as they would go to a pipe in a container, not to /dev/null.
        process = subprocess.Popen(
            argv, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_for(url, process_alive(process))
            yield Running(url, process, log)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def stop_after_start(
    argv: list[str], port: int, env: dict[str, str], cwd: Path, timeout: float
) -> tuple[float, int, str]:
    """Start a server, wait for its first answer, send SIGTERM: (seconds until it
    exited, its exit code, -9 when it was still alive after `timeout`, its log)."""
    with running(argv, port, env, cwd) as server:
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        try:
            code = server.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            code = -9
        elapsed = time.monotonic() - started
        server.log.seek(0)
        return elapsed, code, server.log.read().decode(errors="replace")


def nginx_argv(workdir: Path, port: int) -> list[str]:
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {workdir};
    proxy_temp_path {workdir};
    fastcgi_temp_path {workdir};
    uwsgi_temp_path {workdir};
    scgi_temp_path {workdir};
    server {{
        listen 127.0.0.1:{port};
        location = {PATH} {{
            default_type text/plain;
            return 200 "API version: {VERSION}\\n";
        }}
    }}
}}
"""
    )
    return [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-p", str(workdir)]


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(name: str, output: str) -> Result:
    """Read req/s, p50, p99, the request count and error counts from `wrk --latency` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if not (rps and p50 and p99):
        raise ValueError(f"could not parse wrk output for {name}:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    count = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    return Result(
        name=name,
        requests_per_s=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        requests=int(count.group(1)) if count else 0,
    )


def wrk(url: str, connections: int, duration: int) -> str:
    tool = shutil.which("wrk") or "wrk"
    argv = [tool, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def load(
    name: str, url: str, duration: int, connections: int, pgid: int | None = None
) -> tuple[Result, int]:
    """Warm up, then measure. Returns the result and the requests of both runs."""
    warm = parse_wrk(name, wrk(url, connections, 2))  # imports, workers, connections
    print(f"bench: {name}: wrk -t1 -c{connections} -d{duration}s {url}", file=sys.stderr)
    cpu_before = group_cpu_seconds(pgid) if pgid else 0.0
    result = parse_wrk(name, wrk(url, connections, duration))
    if pgid and result.requests:
        cpu = group_cpu_seconds(pgid) - cpu_before
        result = Result(**{**result.__dict__, "cpu_us_per_request": cpu / result.requests * 1e6})
    return result, warm.requests + result.requests


# --- the candidates -------------------------------------------------------------


def candidate_argv(name: str, port: int, keepalive: int) -> tuple[list[str], dict[str, str]]:
    """(argv, env) that serve the finlex app with candidate `name` on `port`."""
    python = sys.executable
    tools = Path(python).parent
    env = {"FINLEX_HOST": "127.0.0.1", "FINLEX_PORT": str(port)}
    if name == "granian":
        return [SERVER], {**env, "FINLEX_KEEPALIVE_TIMEOUT": str(keepalive)}
    if name == "gunicorn":
        argv = [str(tools / "gunicorn"), "--workers", "2", "--threads", "4"]
        argv += ["--worker-class", "gthread", "--keep-alive", str(keepalive)]
        argv += ["--graceful-timeout", "10", "--bind", f"127.0.0.1:{port}"]
        argv.append("finlex_api.factory:create_app()")
        return argv, env
    if name == "waitress":
        argv = [str(tools / "waitress-serve"), f"--listen=127.0.0.1:{port}", "--threads=8"]
        argv += [f"--channel-timeout={keepalive}", "--cleanup-interval=1"]
        return [*argv, "--call", "finlex_api.factory:create_app"], env
    raise ValueError(name)


CANDIDATES = {
    "granian": "Granian 2.8 as shipped (serve.py)",
    "gunicorn": "gunicorn 27 gthread 2x4",
    "waitress": "waitress 3 (8 threads)",
}
KEEPALIVE_LIMITS = {"granian": "at most 60 s", "gunicorn": "any", "waitress": "any"}


def measure_stops(name: str, count: int) -> tuple[int, float]:
    """SIGTERM right after the first answered request, `count` times: (over the bound, worst)."""
    over, worst = 0, 0.0
    for _ in range(count):
        port = free_port()
        argv, env = candidate_argv(name, port, 60)
        elapsed, code, _ = stop_after_start(argv, port, env, APPLICATION, timeout=30)
        worst = max(worst, elapsed)
        over += elapsed >= STOP_BOUND_S or code != 0
    return over, worst


def measure_conformance(url_base: str) -> tuple[int, int]:
    """(passed, run) of the RFC 9112 cases against the server at `url_base`."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(CONFORMANCE_TESTS), "-q", "--no-cov",
         "-p", "no:cacheprovider", "--runxfail", "-k", "not idle_keep_alive"],
        cwd=REPO, env={**os.environ, "FINLEX_CONFORMANCE_URL": url_base},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    passed = re.search(r"(\d+) passed", result.stdout)
    failed = re.search(r"(\d+) failed", result.stdout)
    errors = re.search(r"(\d+) error", result.stdout)
    n_passed = int(passed.group(1)) if passed else 0
    n_failed = int(failed.group(1)) if failed else 0
    n_failed += int(errors.group(1)) if errors else 0
    return n_passed, n_passed + n_failed


def measure_keepalive(url: str) -> float | None:
    """Seconds until the server closes an idle keep-alive connection (None: not in 15 s)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {PATH} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        while len(body) < length:
            body += sock.recv(4096)
        idle = time.monotonic()
        sock.settimeout(15)
        try:
            while sock.recv(4096):
                pass
        except TimeoutError:
            return None
        except ConnectionResetError:
            pass
        return time.monotonic() - idle


# --- the image -------------------------------------------------------------------


def measure_image(
    image: str, docker: str, duration: int, connections: int
) -> tuple[Result, int, int, list[str]]:
    """The image as users run it: host networking (as awsvpc on Fargate: no NAT or
    proxy in the path), default settings, the JSON access log through Docker's log
    driver. Returns the result, the requests sent, the access lines logged, and
    any problems found in those lines."""
    port = free_port()
    name = f"finlex-bench-{uuid.uuid4().hex[:8]}"
    run = [docker, "run", "-d", "--name", name, "--network", "host"]
    run += ["-e", f"FINLEX_PORT={port}", image]
    try:
        subprocess.run(run, capture_output=True, text=True, check=True)
        url = f"http://127.0.0.1:{port}{PATH}"
        wait_for(url, container_running(docker, name))
        result, sent = load(f"image {image} (container)", url, duration, connections)
        time.sleep(1)  # let the log driver catch up
        logs = subprocess.run(
            [docker, "logs", name], capture_output=True, text=True, check=True
        ).stdout.splitlines()
    finally:
        subprocess.run([docker, "rm", "--force", name], capture_output=True, check=False)
    access = [line for line in logs if '"logger":"finlex.access"' in line]
    problems = []
    for line in access[:: max(1, len(access) // 200)]:  # a sample of 200 is plenty
        record = json.loads(line)
        if not set(record) >= ACCESS_FIELDS:
            problems.append(f"fields missing in {line}")
            break
    return result, sent, len(access), problems


# --- report --------------------------------------------------------------------


def speed_table(results: list[Result], baseline: Result, ceiling: Result) -> str:
    head = (
        "| server | req/s | p50 ms | p99 ms | errors | CPU µs/req | vs baseline | vs nginx |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = ""
    for r in results:
        cpu = f"{r.cpu_us_per_request:.0f}" if r.cpu_us_per_request is not None else "-"
        rows += (
            f"| {r.name} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
            f"| {r.errors} | {cpu} | {r.requests_per_s / baseline.requests_per_s:.2f}x "
            f"| {r.requests_per_s / ceiling.requests_per_s:.3f}x |\n"
        )
    return head + rows


def scorecard_table(scores: list[Score], baseline: Result) -> str:
    head = (
        "| server | req/s vs baseline | p99 ms | RFC 9112 cases passed | stops over 2 s "
        "| worst stop s | idle keep-alive |\n|---|---:|---:|---:|---:|---:|---|\n"
    )
    rows = ""
    for s in scores:
        rows += (
            f"| {CANDIDATES[s.name]} | {s.speed.requests_per_s / baseline.requests_per_s:.2f}x "
            f"| {s.speed.p99_ms:.2f} | {s.conformance[0]}/{s.conformance[1]} "
            f"| {s.stops_over_bound}/{s.stops} | {s.worst_stop_s:.2f} | {s.keepalive} |\n"
        )
    return head + rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--stops", type=int, default=50, help="stops per candidate (50)")
    parser.add_argument("--image", help="also measure this image in a container (needs Docker)")
    parser.add_argument(
        "--docker", default=DEFAULT_DOCKER, help="docker client (default: $DOCKER, else docker)"
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables too")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.connections < 1 or args.stops < 0:
        parser.error("--duration and --connections must be positive, --stops at least 0")
    for tool in ("wrk", "nginx"):
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
            print(
                f"bench: {tool} is not installed (apt-get install wrk nginx-light)", file=sys.stderr
            )
            return 2

    d, c = args.duration, args.connections
    results: list[Result] = []
    port = free_port()
    seed = [sys.executable, str(BENCH / "seed_app.py")]
    with running(seed, port, {"PORT": str(port)}, BENCH) as server:
        baseline, _ = load("baseline: the seed's app, python3 app.py", server.url, d, c)
    results.append(baseline)

    image_checks: list[tuple[str, bool, str]] = []
    image_result = None
    if args.image:
        image_result, sent, logged, problems = measure_image(args.image, args.docker, d, c)
        results.append(image_result)
        image_checks.append(
            (
                "image: one access line per request, every field",
                not problems and sent <= logged <= sent + 2 * c + 10,
                f"{logged} lines for {sent} counted requests"
                + (f"; {problems[0]}" if problems else ""),
            )
        )

    scores = []
    for name in CANDIDATES:
        port = free_port()
        argv_, env = candidate_argv(name, port, 60)
        with running(argv_, port, env, APPLICATION) as server:
            speed, _ = load(CANDIDATES[name], server.url, d, c, server.process.pid)
            score = Score(name, speed, measure_conformance(f"http://127.0.0.1:{port}"))
        results.append(score.speed)
        port = free_port()
        argv_, env = candidate_argv(name, port, KEEPALIVE_PROBE_S)
        with running(argv_, port, env, APPLICATION) as server:
            closed = measure_keepalive(server.url)
        shown = f"{closed:.1f} s" if closed is not None else "not within 15 s"
        score.keepalive = (
            f"closed after {shown} (set {KEEPALIVE_PROBE_S} s); {KEEPALIVE_LIMITS[name]}"
        )
        if args.stops:
            score.stops = args.stops
            score.stops_over_bound, score.worst_stop_s = measure_stops(name, args.stops)
        scores.append(score)

    port = free_port()
    quiet = {"FINLEX_HOST": "127.0.0.1", "FINLEX_PORT": str(port), "FINLEX_LOG_LEVEL": "warning"}
    with running([SERVER], port, quiet, APPLICATION) as server:
        log_off, _ = load(
            "Granian as shipped, access log off", server.url, d, c, server.process.pid
        )
    results.append(log_off)
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        with running(nginx_argv(Path(workdir), port), port, {}, Path(workdir)) as server:
            ceiling, _ = load("nginx static string (ceiling)", server.url, d, c)
    results.append(ceiling)

    print(
        f"\nfinlex server benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; wrk -t1 -c{c} -d{d}s --latency, GET {PATH}"
    )
    print("\nspeed (one run; ratios to the baseline are what to compare):")
    print(speed_table(results, baseline, ceiling))
    print("scorecard:")
    print(scorecard_table(scores, baseline))
    shipped = next(s for s in scores if s.name == "granian").speed
    if shipped.cpu_us_per_request and log_off.cpu_us_per_request:
        cost = shipped.cpu_us_per_request - log_off.cpu_us_per_request
        print(
            f"access log: {cost:.1f} µs of server CPU per request "
            f"({shipped.cpu_us_per_request:.0f} with the log, "
            f"{log_off.cpu_us_per_request:.0f} without)"
        )
    checked = image_result or shipped
    speedup = checked.requests_per_s / baseline.requests_per_s
    label = "image" if image_result else "host (no --image given)"
    checks = [
        (f"{label} >= {TARGET_SPEEDUP:g}x the baseline's req/s", speedup >= TARGET_SPEEDUP,
         f"{speedup:.2f}x"),
        (f"{label} p99 <= {TARGET_P99_MS:g} ms", checked.p99_ms <= TARGET_P99_MS,
         f"{checked.p99_ms:.2f} ms"),
        (f"{label}: 0 errors", checked.errors == 0, f"{checked.errors} errors"),
        *image_checks,
    ]  # fmt: skip
    print("\ntargets:")
    for text, ok, value in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}: {value}")
    if args.markdown:
        print(
            "\n"
            + speed_table(results, baseline, ceiling)
            + "\n"
            + scorecard_table(scores, baseline)
        )
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
