"""The verification record: an SSM parameter that says an environment's service
ran an image digest and every check on it passed there.

`finlex-release verify-record` writes it once its own checks pass; `promote`
reads the record of the environment it promotes from and refuses a digest
without one. An ECR tag could say "verified" but carries no data, and the
repository's tags are immutable: a parameter holds the whole record (digest,
repository, commit, time, checks) and its history.

Where it lives is RECORD_PATH, the one home of that name: infra/ scopes each
environment's deploy role to write its own environment's records only, so
only staging's deploy role can write /finlex/staging/verified/<hex>.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from finlex_release.aws import error_code
from finlex_release.errors import ReleaseError, UsageError
from finlex_release.images import Image

# One parameter per environment and digest: RECORD_PATH + the digest's 64 hex digits,
# e.g. /finlex/staging/verified/3f5c...e1. Keep in step with release/README.md.
RECORD_PATH = "/finlex/{environment}/verified/"
RECORD_FORMAT = 1
# What verify-record checks itself; a record must list each of them.
REQUIRED_CHECKS = ("test-record", "service-runs-digest", "deployment-completed", "verify")
_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")


@dataclass(frozen=True)
class Record:
    """What an environment verified of one image."""

    environment: str
    repository: str
    digest: str
    commit: str
    verified_at: str  # ISO 8601, UTC
    service: str  # cluster/service
    task_definition: str
    url: str
    checks: tuple[str, ...] = REQUIRED_CHECKS
    # Checks the caller ran before (e.g. the live probe around the deploy), as reported.
    reported: tuple[str, ...] = field(default_factory=tuple)
    format: int = RECORD_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    def summary(self) -> str:
        checks = ", ".join((*self.checks, *(f"{name} (reported)" for name in self.reported)))
        return (
            f"{self.environment} verified {self.repository}@{self.digest} (commit {self.commit}) "
            f"on {self.service} at {self.verified_at}: {checks}"
        )


def environment(text: str) -> str:
    """An environment name (staging, production, preview): what RECORD_PATH embeds."""
    if not _ENVIRONMENT.match(text):
        raise UsageError(
            f"environment {text!r} must be lower-case letters, digits and '-', starting "
            "with a letter (at most 32 characters)"
        )
    return text


def parameter_name(env: str, digest: str) -> str:
    """Where the record of `digest` in `env` lives."""
    match = _DIGEST.match(digest)
    if not match:
        raise UsageError(f"digest {digest!r} must look like sha256:<64 hex digits>")
    return RECORD_PATH.format(environment=environment(env)) + match.group(1)


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write(ssm: Any, record: Record) -> str:
    """Put the record (a re-verification of the digest replaces it; SSM keeps the
    earlier versions); return the parameter's name."""
    name = parameter_name(record.environment, record.digest)
    ssm.put_parameter(
        Name=name,
        Value=record.to_json(),
        Type="String",
        Overwrite=True,
        Description=f"finlex-release verify-record: {record.environment} verified this digest",
    )
    return name


def read(ssm: Any, env: str, digest: str) -> tuple[str, str | None]:
    """The record's parameter name and its raw value (None when there is none)."""
    name = parameter_name(env, digest)
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as error:
        if error_code(error) == "ParameterNotFound":
            return name, None
        raise
    return name, str(value)


def parse(name: str, value: str) -> Record:
    """The record stored at `name`; ReleaseError when it is not one."""
    try:
        data = json.loads(value)
        if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
            raise ValueError(f"not a format-{RECORD_FORMAT} record")
        data["checks"] = tuple(data.get("checks", ()))
        data["reported"] = tuple(data.get("reported", ()))
        return Record(**data)
    except (ValueError, TypeError) as error:
        raise ReleaseError(
            f"{name} is not a verification record ({error}); refusing to promote"
        ) from None


def require(ssm: Any, env: str, image: Image) -> Record:
    """The record of `env` for `image`; ReleaseError (one line) when there is none,
    or when it speaks of another digest, repository or environment, or lacks a check."""
    name, value = read(ssm, env, image.digest)
    what = f"{image.repository}@{image.digest}"
    if value is None:
        raise ReleaseError(
            f"{what} has no {env} verification record ({name}): deploy and verify it in "
            f"{env} first (finlex-release verify-record)"
        )
    found = parse(name, value)
    if found.digest != image.digest:
        raise ReleaseError(
            f"the {env} record {name} is of digest {found.digest}, not {image.digest}; "
            "refusing to promote"
        )
    if found.repository != image.repository or found.environment != env:
        raise ReleaseError(
            f"the record {name} is of {found.environment}'s {found.repository}, not {env}'s "
            f"{image.repository}; refusing to promote"
        )
    missing = [check for check in REQUIRED_CHECKS if check not in found.checks]
    if missing:
        raise ReleaseError(
            f"the {env} record {name} does not show {', '.join(missing)} passed; "
            "refusing to promote"
        )
    return found


def listing(ssm: Any, env: str) -> list[Record]:
    """Every record of `env`, newest first; parameters that are not records are skipped."""
    path = RECORD_PATH.format(environment=environment(env)).rstrip("/")
    found: list[Record] = []
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=path):
        for parameter in page.get("Parameters", []):
            try:
                found.append(parse(parameter["Name"], parameter["Value"]))
            except ReleaseError:
                continue
    return sorted(found, key=lambda item: item.verified_at, reverse=True)
