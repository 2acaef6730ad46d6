"""The pushed image, served on this machine: the stand-in for an environment's public URL.

`finlex-release verify-record` writes a verification record only once every
answer of the environment's public URL comes from the commit it records. The
emulator has no load balancer and starts no task, so nothing answers at the
service's URL. The image whose manifest the rehearsal put into ECR runs here
instead, one container on 127.0.0.1 (read-only root, writable /tmp, as the task
definition runs it), and verify-record checks it over plain http
(`--allow-http`).

What this does not cover: the load balancer's routing and TLS, and that the
container answering is a task of the service's running revision. That the
service runs the digest is what verify-record reads from ECS itself (the
revision check), before and after it polls the URL.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from finlex_release.verify import DEFAULT_HEALTH_PATH as HEALTH_PATH
from localhost import free_port

REVISION_LABEL = "org.opencontainers.image.revision"  # what `make image` bakes in


class ServeError(Exception):
    """The image did not start or did not answer; the message says which."""


@dataclass(frozen=True)
class Served:
    url: str  # http://127.0.0.1:<port>
    revision: str  # the image's revision label: the commit verify-record records


def _docker(docker: str, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - argument list, no shell
        [docker, *args], capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ServeError(f"docker {args[0]}: {lines[0] if lines else result.returncode}")
    return result.stdout.strip()


def revision(docker: str, image: str) -> str:
    """The commit `image` was built from, from its OCI label."""
    label = f'{{{{ index .Config.Labels "{REVISION_LABEL}" }}}}'
    found = _docker(docker, "image", "inspect", "--format", label, image)
    if not found or found == "<no value>":
        raise ServeError(f"{image} has no {REVISION_LABEL} label: build it with make image")
    return found


def _wait_healthy(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + HEALTH_PATH, timeout=2) as answer:  # noqa: S310 - http://127.0.0.1 only
                if answer.status == 200:
                    return
                last = f"HTTP {answer.status}"
        except (OSError, urllib.error.URLError) as error:
            last = str(error)
        time.sleep(0.3)
    raise ServeError(f"{url}{HEALTH_PATH} did not answer 200 within {timeout:.0f} s: {last}")


@contextmanager
def served(docker: str, image: str, timeout: float = 60) -> Iterator[Served]:
    """`image` running on a free 127.0.0.1 port while the block runs; removed after."""
    port = free_port()
    name = f"finlex-rehearsal-{port}"
    commit = revision(docker, image)
    _docker(
        docker, "run", "--detach", "--rm", "--name", name, "--network", "host",
        "--read-only", "--tmpfs", "/tmp:rw,mode=1777",  # noqa: S108 - the task's volume
        "--env", "FINLEX_HOST=127.0.0.1", "--env", f"FINLEX_PORT={port}", image,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, timeout)
        yield Served(url, commit)
    finally:
        subprocess.run(  # noqa: S603 - argument list, no shell
            [docker, "rm", "--force", name], capture_output=True, check=False, timeout=60
        )
