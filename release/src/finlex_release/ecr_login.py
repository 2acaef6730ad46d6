"""ecr-login: log Docker in to the ECR registry with a boto3 authorization token.

Replaces ``aws ecr get-login-password | docker login --password-stdin`` so that
a laptop needs no AWS CLI. The password goes to Docker on stdin, never on a
command line or in the output.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
from typing import Any, TextIO

from finlex_release.command import AddCommand, Context, aws
from finlex_release.errors import ReleaseError, UsageError
from finlex_release.waiting import Progress


def credentials(ecr: Any, registry_id: str | None = None) -> tuple[str, str, str]:
    """(user, password, registry host) from ECR's authorization token."""
    kwargs = {"registryIds": [registry_id]} if registry_id else {}
    data = ecr.get_authorization_token(**kwargs)["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    host = data["proxyEndpoint"].removeprefix("https://").removeprefix("http://")
    return user, password, host


def docker_login(executable: str, ecr: Any, registry_id: str | None) -> str:
    """`docker login` to the registry (password on stdin); return the registry host."""
    user, password, host = credentials(ecr, registry_id)
    result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [executable, "login", "--username", user, "--password-stdin", host],
        input=password,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ReleaseError(f"docker login to {host} failed: {last_line(result)}")
    return host


def docker_logout(executable: str, host: str) -> str | None:
    """`docker logout` of the registry, so that no credentials stay in docker's
    config or credential store; the reason when it failed, else None."""
    result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [executable, "logout", host], capture_output=True, text=True, check=False
    )
    return None if result.returncode == 0 else last_line(result)


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
    return lines[-1]


def docker_command(docker: str) -> str:
    """The docker executable on PATH; UsageError naming it when there is none."""
    executable = shutil.which(docker)
    if executable is None:
        raise UsageError(f"docker command {docker!r} not found on PATH")
    return executable


def login(
    ecr: Any,
    *,
    docker: str,
    registry_id: str | None,
    out: TextIO,
    progress: Progress,
) -> None:
    """Run `docker login` for the registry; print the registry host on stdout."""
    host = docker_login(docker_command(docker), ecr, registry_id)
    progress(f"docker logged in to {host}")
    print(host, file=out)


def run(args: argparse.Namespace, context: Context) -> None:
    """`finlex-release ecr-login`."""
    login(
        aws(args, context)("ecr"),
        docker=args.docker,
        registry_id=args.registry_id,
        out=context.out,
        progress=context.progress,
    )


def register(command: AddCommand) -> None:
    """The ecr-login subcommand and its options."""
    parser = command(
        "ecr-login",
        run,
        "docker login to the ECR registry (password on stdin); print the registry host.",
    )
    parser.add_argument("--registry-id", help="AWS account ID of the registry (default: yours)")
    parser.add_argument("--docker", default="docker", help="docker command (default docker)")
