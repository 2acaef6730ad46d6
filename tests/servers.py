"""Start the production server (the finlex-api command) as a real process on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

APPLICATION = Path(__file__).resolve().parent.parent / "application"
# The production server: the console script that installing application/ (make venv)
# puts beside this interpreter, as the image's CMD runs it.
SERVER = str(Path(sys.executable).with_name("finlex-api"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Poll `url` until it answers at all; fail early if the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextmanager
def production_server(
    *, target: str | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the finlex-api command on a free loopback port; yield (base URL, process)."""
    port = free_port()
    env = {
        **os.environ,
        "FINLEX_HOST": "127.0.0.1",
        "FINLEX_PORT": str(port),
        "FINLEX_WORKERS": "2",
        **(extra_env or {}),
    }
    argv = [SERVER, *([target] if target else [])]
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base + "/", process)
        yield base, process
    finally:
        stop_group(process)
        if process.stdout:
            process.stdout.close()


def stop_group(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """Stop the server and its workers: SIGTERM to the group, then SIGKILL.

    Killing only the main process would leave its worker processes orphaned.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    # Workers may outlive a main process that already exited.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
