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
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
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


# How every init runs, as in CI (the Makefile's TF_INIT).
INIT = ("init", "-input=false", "-no-color", "-lockfile=readonly")


class MissingError(Exception):
    """The machine lacks the Terraform CLI or a provider mirror."""


class TerraformError(Exception):
    """A Terraform command failed; the message is its error output."""


def find_provider(terraform: str) -> tfmirror.Source:
    """hashicorp/aws from a filesystem mirror, else from the registry under the lock.

    A registry source is downloaded here, once, into a mirror of its own
    (tools/tfmirror.py), so that every later init finds a mirror either way.
    """
    found = tfmirror.source()
    if found is None:
        raise MissingError(tfmirror.missing())
    try:
        tfmirror.fetch(found, terraform)
    except tfmirror.FetchError as error:
        raise MissingError(str(error)) from None
    return found


def find_mirror(terraform: str | None = None) -> Path:
    """The filesystem mirror Terraform takes hashicorp/aws from (see find_provider)."""
    return find_provider(terraform or find_terraform()).mirror


def find_terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        raise MissingError(
            "the terraform CLI is not on PATH: install Terraform >= 1.10 "
            "(https://developer.hashicorp.com/terraform/install)"
        )
    return path


def provider_override(url: str) -> str:
    endpoints = "\n".join(f'    {name:<22} = "{url}"' for name in SERVICES)
    return f"""# Written by the rehearsal (tools/rehearse): the emulated AWS account.
# Credentials come from the environment (credentials()): the administrator's
# or a pipeline role's session, as the step runs.
provider "aws" {{
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
skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_region_validation      = true
"""


def automation_env(cli_config: Path) -> dict[str, str]:
    """Terraform's settings for a run no one watches: providers from `cli_config`
    (the mirror), output for automation, no checkpoint calls, no plugin cache
    (a cache of the caller's could hold another build of the provider)."""
    return {
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "TF_PLUGIN_CACHE_DIR": "",
    }


def credentials(session: Mapping[str, str] | None = None) -> dict[str, str]:
    """AWS credentials of a Terraform run: a role's session, or else the administrator."""
    if session is not None:
        return dict(session)
    return {"AWS_ACCESS_KEY_ID": ADMIN_KEY, "AWS_SECRET_ACCESS_KEY": ADMIN_KEY}


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
            # Nothing of the caller's own AWS settings: the rehearsal never
            # reaches a real account, and each step's credentials are its own.
            env={**without_aws(os.environ), **self.env},
            capture_output=True,
            text=True,
            check=False,
        )
        with self.log.open("a") as log:
            log.write(f"\n$ {' '.join(command)}  ({time.monotonic() - started:.1f} s)\n")
            log.write(result.stdout)
            log.write(result.stderr)
        if check and result.returncode not in codes:
            output = result.stderr or result.stdout
            raise TerraformError(lock_mismatch(output, self.chdir) or errors_of(output))
        return result

    def json(self, command: str, *args: str) -> Any:
        return json.loads(self.run(command, "-json", *args).stdout)


def without_aws(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without the caller's AWS_* settings: the rehearsal reaches no real account."""
    return {name: value for name, value in environ.items() if not name.startswith("AWS_")}


def errors_of(output: str) -> str:
    """Terraform's error blocks, without the box drawing, or the output's tail."""
    lines = [line.lstrip("│╷╵ ").rstrip() for line in output.splitlines()]
    picked = [line for line in lines if line]
    start = next((i for i, line in enumerate(picked) if line.startswith("Error")), None)
    kept = picked[start:] if start is not None else picked[-15:]
    return "\n".join(kept[:40])


# Terraform's words when the lock and the provider offered disagree: what each means, and the fix.
LOCK_FIX = "run `make tf-lock` where registry.terraform.io is reachable and commit the lock"
_LOCK_ERRORS = (
    (
        re.compile(
            r"doesn't match any of the checksums previously recorded in the dependency lock"
        ),
        "does not match the hashicorp/aws package offered (none of its checksums matches)",
        LOCK_FIX,
    ),
    (
        re.compile(r"the previously-selected version (\S+) is no longer available"),
        "pins hashicorp/aws {0}, which the provider source does not offer",
        f"offer that version ({tfmirror.MIRROR_ENV} naming a mirror that holds it)",
    ),
    (
        re.compile(r"Provider dependency changes detected"),
        "does not cover the configuration's providers (missing or out of date)",
        LOCK_FIX,
    ),
)


def lock_mismatch(output: str, root: Path) -> str | None:
    """One line when `terraform init -lockfile=readonly` failed on the lock, else None.

    Terraform's own text is a dozen wrapped lines ending in a link; what the
    reader needs is which lock, that it does not match, and the fix.
    """
    flat = " ".join(output.replace("│", " ").split())
    for pattern, meaning, fix in _LOCK_ERRORS:
        match = pattern.search(flat)
        if match:
            return (
                f"the lock {root.name}/.terraform.lock.hcl {meaning.format(*match.groups())}: {fix}"
            )
    return None


def working_copy(infra: Path, into: Path, url: str) -> Path:
    """Copy infra/ (without local state or caches) and add the emulator overrides.

    The committed .terraform.lock.hcl files come along: every init is
    ``-lockfile=readonly`` (INIT), so the rehearsal runs the provider the lock
    names, and a mirror that does not match the lock fails the init.
    """
    ignore = shutil.ignore_patterns(
        ".terraform", "*.tfstate*", "*.tfplan", "backend.hcl", "*.tfvars"
    )
    shutil.copytree(infra, into, ignore=ignore)
    shutil.copytree(infra / "examples", into / "examples", dirs_exist_ok=True)
    # Each environment's var file and state key (infra/environments).
    if (infra / "environments").is_dir():
        shutil.copytree(infra / "environments", into / "environments", dirs_exist_ok=True)
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
