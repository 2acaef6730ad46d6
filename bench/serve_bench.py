"""Load-test the finlex API's servers with wrk, all in one invocation.

Runs wrk against, in turn:
  1. the production setup as shipped (application/serve.py: Granian, default settings);
  2. the seed's way, `python3 app.py` (Flask's development server);
  3. nginx returning the same static string (the ceiling on this machine);
  4. gunicorn (gthread) serving the same app, when installed: the usual alternative.

For each it prints req/s, p50, p99 and non-2xx/socket errors, then the ratios
between them and whether the targets hold (>= 6x the dev server's req/s,
p99 <= 50 ms, 0 errors). Absolute figures vary between machines; the ratios
from one run are what to compare.

Needs Debian's `wrk` and `nginx` (apt-get install wrk nginx-light).
Usage: python bench/serve_bench.py [--duration 10] [--connections 64] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APPLICATION = REPO / "application"
VERSION = (APPLICATION / "VERSION").read_text(encoding="utf-8").strip()
PATH = "/version"

TARGET_SPEEDUP = 6.0
TARGET_P99_MS = 50.0


@dataclass(frozen=True)
class Result:
    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.read().decode().strip() == f"API version: {VERSION}":
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise SystemExit(f"bench: {url} did not answer within {timeout} s")


@contextlib.contextmanager
def running(argv: list[str], port: int, env: dict[str, str], cwd: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}{PATH}"
    with tempfile.TemporaryFile() as log:
        # Logs go to a file, as they would go to a pipe in a container, not to /dev/null.
        process = subprocess.Popen(
            argv, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_for(url, process)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


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
    """Read req/s, p50, p99 and error counts from `wrk --latency` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if not (rps and p50 and p99):
        raise ValueError(f"could not parse wrk output for {name}:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Result(
        name=name,
        requests_per_s=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def load(name: str, url: str, duration: int, connections: int) -> Result:
    wrk = shutil.which("wrk") or "wrk"
    # Warm up (imports, worker start, connection pools) before measuring.
    subprocess.run([wrk, "-t1", f"-c{connections}", "-d2s", url], capture_output=True, check=True)
    print(f"bench: {name}: wrk -t1 -c{connections} -d{duration}s {url}", file=sys.stderr)
    completed = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_wrk(name, completed.stdout)


def servers() -> list[tuple[str, list[str], dict[str, str], Path]]:
    """(name, argv, env, cwd) for every server to measure; the port is filled in later."""
    python = sys.executable
    entries: list[tuple[str, list[str], dict[str, str], Path]] = [
        ("production (serve.py, Granian)", [python, "serve.py"], {}, APPLICATION),
        ("seed: python3 app.py (Flask dev)", [python, "app.py"], {}, APPLICATION),
    ]
    gunicorn = Path(python).with_name("gunicorn")
    if gunicorn.exists():
        argv = [str(gunicorn), "--workers", "2", "--threads", "4", "--worker-class", "gthread"]
        entries.append(("gunicorn gthread 2x4", [*argv, "app:create_app()"], {}, APPLICATION))
    return entries


def markdown(results: list[Result], connections: int, duration: int) -> str:
    head = (
        "| server | req/s | p50 ms | p99 ms | errors | vs dev | vs nginx |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
    )
    dev, ceiling = results[1], results[-1]
    rows = "".join(
        f"| {r.name} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} "
        f"| {r.requests_per_s / dev.requests_per_s:.2f}x "
        f"| {r.requests_per_s / ceiling.requests_per_s:.3f}x |\n"
        for r in results
    )
    return f"wrk -t1 -c{connections} -d{duration}s --latency, path {PATH}\n\n" + head + rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table too")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.connections < 1:
        parser.error("--duration and --connections must be positive")
    for tool in ("wrk", "nginx"):
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
            print(
                f"bench: {tool} is not installed (apt-get install wrk nginx-light)", file=sys.stderr
            )
            return 2

    results: list[Result] = []
    env = {"FINLEX_HOST": "127.0.0.1"}
    for name, argv_, extra, cwd in servers():
        port = free_port()
        if "gunicorn" in name:
            argv_ = [*argv_[:-1], "--bind", f"127.0.0.1:{port}", argv_[-1]]
        with running(argv_, port, {**env, "FINLEX_PORT": str(port), **extra}, cwd) as url:
            results.append(load(name, url, args.duration, args.connections))
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        with running(nginx_argv(Path(workdir), port), port, {}, Path(workdir)) as url:
            results.append(
                load("nginx static string (ceiling)", url, args.duration, args.connections)
            )

    print(
        f"\nfinlex server benchmark — {time.strftime('%Y-%m-%d')}, {platform.node() or 'host'}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"{'server':36} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'sock err':>9}")
    for r in results:
        print(f"{r.name:36} {r.requests_per_s:10,.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
              f"{r.non_2xx:8d} {r.socket_errors:9d}")  # fmt: skip
    production, dev, ceiling = results[0], results[1], results[-1]
    speedup = production.requests_per_s / dev.requests_per_s
    print("\nratios (same run):")
    for r in results:
        print(f"  {r.name:36} {r.requests_per_s / dev.requests_per_s:6.2f}x dev server, "
              f"{r.requests_per_s / ceiling.requests_per_s:6.3f}x nginx")  # fmt: skip
    checks = [
        (f"production >= {TARGET_SPEEDUP:g}x dev server req/s", speedup >= TARGET_SPEEDUP,
         f"{speedup:.2f}x"),
        (f"production p99 <= {TARGET_P99_MS:g} ms", production.p99_ms <= TARGET_P99_MS,
         f"{production.p99_ms:.2f} ms"),
        ("production: 0 errors", production.errors == 0, f"{production.errors} errors"),
    ]  # fmt: skip
    print("\ntargets:")
    for label, ok, value in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {label}: {value}")
    if args.markdown:
        print("\n" + markdown(results, args.connections, args.duration))
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
