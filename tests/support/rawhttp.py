"""Raw HTTP/1.1 over a socket: requests written byte for byte, responses read one
at a time, so that nothing between a test and the server normalises either."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    assert parts.hostname
    assert parts.port
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


class Conn:
    """A raw connection that reads responses one at a time, framed by Content-Length."""

    def __init__(self, base_url: str) -> None:
        self.sock = connect(base_url)
        self.buffer = b""

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def read(self, head: bool = False) -> Reply:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"connection closed before a full response: {self.buffer!r}"
        raw_head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = raw_head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(status_line.split()[1])
        if head or status in (100, 204, 304):
            return Reply(status, headers, b"")
        # Self-delimiting: a length is given (this app never streams).
        assert "content-length" in headers, f"no Content-Length in {status_line}: {headers}"
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            assert self._fill(), "connection closed inside the body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Reply(status, headers, body)

    def replies_until_close(self, wait: float = 3) -> tuple[list[Reply], bool]:
        """Every response the server sends, and whether it then closed the
        connection cleanly (EOF after a whole response) within `wait` seconds."""
        replies: list[Reply] = []
        self.sock.settimeout(wait)
        try:
            while True:
                while b"\r\n\r\n" not in self.buffer:
                    if not self._fill():
                        return replies, self.buffer == b""
                replies.append(self.read())
        except TimeoutError:
            return replies, False
        except ConnectionResetError:
            return replies, self.buffer == b""

    def closed_by_server(self, wait: float = 3) -> bool:
        """True when the server closes the connection (EOF) with nothing more to say."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b"" and self.buffer == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True


def exchange(base_url: str, payload: bytes) -> Reply:
    with Conn(base_url) as conn:
        conn.send(payload)
        return conn.read()
