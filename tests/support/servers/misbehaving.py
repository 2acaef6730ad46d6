"""Local HTTP servers that misbehave on cue, for the probe's tests (loopback only).

`serving(schedule)` runs a threaded HTTP/1.1 keep-alive server on 127.0.0.1 and
asks `schedule(t)` what to do with a request that arrives `t` seconds after
the first one: answer, answer 503, drop the connection with a reset, stall, or
trickle the body. `idle_timeout` closes idle keep-alive connections the way an
ALB's or a server's idle timeout does.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BODY = b'{"version": "1.0.1"}'
# What a request gets: "ok", "503", "drop" (reset, no answer), "stall" (answer
# after State.stall seconds), "trickle" (one body byte every 0.1 s).
Schedule = Callable[[float], str]


def always_ok(_elapsed: float) -> str:
    return "ok"


@dataclass
class State:
    schedule: Schedule = always_ok
    idle_timeout: float | None = None
    stall: float = 0.6
    lock: threading.Lock = field(default_factory=threading.Lock)
    first: float | None = None
    connections: int = 0
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Host)

    def action(self, path: str, host: str | None) -> str:
        with self.lock:
            now = time.monotonic()
            self.first = now if self.first is None else self.first
            self.requests.append((path, host))
            return self.schedule(now - self.first)

    def connected(self) -> None:
        with self.lock:
            self.connections += 1


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, state: State) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (the probe's timeout) breaks the pipe: expected here.
        return


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without TCP_NODELAY, Nagle holds the
    # body until the client's delayed ACK (40 ms), one request per 40 ms per connection.
    disable_nagle_algorithm = True
    server: Server

    def setup(self) -> None:
        # StreamRequestHandler applies self.timeout to the socket: an idle
        # keep-alive connection is closed when no request comes in time.
        self.timeout = self.server.state.idle_timeout
        super().setup()
        self.server.state.connected()

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        action = self.server.state.action(self.path, self.headers.get("Host"))
        if action == "drop":
            # Linger 0: closing sends a reset instead of a FIN, as a killed task does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if action == "stall":
            time.sleep(self.server.state.stall)
        self.send_response(503 if action == "503" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        if action == "trickle":
            for byte in BODY:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.1)
            return
        self.wfile.write(BODY)


@contextmanager
def serving(
    schedule: Schedule = always_ok,
    *,
    idle_timeout: float | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[tuple[str, State]]:
    """Yield (base URL, state) of a server on a free loopback port."""
    state = State(schedule, idle_timeout)
    server = Server(state)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1 and localhost, made here, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
