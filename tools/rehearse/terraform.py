"""Real Terraform against the emulator: the CLI, the provider mirror, a working copy of infra/.

The product is never edited. The rehearsal works on a copy of ``infra/`` and
adds only ``emulator_override.tf`` files (Terraform's own override mechanism)
that point the provider at the emulator. The root's state goes to the real
``s3`` backend of ``infra/backend.tf`` (``use_lockfile``), in the emulated
bucket that ``infra/bootstrap`` created.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tfmirror
from rehearse.emulator import ADMIN_KEY, REGION

# Provider endpoint names of every service the configuration uses.
SERVICES = (
    "acm",
    "applicationautoscaling",
    "cloudwatch",
    "cloudwatchlogs",
    "ec2",
    "ecr",
    "ecs",
    "elbv2",
    "iam",
    "kms",
    "route53",
    "s3",
    "sns",
    "sts",
)


class MissingError(Exception):
    """The machine lacks the Terraform CLI or a provider mirror."""


class TerraformError(Exception):
    """A Terraform command failed; the message is its error output."""


def find_mirror() -> Path:
    """The filesystem mirror holding hashicorp/aws (tools/tfmirror.py's lookup)."""
    mirror = tfmirror.find()
    if mirror is None:
        raise MissingError(
            f"no filesystem mirror of {tfmirror.PROVIDER} in {tfmirror.where()} "
            f"(set {tfmirror.MIRROR_ENV})"
        )
    return mirror


def find_terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        raise MissingError("the terraform CLI is not on PATH")
    return path


def provider_override(url: str) -> str:
    endpoints = "\n".join(f'    {name:<22} = "{url}"' for name in SERVICES)
    return f"""# Written by the rehearsal (tools/rehearse): the emulated AWS account.
provider "aws" {{
  access_key                  = "{ADMIN_KEY}"
  secret_key                  = "{ADMIN_KEY}"
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


def backend_config(url: str, bucket: str, key: str) -> str:
    return f"""bucket                      = "{bucket}"
key                         = "{key}"
region                      = "{REGION}"
endpoints                   = {{ s3 = "{url}", sts = "{url}" }}
use_path_style              = true
access_key                  = "{ADMIN_KEY}"
secret_key                  = "{ADMIN_KEY}"
skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_region_validation      = true
"""


@dataclass
class Terraform:
    """One Terraform working directory, with its log."""

    chdir: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    binary: str = "terraform"

    def run(
        self, *args: str, check: bool = True, codes: Sequence[int] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        command = [self.binary, f"-chdir={self.chdir}", *args]
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603 - argument list, no shell
            command,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=False,
        )
        with self.log.open("a") as log:
            log.write(f"\n$ {' '.join(command)}  ({time.monotonic() - started:.1f} s)\n")
            log.write(result.stdout)
            log.write(result.stderr)
        if check and result.returncode not in codes:
            raise TerraformError(errors_of(result.stderr or result.stdout))
        return result

    def json(self, command: str, *args: str) -> Any:
        return json.loads(self.run(command, "-json", *args).stdout)


def errors_of(output: str) -> str:
    """Terraform's error blocks, without the box drawing, or the output's tail."""
    lines = [line.lstrip("│╷╵ ").rstrip() for line in output.splitlines()]
    picked = [line for line in lines if line]
    start = next((i for i, line in enumerate(picked) if line.startswith("Error")), None)
    kept = picked[start:] if start is not None else picked[-15:]
    return "\n".join(kept[:40])


def working_copy(infra: Path, into: Path, url: str) -> Path:
    """Copy infra/ (without local state or caches) and add the emulator overrides."""
    ignore = shutil.ignore_patterns(
        ".terraform", ".terraform.lock.hcl", "*.tfstate*", "*.tfplan", "backend.hcl", "*.tfvars"
    )
    shutil.copytree(infra, into, ignore=ignore)
    shutil.copytree(infra / "examples", into / "examples", dirs_exist_ok=True)
    for root in (into, into / "bootstrap"):
        (root / "emulator_override.tf").write_text(provider_override(url))
    return into


def cli_config(mirror: Path, path: Path) -> Path:
    path.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{ path = "{mirror}" }}\n'
        '  direct { exclude = ["*/*"] }\n'
        "}\n"
    )
    return path
