"""Real Terraform offline: the hashicorp/aws provider from a filesystem mirror.

The tests that run Terraform with the real provider skip, with a printed
reason, when the CLI or a mirror is missing; that skip stands under CI=true
too, because the registry cannot be reached everywhere.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

import tfmirror
from rehearse.terraform import cli_config as write_cli_config


def require_terraform_and_mirror(test: str) -> tuple[str, Path]:
    terraform = shutil.which("terraform")
    mirror = tfmirror.find()
    if terraform is None or mirror is None:
        reason = "the terraform CLI" if terraform is None else "a mirror of hashicorp/aws"
        print(f"SKIP {test}: needs {reason} ({tfmirror.MIRROR_ENV} names a mirror)")
        pytest.skip(f"needs {reason}")
    return terraform, mirror


def cli_config(work: Path, mirror: Path) -> Path:
    return write_cli_config(mirror, work / "cli.tfrc")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
