"""scan-gate: wait for ECR's scan of an image, then pass or block on its findings."""

from __future__ import annotations

import argparse
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError

from finlex_release import allowlist as allowlists
from finlex_release import images
from finlex_release.allowlist import Allowlist, Entry
from finlex_release.aws import error_code
from finlex_release.command import AddCommand, Context, aws, wait_options
from finlex_release.errors import Exit, ReleaseError, WaitTimeoutError
from finlex_release.images import Image
from finlex_release.waiting import Clock, Progress, duration, ticks

SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
# Basic scanning says UNDEFINED and enhanced scanning UNTRIAGED when the vendor
# gave no severity; --unknown-severity-as decides how they rank (HIGH: fail closed).
DEFAULT_UNKNOWN_AS = "HIGH"
_DONE = frozenset({"COMPLETE", "ACTIVE"})  # ACTIVE: enhanced scanning, findings available
_RUNNING = frozenset({"IN_PROGRESS", "PENDING"})


@dataclass(frozen=True)
class Finding:
    """One vulnerability in one package, from ECR (basic or enhanced) or pip-audit."""

    id: str
    severity: str
    package: str = ""  # no package: no allowlist entry can cover it (fail closed)
    version: str = ""
    aliases: tuple[str, ...] = ()  # other IDs of the same advisory (pip-audit: CVE-, GHSA-)

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    def label(self) -> str:
        return f"{self.id} ({self.package})" if self.package else self.id


@dataclass(frozen=True)
class Row:
    finding: Finding
    blocks: bool
    entry: Entry | None


def rank(severity: str, unknown_as: str = DEFAULT_UNKNOWN_AS) -> int:
    return _RANK.get(severity.upper(), _RANK[unknown_as])


def _basic(finding: dict[str, Any]) -> Finding:
    attributes = {item["key"]: item.get("value", "") for item in finding.get("attributes", [])}
    return Finding(
        finding.get("name", "?"),
        finding.get("severity", "UNDEFINED"),
        attributes.get("package_name", ""),
        attributes.get("package_version", ""),
    )


def _enhanced(finding: dict[str, Any]) -> list[Finding]:
    """One Finding per vulnerable package: the allowlist covers an ID in one package."""
    details = finding.get("packageVulnerabilityDetails", {})
    identifier = details.get("vulnerabilityId") or finding.get("title") or "?"
    severity = finding.get("severity", "UNTRIAGED")
    packages = details.get("vulnerablePackages") or [{}]
    return [
        Finding(identifier, severity, package.get("name", ""), package.get("version", ""))
        for package in packages
    ]


def parse_findings(page: dict[str, Any]) -> list[Finding]:
    """Findings of one describe_image_scan_findings page, basic and enhanced."""
    scan = page.get("imageScanFindings", {})
    found = [_basic(item) for item in scan.get("findings", [])]
    found += [
        each
        for item in scan.get("enhancedFindings", [])
        if item.get("status", "ACTIVE") != "CLOSED"
        for each in _enhanced(item)
    ]
    return found


def _scan_status(ecr: Any, image: Image) -> tuple[str, str]:
    try:
        page = ecr.describe_image_scan_findings(
            repositoryName=image.repository,
            registryId=image.registry_id,
            imageId={"imageDigest": image.digest},
            maxResults=1,
        )
    except ClientError as error:
        if error_code(error) == "ScanNotFoundException":
            return "NOT_FOUND", "no scan of this image yet"
        raise
    status = page.get("imageScanStatus", {})
    return status.get("status", "PENDING"), status.get("description", "")


def wait_for_scan(
    ecr: Any,
    image: Image,
    *,
    timeout: float,
    interval: float,
    clock: Clock,
    progress: Progress,
    start_scan: bool = False,
) -> None:
    """Poll until the scan of `image` is complete; raise on failure or timeout."""
    started = False
    status, description = "PENDING", ""
    for elapsed in ticks(timeout, interval, clock):
        status, description = _scan_status(ecr, image)
        if status in _DONE:
            progress(f"scan of {image.digest} {status}", elapsed)
            return
        if status == "NOT_FOUND" and start_scan and not started:
            ecr.start_image_scan(
                repositoryName=image.repository,
                registryId=image.registry_id,
                imageId={"imageDigest": image.digest},
            )
            started = True
            description = "scan started"
        elif status not in _RUNNING and status != "NOT_FOUND":
            raise ReleaseError(f"scan of {image.uri} ended with status {status}: {description}")
        progress(f"waiting for the scan of {image.digest}: {status} ({description})", elapsed)
    raise WaitTimeoutError(
        f"scan of {image.uri} not complete after {duration(timeout)} "
        f"(last status {status}: {description})"
    )


def findings(ecr: Any, image: Image) -> list[Finding]:
    paginator = ecr.get_paginator("describe_image_scan_findings")
    pages = paginator.paginate(
        repositoryName=image.repository,
        registryId=image.registry_id,
        imageId={"imageDigest": image.digest},
    )
    return [finding for page in pages for finding in parse_findings(page)]


def evaluate(
    found: Iterable[Finding],
    *,
    threshold: str,
    allowlist: Allowlist,
    today: dt.date,
    unknown_as: str = DEFAULT_UNKNOWN_AS,
) -> list[Row]:
    """Rows for the findings at or above `threshold`, most severe first."""
    floor = _RANK[threshold]
    rows = []
    for finding in found:
        if rank(finding.severity, unknown_as) < floor:
            continue
        entry = allowlist.find(finding.ids, finding.package)
        blocks = entry is None or not entry.active(today)
        rows.append(Row(finding, blocks, entry))
    rows.sort(key=lambda row: (-rank(row.finding.severity, unknown_as), row.finding.id))
    return rows


def verdict(row: Row) -> str:
    if row.entry is None:
        return "BLOCKS"
    if row.blocks:
        return f"BLOCKS (allowlist entry expired {row.entry.expires})"
    return f"allowed until {row.entry.expires} by {row.entry.owner}: {row.entry.reason}"


def table(rows: Iterable[Row]) -> Iterator[str]:
    lines = [("SEVERITY", "ID", "PACKAGE", "VERSION", "VERDICT")]
    lines += [
        (r.finding.severity, r.finding.id, r.finding.package or "-", r.finding.version or "-",
         verdict(r))
        for r in rows
    ]  # fmt: skip
    widths = [max(len(line[column]) for line in lines) for column in range(4)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line[:4], widths, strict=True)]
        yield "  ".join([*cells, line[4]])


def blocking(rows: Iterable[Row]) -> list[str]:
    """The findings that block, each as "ID (package)", in a stable order."""
    return sorted({row.finding.label() for row in rows if row.blocks})


def warn_expired(allowlist: Allowlist, today: dt.date, progress: Progress) -> None:
    for entry in allowlist.expired(today):
        progress(
            f"allowlist: {entry.describe()} expired on {entry.expires}; "
            f"{entry.owner}: renew it with a new reason, or remove it"
        )


def summary(found: Iterable[Finding]) -> str:
    counts = Counter(finding.severity.upper() for finding in found)
    order = [*reversed(SEVERITIES), *sorted(set(counts) - set(SEVERITIES))]
    return ", ".join(f"{name} {counts[name]}" for name in order if counts[name]) or "none"


def gate(
    ecr: Any,
    image: Image,
    *,
    threshold: str,
    allowlist: Allowlist,
    today: dt.date,
    unknown_as: str,
    out: TextIO,
    progress: Progress,
) -> None:
    """Print the findings table; raise ReleaseError if any finding blocks."""
    warn_expired(allowlist, today, progress)
    found = findings(ecr, image)
    rows = evaluate(
        found, threshold=threshold, allowlist=allowlist, today=today, unknown_as=unknown_as
    )
    print(f"image {image.uri}", file=out)
    print(f"findings by severity: {summary(found)}", file=out)
    if rows:
        print(f"findings at or above {threshold}:", file=out)
        for line in table(rows):
            print("  " + line, file=out)
    blocked = blocking(rows)
    if blocked:
        raise ReleaseError(
            f"scan gate: {len(blocked)} finding(s) at or above {threshold} not allowlisted: "
            + ", ".join(blocked)
        )
    print(f"scan gate passed: nothing at or above {threshold} outside the allowlist", file=out)


# --- the command -------------------------------------------------------------


def run(args: argparse.Namespace, context: Context) -> None:
    """`finlex-release scan-gate`: name the image, wait for its scan, gate on its findings."""
    if args.image is not None:
        if args.repository or args.image_digest or args.image_tag:
            raise ReleaseError(
                "give --image or --repository with --image-digest/--image-tag, not both",
                Exit.USAGE,
            )
        ref = images.parse(args.image)
    elif args.repository and (args.image_digest or args.image_tag):
        ref = images.digest_ref(args.repository, args.image_digest, args.image_tag)
    else:
        raise ReleaseError(
            "name the image: --image REF, or --repository with --image-digest or --image-tag",
            Exit.USAGE,
        )
    rules = allowlists.load(args.allowlist, context.today()) if args.allowlist else allowlists.EMPTY
    ecr = aws(args, context)("ecr")
    image = images.resolve(ecr, ref)
    wait_for_scan(
        ecr,
        image,
        timeout=args.timeout,
        interval=args.interval,
        clock=context.clock,
        progress=context.progress,
        start_scan=args.start_scan,
    )
    gate(
        ecr,
        image,
        threshold=args.threshold,
        allowlist=rules,
        today=context.today(),
        unknown_as=args.unknown_severity_as,
        out=context.out,
        progress=context.progress,
    )


def register(command: AddCommand) -> None:
    """The scan-gate subcommand and its options."""
    parser = command(
        "scan-gate",
        run,
        "Wait for ECR's scan of an image (by digest) and fail on findings at or above a severity.",
    )
    parser.add_argument("--image", help="repo:tag, repo@sha256:..., or a full ECR image URI")
    parser.add_argument("--repository", help="ECR repository name")
    pinned = parser.add_mutually_exclusive_group()
    pinned.add_argument("--image-digest", help="sha256:... (with --repository)")
    pinned.add_argument("--image-tag", help="tag, resolved to its digest (with --repository)")
    parser.add_argument(
        "--threshold",
        choices=SEVERITIES,
        default="HIGH",
        help="block findings at or above this severity (default HIGH)",
    )
    parser.add_argument(
        "--allowlist", type=Path, help="TOML file of allowed findings (release/README.md)"
    )
    parser.add_argument(
        "--unknown-severity-as",
        choices=SEVERITIES,
        default=DEFAULT_UNKNOWN_AS,
        help="rank UNDEFINED/UNTRIAGED findings as this (default HIGH: fail closed)",
    )
    parser.add_argument(
        "--start-scan",
        action="store_true",
        help="start a basic scan if the image has none (without: wait for scan on push)",
    )
    wait_options(parser, timeout=900.0, interval=10.0)
