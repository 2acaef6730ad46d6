"""What this machine offers the tools and the tests: a free loopback port, an installed
program, and a way to stop a process that started there.

The tests import these too (tools/ is on their path); tools/ never imports tests/.
"""

from __future__ import annotations

import shutil
import socket
import subprocess

# Debian puts daemons such as haproxy and nginx here, and a user's PATH may lack them.
SYSTEM_BINARIES = "/usr/sbin:/sbin"


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1 (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_program(name: str) -> str | None:
    """The path of the executable `name` on PATH, else in /usr/sbin or /sbin; None if neither."""
    return shutil.which(name) or shutil.which(name, path=SYSTEM_BINARIES)


def stop(process: subprocess.Popen[bytes], grace: float = 5) -> None:
    """SIGTERM, then SIGKILL if `process` has not exited within `grace` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
