"""Skip a test when the machine lacks a prerequisite, or fail under CI.

`.ci/run` installs and starts everything the tests need, so under ``CI=true``
a missing prerequisite means the pipeline is broken, not that the test does
not apply: the test fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from localhost import find_program


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip (or, under CI=true, fail) with `reason` unless `condition` holds."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"missing prerequisite under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """Return the path of the executable `name`, or skip/fail if it is not on PATH
    (nor in /usr/sbin or /sbin: tools/localhost.find_program)."""
    path = find_program(name)
    require(path is not None, f"{name} is not on PATH")
    assert path is not None
    return path


def docker_client() -> str:
    """The docker client to use: $DOCKER, else Debian's (it does BuildKit builds;
    a newer client without buildx may come first on PATH), else PATH's."""
    explicit = os.environ.get("DOCKER")
    if explicit:
        return explicit
    if Path("/usr/bin/docker").exists():
        return "/usr/bin/docker"
    return shutil.which("docker") or "docker"
