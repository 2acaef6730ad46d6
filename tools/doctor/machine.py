"""What the checks look at: the environment, commands run read-only, the checkout.

Tests replace parts of a Machine instead of this machine's tools.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tfmirror

REPO = Path(__file__).resolve().parents[2]
# Generous: on a busy machine `docker info` can take seconds; a healthy one answers at once.
TIMEOUT = 15.0


class Runner(Protocol):
    def __call__(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str] | None: ...


def run_command(
    argv: Sequence[str], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str] | None:
    """Run a read-only command; None when it cannot be started or times out."""
    try:
        return subprocess.run(  # noqa: S603 - fixed argument lists built here
            list(argv),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=None if env is None else dict(env),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


@dataclass
class Machine:
    """What the checks look at; tests replace parts of it."""

    env: Mapping[str, str]
    run: Runner = run_command
    repo: Path = REPO
    # Where a provider mirror may be besides the user's own folders (tools/tfmirror.py).
    terraform_dirs: tuple[Path, ...] = tfmirror.SYSTEM_DIRS
    opt: Path = tfmirror.OPT
    # Whether registry.terraform.io answers (one HTTPS GET; tests replace it).
    registry: Callable[[Mapping[str, str]], bool] = tfmirror.registry_reachable
    python: tuple[int, int, int] = (
        sys.version_info.major,
        sys.version_info.minor,
        sys.version_info.micro,
    )

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.env.get("PATH", ""))

    @property
    def docker(self) -> str:
        return self.env.get("DOCKER") or "docker"


def version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return ()
    return tuple(int(part) for part in match.groups() if part is not None)


def free_gb(path: Path) -> float | None:
    try:
        return shutil.disk_usage(path).free / 1e9
    except OSError:
        return None
