"""HAProxy as the ALB's stand-in: how targets come and go, the Host rule, the settings table."""

from __future__ import annotations

import http.client
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from traffic import balancer as haproxy
from traffic import spec as specs

from localhost import free_port

DOCS = Path(__file__).resolve().parents[2] / "docs" / "traffic.md"


@contextmanager
def backend(name: str) -> Iterator[tuple[int, list[str]]]:
    """A server that answers every path with 200 and its name; yields (port, paths asked)."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            asked.append(self.path)
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield server.server_address[1], asked
        finally:
            server.shutdown()


def get(balancer: haproxy.Balancer, host: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", balancer.port, timeout=5)
    try:
        connection.request("GET", "/version", headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def fast(terraform_spec: specs.Spec) -> specs.Spec:
    """Terraform's settings, checks every 0.2 s so that a test takes a second or two."""
    return replace(terraform_spec, health_check=replace(terraform_spec.health_check, interval=0.2))


def wait_for(balancer: haproxy.Balancer, name: str, state: str, limit: float = 10) -> float:
    began = time.monotonic()
    while balancer.states().get(name) != state:
        assert time.monotonic() - began < limit, f"{name} never {state}: {balancer.states()}"
        time.sleep(0.02)
    return time.monotonic() - began


def test_a_new_target_is_down_until_it_passes_healthy_threshold_checks(
    fast: specs.Spec, haproxy_binary: str, tmp_path: Path
) -> None:
    with (
        backend("a") as (port, asked),
        haproxy.running(fast, haproxy_binary, free_port(), tmp_path) as balancer,
    ):
        balancer.register("a", port)
        assert balancer.states() == {"a": "DOWN"}
        # No request reaches a target that has not passed its checks.
        assert get(balancer, fast.host_names[0])[0] == 503
        took = wait_for(balancer, "a", "UP")
        assert took >= fast.health_check.interval * (fast.health_check.healthy_threshold - 1)
        assert get(balancer, fast.host_names[0]) == (200, "a")
        assert "/version" in asked


def test_another_host_gets_the_listeners_fixed_response(
    fast: specs.Spec, haproxy_binary: str, tmp_path: Path
) -> None:
    with (
        backend("a") as (port, asked),
        haproxy.running(fast, haproxy_binary, free_port(), tmp_path) as balancer,
    ):
        balancer.register("a", port)
        wait_for(balancer, "a", "UP")
        before = asked.count("/version")
        assert get(balancer, "finlex-123.us-east-1.elb.amazonaws.com")[0] == 404
        assert get(balancer, f"{fast.host_names[0]}:443")[0] == 200
        assert asked.count("/version") == before + 1  # the 404 never reached the target


def test_a_draining_target_gets_no_new_request_and_leaves_on_deregister(
    fast: specs.Spec, haproxy_binary: str, tmp_path: Path
) -> None:
    host = fast.host_names[0]
    with (
        backend("a") as (port_a, _),
        backend("b") as (port_b, _),
        haproxy.running(fast, haproxy_binary, free_port(), tmp_path) as balancer,
    ):
        balancer.register("a", port_a)
        balancer.register("b", port_b)
        wait_for(balancer, "a", "UP")
        wait_for(balancer, "b", "UP")
        assert {get(balancer, host)[1] for _ in range(6)} == {"a", "b"}
        balancer.drain("a")
        assert balancer.states()["a"] == "DRAIN"
        assert {get(balancer, host)[1] for _ in range(6)} == {"b"}
        balancer.deregister("a")
        assert set(balancer.states()) == {"b"}


def test_a_bad_configuration_is_one_line_from_haproxy(
    fast: specs.Spec, haproxy_binary: str, tmp_path: Path
) -> None:
    broken = replace(fast, other_host_status=999)
    with (
        pytest.raises(
            haproxy.BalancerError,
            match=r"^HAProxy did not start: config : parsing .* Unexpected status code '999'",
        ),
        haproxy.running(broken, haproxy_binary, 1, tmp_path),
    ):
        pass


def test_the_docs_table_is_the_code_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for setting in haproxy.SETTINGS:
        row = f"| {setting.alb} | {setting.haproxy} | {setting.difference} |"
        assert row in text, f"docs/traffic.md lacks the row: {row}"
