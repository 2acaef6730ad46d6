"""Real Terraform with the real hashicorp/aws provider, from a mirror or the registry.

The provider comes from a filesystem mirror when the machine has one, else
from registry.terraform.io under infra/.terraform.lock.hcl (tools/tfmirror.py
downloads it once into a mirror of its own). Without the CLI, or without both
a mirror and the registry, the test skips with the reason and its fix; under
CI=true it fails instead (tests/support/prerequisites.py): CI must provide them.
"""

from __future__ import annotations

import functools
import socket
from pathlib import Path

from rehearse.terraform import MissingError, find_mirror
from rehearse.terraform import cli_config as write_cli_config
from support.prerequisites import require, require_tool


def require_terraform_and_mirror(test: str) -> tuple[str, Path]:
    """The terraform CLI and the mirror to give it, or skip (fail under CI=true) saying why."""
    terraform = require_tool("terraform")
    mirror, missing = _provider(terraform)
    require(mirror is not None, f"{test} needs hashicorp/aws: {missing}")
    assert mirror is not None
    return terraform, mirror


@functools.cache
def _provider(terraform: str) -> tuple[Path | None, str]:
    """Looked up (and, from the registry, downloaded) once per test session."""
    try:
        return find_mirror(terraform), ""
    except MissingError as missing:
        return None, str(missing)


def cli_config(work: Path, mirror: Path) -> Path:
    return write_cli_config(mirror, work / "cli.tfrc")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
