"""Real Terraform offline: the hashicorp/aws provider from a filesystem mirror.

The tests that run Terraform with the real provider skip, with a printed
reason, when the CLI or a mirror is missing; that skip stands under CI=true
too, because the registry cannot be reached everywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest


def provider_mirror() -> Path | None:
    """A filesystem mirror holding registry.terraform.io/hashicorp/aws/<version>/...

    FINLEX_TF_PROVIDER_MIRROR names one; otherwise Terraform's implied mirror
    directories are tried, then the file system is searched for the plugin.
    """
    given = os.environ.get("FINLEX_TF_PROVIDER_MIRROR")
    candidates = [Path(given)] if given else []
    data_home = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    candidates += [
        Path.home() / ".terraform.d" / "plugins",
        data_home / "terraform" / "plugins",
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    ]
    for base in candidates:
        if any(aws_versions(base)):
            return base
    if given or shutil.which("find") is None:
        return None
    found = subprocess.run(
        ["find", "/", "(", "-path", "/proc", "-o", "-path", "/sys", ")", "-prune", "-o",
         "-path", "*registry.terraform.io/hashicorp/aws/*", "-name", "terraform-provider-aws*",
         "-print", "-quit"],
        capture_output=True, text=True, timeout=120, check=False,
    ).stdout.strip()  # fmt: skip
    if not found:
        return None
    return Path(found.split("/registry.terraform.io/", 1)[0])


def aws_versions(mirror: Path) -> list[str]:
    """Versions of hashicorp/aws that the mirror holds a plugin binary of."""
    base = mirror / "registry.terraform.io" / "hashicorp" / "aws"
    return sorted({p.parent.parent.name for p in base.glob("*/*/terraform-provider-aws*")})


def require_terraform_and_mirror(test: str) -> tuple[str, Path]:
    terraform = shutil.which("terraform")
    mirror = provider_mirror()
    if terraform is None or mirror is None:
        reason = "the terraform CLI" if terraform is None else "a mirror of hashicorp/aws"
        print(f"SKIP {test}: needs {reason} (FINLEX_TF_PROVIDER_MIRROR names a mirror)")
        pytest.skip(f"needs {reason}")
    return terraform, mirror


def cli_config(work: Path, mirror: Path) -> Path:
    path = work / "cli.tfrc"
    path.write_text(
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path = {json.dumps(str(mirror))}\n  }}\n"
        '  direct {\n    exclude = ["*/*"]\n  }\n}\n',
        encoding="utf-8",
    )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
