"""Real Terraform with the real hashicorp/aws provider, from a mirror or the registry.

The provider comes from a filesystem mirror when the machine has one, else
from registry.terraform.io under infra/.terraform.lock.hcl (tools/tfmirror.py
downloads it once into a mirror of its own). Without the CLI, or without both
a mirror and the registry, the test skips with the reason and its fix; under
CI=true it fails instead (tests/support/prerequisites.py): CI must provide them.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from rehearse.terraform import MissingError, automation_env, find_mirror
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


def environ_for(config: Path) -> dict[str, str]:
    """The caller's environment, with Terraform set as the rehearsal sets it
    (rehearse.terraform.automation_env): providers from `config`, no prompts."""
    return {**os.environ, **automation_env(config)}


# An aws provider that never reaches AWS: fixed keys, no account or metadata lookups.
OFFLINE_PROVIDER = """\
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}
"""


def plan_offline(terraform: str, mirror: Path, root: Path) -> dict[str, Any]:
    """`terraform show -json` of a plan of the configuration in `root` under the
    OFFLINE_PROVIDER (written to root/provider.tf), without a backend and without
    refreshing: for modules whose plan makes no AWS call."""
    (root / "provider.tf").write_text(OFFLINE_PROVIDER, encoding="utf-8")
    env = environ_for(cli_config(root, mirror))

    def run(*args: str) -> str:
        done = subprocess.run(
            [terraform, f"-chdir={root}", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("init", "-input=false", "-no-color", "-backend=false")
    run("plan", "-input=false", "-no-color", "-refresh=false", "-out=plan.bin")
    plan: dict[str, Any] = json.loads(run("show", "-json", "plan.bin"))
    return plan
