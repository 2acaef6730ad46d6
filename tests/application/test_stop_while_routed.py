"""A stop while the load balancer still routes to the server (issue 17).

HAProxy stands in for the ALB on loopback: two servers (serve.py, each on its
own 127.0.0.1 port), health checks on /healthz, no retries (the ALB does not
retry) and backend keep-alive reuse. A client keeps about 100 requests/s
through it over keep-alive while one server gets SIGTERM with no drain first,
as StopTask, scale-in or a lagging deregistration deliver it. Without a
pre-stop delay (FINLEX_PRESTOP_DELAY=0, the server as it was) requests fail
until the health checks take the server out; with the delay above
inter x fall, none do. Both are asserted, so the test also shows that it can
see the loss.
"""

from __future__ import annotations

import contextlib
import http.client
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from traffic.balancer import runtime_command, server_stats

from localhost import free_port, stop
from support.prerequisites import require_tool
from support.servers.production import production_server

CHECK_INTER_MS = 200
CHECK_FALL = 2
# Above inter x fall (0.4 s) with a margin for the check in flight and a loaded machine.
PRESTOP_DELAY = 1
GRACEFUL = 3
RATE = 100  # requests per second
WARM_UP = 1.0  # seconds of traffic before the stop
AFTER_EXIT = 0.5  # seconds of traffic after the stopped server has exited

HAPROXY_CONFIG = """\
global
    stats socket {socket} level admin
defaults
    mode http
    retries 0
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout http-keep-alive 10s
frontend front
    bind 127.0.0.1:{port}
    default_backend servers
backend servers
    balance roundrobin
    http-reuse always
    option httpchk GET /healthz
    default-server check inter {inter}ms fall {fall} rise 1
{servers}
"""


def haproxy_stat(socket_path: Path) -> dict[str, dict[str, str]]:
    """HAProxy's `show stat` of the backend's servers: name -> column -> value."""
    return server_stats(runtime_command(socket_path, "show stat"), "servers")


@contextmanager
def haproxy(tmp_path: Path, backends: dict[str, int]) -> Iterator[tuple[int, Path]]:
    """HAProxy in front of `backends` (name -> loopback port), all of them UP;
    yields (its port, its stats socket). Stopped even when the test fails."""
    binary = require_tool("haproxy")
    port = free_port()
    stats = tmp_path / "haproxy.sock"
    servers = "\n".join(f"    server {name} 127.0.0.1:{p}" for name, p in backends.items())
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        HAPROXY_CONFIG.format(
            socket=stats, port=port, inter=CHECK_INTER_MS, fall=CHECK_FALL, servers=servers
        )
    )
    process = subprocess.Popen(
        [binary, "-db", "-f", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, process.communicate()[0].decode()
            with contextlib.suppress(OSError):
                servers = haproxy_stat(stats)
                if set(servers) == set(backends) and all(
                    row["status"] == "UP" for row in servers.values()
                ):
                    break
            assert time.monotonic() < deadline, "HAProxy did not see both servers UP"
            time.sleep(0.05)
        yield port, stats
    finally:
        stop(process)
        if process.stdout:
            process.stdout.close()


class Client(threading.Thread):
    """GET /version at a fixed rate over one keep-alive connection (a new one
    after a failure); counts answers that are not 200 and requests with no answer."""

    def __init__(self, port: int) -> None:
        super().__init__(name="client", daemon=True)
        self.port = port
        self.sent = 0
        self.failed = 0
        self.statuses: dict[int, int] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        next_at = time.monotonic()
        while not self.halt.is_set():
            self.sent += 1
            try:
                connection.request("GET", "/version")
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status != 200:
                self.failed += 1
            next_at += 1 / RATE
            time.sleep(max(0.0, next_at - time.monotonic()))
        connection.close()


def stop_while_routed(tmp_path: Path, prestop_delay: int) -> Client:
    """Two servers behind HAProxy under load; SIGTERM one of them while it is
    routed; return the client once the stopped server has exited."""
    env = {
        "FINLEX_PRESTOP_DELAY": str(prestop_delay),
        "FINLEX_GRACEFUL_TIMEOUT": str(GRACEFUL),
        "FINLEX_LOG_LEVEL": "warning",
    }
    with ExitStack() as stack:
        (base_a, server_a) = stack.enter_context(production_server(extra_env=env))
        (base_b, _server_b) = stack.enter_context(production_server(extra_env=env))
        ports = {"a": int(base_a.rsplit(":", 1)[1]), "b": int(base_b.rsplit(":", 1)[1])}
        port, stats = stack.enter_context(haproxy(tmp_path, ports))
        client = Client(port)
        client.start()
        stack.callback(client.join, 5)
        stack.callback(client.halt.set)
        time.sleep(WARM_UP)
        routed = int(haproxy_stat(stats)["a"]["stot"])
        assert routed > 0, "server a took no traffic before its stop"
        server_a.send_signal(signal.SIGTERM)
        server_a.wait(timeout=prestop_delay + GRACEFUL + 5)
        assert server_a.returncode == 0
        time.sleep(AFTER_EXIT)
        client.halt.set()
        client.join(5)
    return client


def test_a_stop_while_routed_loses_nothing_with_the_prestop_delay(tmp_path: Path) -> None:
    assert PRESTOP_DELAY > CHECK_INTER_MS * CHECK_FALL / 1000
    without = stop_while_routed(tmp_path, prestop_delay=0)
    with_delay = stop_while_routed(tmp_path, prestop_delay=PRESTOP_DELAY)
    print(
        f"stop while routed at {RATE} req/s: FINLEX_PRESTOP_DELAY=0 failed "
        f"{without.failed} of {without.sent} {without.statuses}; "
        f"FINLEX_PRESTOP_DELAY={PRESTOP_DELAY} failed {with_delay.failed} of "
        f"{with_delay.sent} {with_delay.statuses}"
    )
    # The negative control: today's behaviour loses requests, and the harness sees it.
    assert without.failed > 0, without.statuses
    assert with_delay.failed == 0, with_delay.statuses
    assert with_delay.sent > RATE * WARM_UP
