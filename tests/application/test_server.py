"""Integration: the production server (Granian via serve.py) as a real process."""

from __future__ import annotations

import http.server
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from servers import (
    APPLICATION,
    SERVER,
    free_port,
    production_server,
    stop_group,
    wait_until_serving,
)

from finlex_api.routes import HEALTH_PATH, VERSION, VERSION_PATH


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with production_server(extra_env={"FINLEX_MAX_BODY_BYTES": "1024"}) as running:
        yield running


def fetch(
    url: str, method: str = "GET", headers: dict[str, str] | None = None, data: bytes | None = None
):
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def raw_exchange(base: str, payload: bytes) -> bytes:
    """Send raw bytes and return the status line the server answers with."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = b""
        while b"\r\n" not in chunks:
            chunk = sock.recv(4096)
            if not chunk:
                break
            chunks += chunk
    return chunks.split(b"\r\n", 1)[0]


def test_version(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    status, headers, body = fetch(server[0] + VERSION_PATH)
    assert status == 200
    assert headers.get_content_type() == "text/plain"
    assert body == f"API version: {VERSION}\n".encode()


def test_version_json_and_head(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    status, _, body = fetch(server[0] + VERSION_PATH, headers={"Accept": "application/json"})
    assert status == 200
    assert json.loads(body) == {"version": VERSION}
    status, _, body = fetch(server[0] + VERSION_PATH, method="HEAD")
    assert (status, body) == (200, b"")


def test_health(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    assert fetch(server[0] + HEALTH_PATH)[:1] == (200,)


def test_not_found_and_wrong_method(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    status, _, body = fetch(server[0] + "/admin")
    assert (status, body) == (404, b"404 not found\n")
    status, headers, _ = fetch(server[0] + VERSION_PATH, method="DELETE")
    assert status == 405
    assert "GET" in headers["Allow"]


def test_oversized_body_is_413(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    status, _, body = fetch(server[0] + VERSION_PATH, method="POST", data=b"x" * 4096)
    assert status == 413
    assert b"Traceback" not in body


@pytest.mark.parametrize(
    "payload",
    [
        b"THIS IS NOT HTTP\r\n\r\n",
        b"GET /version HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
        b"GET /version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
        b"GET /version HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
    ],
    ids=["garbage", "bad-header", "huge-header", "bad-content-length"],
)
def test_malformed_requests_get_4xx(
    server: tuple[str, subprocess.Popen[bytes]], payload: bytes
) -> None:
    status_line = raw_exchange(server[0], payload)
    assert status_line.startswith(b"HTTP/1.1 4"), status_line
    # The server survives: the next request is served normally.
    assert fetch(server[0] + HEALTH_PATH)[0] == 200


def test_access_log_is_json_on_stdout() -> None:
    with production_server(extra_env={"FINLEX_WORKERS": "1"}) as (base, process):
        fetch(base + VERSION_PATH)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    records = [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]
    version_hits = [r for r in records if r["path"] == VERSION_PATH]
    assert len(version_hits) == 1
    assert version_hits[0]["status"] == 200
    assert set(version_hits[0]) >= {"method", "path", "status", "duration_ms"}


# --- graceful shutdown -------------------------------------------------------


def _slow_server(markers: Path, graceful: int):
    return production_server(
        target="slow_app:create_app",
        extra_env={
            "SLOW_APP_MARKERS": str(markers),
            "PYTHONPATH": str(Path(__file__).parent),
            "FINLEX_THREADS": "8",
            "FINLEX_GRACEFUL_TIMEOUT": str(graceful),
        },
    )


def _wait_for_markers(markers: Path, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while len(list(markers.iterdir())) < count:
        assert time.monotonic() < deadline, "slow requests never reached the app"
        time.sleep(0.02)


def test_sigterm_finishes_in_flight_requests(tmp_path: Path) -> None:
    graceful = 8
    in_flight = 10
    with _slow_server(tmp_path, graceful) as (base, process), ThreadPoolExecutor(16) as pool:
        slow = [pool.submit(fetch, f"{base}/slow?seconds=2&id=r{i}") for i in range(in_flight)]
        _wait_for_markers(tmp_path, in_flight)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        # After the signal the listener is closed: new connections are refused.
        with pytest.raises(urllib.error.URLError, match="Connection refused"):
            urllib.request.urlopen(base + HEALTH_PATH, timeout=2)
        results = [future.result(timeout=30) for future in slow]
        process.wait(timeout=graceful + 10)
        elapsed = time.monotonic() - signalled
    assert [status for status, _, _ in results] == [200] * in_flight
    assert sorted(body for _, _, body in results) == sorted(
        f"done r{i}\n".encode() for i in range(in_flight)
    )
    assert process.returncode == 0
    assert elapsed < graceful, f"shutdown took {elapsed:.1f} s"


def test_sigterm_is_bounded_by_the_graceful_timeout(tmp_path: Path) -> None:
    graceful = 3
    with _slow_server(tmp_path, graceful) as (base, process), ThreadPoolExecutor(2) as pool:
        stuck = pool.submit(fetch, f"{base}/slow?seconds=60&id=stuck")
        _wait_for_markers(tmp_path, 1)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=graceful + 10)
        elapsed = time.monotonic() - signalled
        with pytest.raises(ConnectionError):
            stuck.result(timeout=10)
    assert graceful <= elapsed < graceful + 3, f"exit after {elapsed:.1f} s"


def _probe(port: int) -> subprocess.CompletedProcess[str]:
    """application/healthcheck.sh, as the container runs it, against 127.0.0.1:`port`."""
    return subprocess.run(
        ["bash", str(APPLICATION / "healthcheck.sh")],
        env={**os.environ, "FINLEX_PORT": f" {port} "},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def test_healthcheck_probe(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    port = urlsplit(server[0]).port
    assert port is not None
    healthy = _probe(port)
    assert (healthy.returncode, healthy.stderr) == (0, "")
    unused = free_port()
    nothing = _probe(unused)  # nothing listens there: one line, none of bash's own
    assert nothing.returncode == 1
    assert nothing.stderr == f"healthcheck: nothing listens on 127.0.0.1:{unused}\n"


def test_healthcheck_probe_fails_on_an_answer_other_than_200(tmp_path: Path) -> None:
    """A server that answers /healthz with 503 (as a stopping server does) is unhealthy,
    and the probe asked for HEALTH_PATH."""
    asked: list[str] = []

    class Stopping(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stopping) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        result = _probe(httpd.server_address[1])
        httpd.shutdown()
    assert result.returncode == 1
    assert "answered: HTTP/1.0 503" in result.stderr
    assert asked == [HEALTH_PATH]


def test_seed_way_python3_app_py_serves() -> None:
    """`python3 app.py` from application/ still starts the service (Flask's dev server)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=APPLICATION,
        env={**os.environ, "FINLEX_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base + HEALTH_PATH, process)
        assert fetch(base + VERSION_PATH)[::2] == (200, f"API version: {VERSION}\n".encode())
    finally:
        stop_group(process)


# --- stopping right after start, and a busy port ------------------------------


def test_sigterm_while_workers_load_the_app_exits_at_once(tmp_path: Path) -> None:
    """The deterministic form of "Killing worker-1 after it refused to gracefully
    stop": SIGTERM reaches the workers while they are still loading the app.
    A forked worker swallowed it (it still ran the main process's handler) and
    was killed only after FINLEX_GRACEFUL_TIMEOUT; a spawned one stops at once."""
    port = free_port()
    env = {
        **os.environ,
        "FINLEX_HOST": "127.0.0.1",
        "FINLEX_PORT": str(port),
        "FINLEX_WORKERS": "2",
        "FINLEX_GRACEFUL_TIMEOUT": "10",
        "SLOW_APP_MARKERS": str(tmp_path),
        "SLOW_APP_STARTUP": "3",
        "PYTHONPATH": str(Path(__file__).parent),
    }
    process = subprocess.Popen(
        [SERVER, "slow_app:create_app"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while len(list(tmp_path.glob("loading-*"))) < 2:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the workers never started loading the app"
            time.sleep(0.02)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        elapsed = time.monotonic() - signalled
    finally:
        stop_group(process)
    assert b"refused to gracefully stop" not in output, output.decode()
    assert process.returncode == 0, output.decode()
    assert elapsed < STOP_BOUND, f"stop took {elapsed:.2f} s"


STOP_BOUND = 2.0  # seconds an idle server may take to exit on SIGTERM (issue 8)


def test_sigterm_right_after_the_first_request_exits_0_quickly() -> None:
    for _ in range(5):
        with production_server() as (base, process):
            assert fetch(base + VERSION_PATH)[0] == 200
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=30)
            elapsed = time.monotonic() - signalled
        assert process.returncode == 0, output.decode()
        assert elapsed < STOP_BOUND, f"stop took {elapsed:.2f} s:\n{output.decode()}"


def test_an_idle_worker_that_missed_the_sigterm_gets_it_again(tmp_path: Path) -> None:
    """A worker that lost the stop (1 in about 150 stops under load) was killed
    only after FINLEX_GRACEFUL_TIMEOUT. serve.py sends SIGTERM again to a worker
    that is still alive with no client connection."""
    with production_server(
        target="slow_app:create_app",
        extra_env={
            "SLOW_APP_MARKERS": str(tmp_path),
            "SLOW_APP_MISS_FIRST_SIGTERM": "1",
            "PYTHONPATH": str(Path(__file__).parent),
            "FINLEX_GRACEFUL_TIMEOUT": "10",
        },
    ) as (base, process):
        assert fetch(base + VERSION_PATH)[0] == 200
        deadline = time.monotonic() + 20
        while len(list(tmp_path.glob("deaf-*"))) < 2:  # both workers past start-up
            assert time.monotonic() < deadline, "the workers never installed the handler"
            time.sleep(0.02)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        elapsed = time.monotonic() - signalled
    assert len(list(tmp_path.glob("missed-*"))) == 2, "the workers did not miss a SIGTERM"
    assert b"refused to gracefully stop" not in output, output.decode()
    assert process.returncode == 0
    assert elapsed < STOP_BOUND, f"stop took {elapsed:.2f} s"


def _workers(main_pid: int) -> list[int]:
    """The worker processes of a Granian main process (spawned: `spawn_main` in argv)."""
    children = Path(f"/proc/{main_pid}/task/{main_pid}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def _blocked_signals(pid: int, tid: str) -> int:
    status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
    return int(status.split("SigBlk:", 1)[1].split()[0], 16)


# rt_sigtimedwait, the call under signal.sigwait, by machine.
SIGTIMEDWAIT = {"x86_64": 128, "aarch64": 137}


def _in_sigwait(pid: int, tid: str) -> bool:
    """Whether the thread waits in sigwait (which unblocks, for its duration, what it waits for)."""
    task = Path(f"/proc/{pid}/task/{tid}")
    if "sigtimedwait" in task.joinpath("wchan").read_text():
        return True
    number = task.joinpath("syscall").read_text().split()[0]
    return number == str(SIGTIMEDWAIT.get(platform.machine()))


def _open_to_stop_signals(pid: int) -> tuple[dict[str, str], list[str]]:
    """Threads of `pid` that do not block SIGTERM and SIGINT, apart from those
    waiting for them in sigwait (name by thread ID), and those takers."""
    stop_bits = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGINT - 1))
    open_to_stops: dict[str, str] = {}
    takers: list[str] = []
    for tid in sorted(os.listdir(f"/proc/{pid}/task")):
        if _blocked_signals(pid, tid) & stop_bits == stop_bits:
            continue
        if _in_sigwait(pid, tid):
            takers.append(tid)
        else:
            open_to_stops[f"{pid}/{tid}"] = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
    return open_to_stops, takers


def test_one_thread_per_process_takes_the_stop_signals() -> None:
    """The cause of the rare lost stop. The kernel hands a process-directed
    SIGTERM to any thread that does not block it. Python runs handlers only in
    the main thread, and the main thread of Granian's main process and of its
    workers sleeps in a lock wait that only a signal delivered to that very
    thread interrupts. Granian's other threads (a worker's runtime and blocking
    threads, the main process's worker watchers) did not block SIGTERM, so one
    the kernel gave to them was lost: sent to a worker's runtime thread with
    tgkill, it left the worker serving until killed. serve.py blocks the stop
    signals in every thread, and in each process one thread takes them with
    sigwait."""
    with production_server() as (base, process):
        # Requests in parallel, so the workers start their blocking threads too.
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: fetch(base + VERSION_PATH)[0], range(32)))
        assert statuses == [200] * 32
        workers = _workers(process.pid)
        assert len(workers) == 2, workers
        deadline = time.monotonic() + 10
        # Both serving: a worker still loading the app runs one thread.
        while any(len(os.listdir(f"/proc/{pid}/task")) <= 2 for pid in workers):
            assert time.monotonic() < deadline, "a worker never started serving"
            time.sleep(0.05)
        open_to_stops: dict[str, str] = {}
        takers: dict[int, int] = {}
        for pid in [process.pid, *workers]:
            open_here, takers_here = _open_to_stop_signals(pid)
            open_to_stops |= open_here
            takers[pid] = len(takers_here)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        elapsed = time.monotonic() - signalled
    assert not open_to_stops, f"threads that could take a SIGTERM and lose it: {open_to_stops}"
    assert takers == dict.fromkeys([process.pid, *workers], 1), takers
    assert process.returncode == 0, output.decode()
    assert elapsed < STOP_BOUND, f"stop took {elapsed:.2f} s"


def _held_port() -> socket.socket:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    return holder


def _run_on_a_busy_port(argv: list[str], cwd: Path, timeout: float) -> tuple[int, str, int]:
    """Run `argv` with FINLEX_PORT on a port something else holds: (port, stderr, exit code)."""
    with _held_port() as holder:
        port = holder.getsockname()[1]
        result = subprocess.run(
            argv,
            cwd=cwd,
            env={**os.environ, "FINLEX_HOST": "127.0.0.1", "FINLEX_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    return port, result.stderr, result.returncode


def _busy_port_line(port: int) -> str:
    return (
        f"finlex: port {port} on 127.0.0.1 is already in use: stop what listens there "
        "(`ss -ltnp` names it) or set FINLEX_PORT to a free port"
    )


def test_busy_port_is_one_line_and_exit_2() -> None:
    port, stderr, code = _run_on_a_busy_port([SERVER], APPLICATION, 30)
    assert code == 2
    assert stderr.strip() == _busy_port_line(port)


def test_make_run_on_a_busy_port_says_so_in_one_line() -> None:
    argv = ["make", "--no-print-directory", "run", f"PYTHON={sys.executable}"]
    port, stderr, code = _run_on_a_busy_port(argv, APPLICATION.parent, 120)
    assert code == 2
    ours = [line for line in stderr.splitlines() if not line.startswith("make")]
    assert ours == [_busy_port_line(port)], stderr
