"""HAProxy as the Application Load Balancer's stand-in, configured from the Spec.

`SETTINGS` is the one table of how each ALB setting becomes HAProxy's and
where the two differ; docs/traffic.md prints it (a test keeps them equal).
Targets come and go through HAProxy's runtime API (dynamic servers), as ECS
registers and deregisters them with the target group.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from localhost import stop
from traffic.spec import Spec

BACKEND = "targets"


@dataclass(frozen=True)
class Setting:
    alb: str
    haproxy: str
    difference: str


SETTINGS = (
    Setting("round robin across healthy targets", "balance roundrobin", "none"),
    Setting(
        "health check path and matcher",
        "option httpchk GET <path>; http-check expect status <matcher>",
        "none",
    ),
    Setting(
        "health check interval, timeout",
        "check inter <interval>; timeout check <timeout>",
        "the ALB checks from every node; HAProxy is one node",
    ),
    Setting("healthy / unhealthy threshold", "rise <healthy> / fall <unhealthy>", "none"),
    Setting(
        "a new target starts in `initial` and must pass the checks",
        "the target is added DOWN with checks on; `rise` passes make it UP",
        "none",
    ),
    Setting(
        "deregistration: no new requests, in-flight ones finish for the delay, then closed",
        "`set server state drain`; after the delay `state maint` and `shutdown sessions`",
        "the ALB's deregistration reaches its nodes over seconds; the orchestrator adds "
        "that lag where a scenario needs it",
    ),
    Setting(
        "idle timeout (client and target connections)",
        "timeout http-keep-alive / client <idle>; idle target connections purged after <idle>",
        "HAProxy purges idle target connections in rounds (pool-purge-delay)",
    ),
    Setting("no retry of a failed request", "retries 0, no option redispatch", "none"),
    Setting(
        "HTTPS listener: a rule forwards the service's Host names; any other Host gets "
        "the default fixed response (404)",
        "`http-request return status <status>` unless the Host is one of the names",
        "none",
    ),
    Setting(
        "target connections reused across clients",
        "http-reuse always",
        "none that a client can see",
    ),
    Setting(
        "all targets unhealthy: the ALB fails open and routes to all",
        "503 from HAProxy",
        "HAProxy does not fail open; no scenario has every target unhealthy",
    ),
    Setting(
        "TLS on :443 and the HTTP-to-HTTPS redirect",
        "plain HTTP on a loopback port",
        "no TLS: the load goes to loopback only",
    ),
)

CONFIG = """\
global
    stats socket {socket} level admin
    maxconn 4096
defaults
    mode http
    retries 0
    timeout connect 2s
    timeout client {idle_ms}ms
    timeout server 30s
    timeout http-keep-alive {idle_ms}ms
    timeout check {check_timeout_ms}ms
frontend alb
    bind 127.0.0.1:{port}
    acl service_host req.hdr(host),field(1,:) -i {host_names}
    http-request return status {other_status} content-type text/plain string "not found" \
        unless service_host
    default_backend {backend}
backend {backend}
    balance roundrobin
    http-reuse always
    option httpchk GET {path}
    http-check expect status {matcher}
"""


class BalancerError(Exception):
    """HAProxy could not start or refused a command; the message says which."""


def config_text(spec: Spec, port: int, runtime_socket: Path) -> str:
    check = spec.health_check
    return CONFIG.format(
        socket=runtime_socket,
        port=port,
        backend=BACKEND,
        idle_ms=round(spec.idle_timeout * 1000),
        check_timeout_ms=round(check.timeout * 1000),
        path=check.path,
        matcher=check.matcher,
        other_status=spec.other_host_status,
        host_names=" ".join(spec.host_names),
    )


@dataclass
class Balancer:
    """A running HAProxy: its frontend port and its runtime API."""

    spec: Spec
    port: int
    runtime_socket: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, line: str) -> str:
        return runtime_command(self.runtime_socket, line)

    def _checked(self, line: str) -> None:
        answer = self.command(line).strip()
        if answer and not answer.startswith(("New server registered", "Server deleted")):
            raise BalancerError(f"HAProxy refused `{line}`: {answer}")

    def register(self, name: str, port: int) -> None:
        """Add a target DOWN with health checks on; it becomes UP after `rise` passes.

        HAProxy enables a server UP; with weight 0 it takes no request until
        it has been marked down, and only then gets its weight.
        """
        check = self.spec.health_check
        target = f"{BACKEND}/{name}"
        self._checked(
            f"add server {target} 127.0.0.1:{port} weight 0 check"
            f" inter {round(check.interval * 1000)}ms"
            f" rise {check.healthy_threshold} fall {check.unhealthy_threshold}"
            f" pool-purge-delay {round(self.spec.idle_timeout * 1000)}ms"
        )
        self._checked(f"enable health {target}")
        self._checked(f"enable server {target}")
        self._checked(f"set server {target} health down")
        self._checked(f"set server {target} weight 1")

    def drain(self, name: str) -> None:
        """Deregistration begins: no new requests; those in flight go on."""
        self._checked(f"set server {BACKEND}/{name} state drain")

    def deregister(self, name: str) -> None:
        """The delay is over (or the task is gone): close what is left and remove it."""
        self._checked(f"set server {BACKEND}/{name} state maint")
        self._checked(f"shutdown sessions server {BACKEND}/{name}")
        deadline = time.monotonic() + 10
        while True:
            answer = self.command(f"del server {BACKEND}/{name}").strip()
            if answer.startswith("Server deleted"):
                return
            if time.monotonic() > deadline:
                raise BalancerError(f"HAProxy kept {name}: {answer}")
            time.sleep(0.1)

    def states(self) -> dict[str, str]:
        """Each target's state as HAProxy shows it: UP, DOWN, DRAIN, MAINT, ..."""
        servers = server_stats(self.command("show stat"), BACKEND)
        return {name: row["status"].split(" ")[0] for name, row in servers.items()}


def runtime_command(runtime_socket: Path, line: str) -> str:
    """One command on HAProxy's runtime API socket; its whole answer (HAProxy then closes)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(runtime_socket))
        sock.sendall(line.encode() + b"\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.decode()


def server_stats(show_stat: str, backend: str) -> dict[str, dict[str, str]]:
    """`show stat`'s CSV for the servers of `backend`: server name -> column -> value.

    The BACKEND and FRONTEND rows are the proxy's totals, not servers."""
    lines = show_stat.splitlines()
    if not lines:
        return {}
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
    return {
        row["svname"]: row
        for row in rows
        if row.get("pxname") == backend and row["svname"] not in ("BACKEND", "FRONTEND")
    }


@contextmanager
def running(spec: Spec, binary: str, port: int, folder: Path) -> Iterator[Balancer]:
    """HAProxy on 127.0.0.1:`port` with no targets; stopped on the way out, always.

    Its configuration and log go to `folder`; the runtime socket to a short
    temporary path (a Unix socket's path has at most 107 bytes)."""
    sockets = Path(tempfile.mkdtemp(prefix="finlex-haproxy-"))
    runtime_socket = sockets / "runtime.sock"
    config = folder / "haproxy.cfg"
    config.write_text(config_text(spec, port, runtime_socket))
    log = (folder / "haproxy.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - argument list, no shell
        [binary, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        balancer = Balancer(spec, port, runtime_socket)
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                alert = _first_alert(folder / "haproxy.log")
                raise BalancerError(f"HAProxy did not start: {alert}")
            with contextlib.suppress(OSError):
                balancer.states()
                break
            if time.monotonic() > deadline:
                raise BalancerError("HAProxy's runtime socket did not answer within 10 s")
            time.sleep(0.05)
        yield balancer
    finally:
        stop(process)
        log.close()
        shutil.rmtree(sockets, ignore_errors=True)


def _first_alert(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines()
    alerts = [line.split(" : ", 1)[-1] for line in lines if "[ALERT]" in line]
    return alerts[0] if alerts else (lines[-1] if lines else "no output")
