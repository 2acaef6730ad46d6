"""audit-deps: pip-audit the hashed lock the image installs; fail on any advisory not allowlisted.

ECR's basic scan reads the image's OS packages only, yet most of the code the
service runs comes from PyPI. This gate runs pip-audit itself on the very
lock the Dockerfile installs (requirements/app.lock), without pip: the lock
is fully pinned and hashed, so nothing is resolved or downloaded, and
`--strict` makes a package that could not be audited a failure, never a skip.

pip-audit asks an OSV service about each pinned version (the default is
OSV's public API; `--osv-url` names another one, such as a mirror or the
local fixture the tests serve), and its JSON report is read here. Every
advisory blocks unless an entry of the one allowlist (allowlist.py) covers
its ID or an alias in that package: there is no severity threshold, since
pip-audit's advisories carry none. The exit code is 1 when something blocks,
6 when the advisory service cannot be reached.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from finlex_release import allowlist as allowlists
from finlex_release.command import AddCommand, Context
from finlex_release.errors import Exit, ReleaseError, UsageError
from finlex_release.scan_gate import Finding, Row, blocking, verdict, warn_expired
from finlex_release.waiting import Progress

DEFAULT_REQUIREMENTS = Path("requirements/app.lock")
SERVICES = ("osv", "pypi")
DEFAULT_SERVICE = "osv"
SEVERITY = "-"  # pip-audit reports no severity; every advisory counts
MAX_SECONDS = 3600.0
# pip-audit's own words when a vulnerability service cannot be reached.
_UNREACHABLE = ("ConnectionError", "Could not connect", "Max retries exceeded", "timed out")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0 and at most {MAX_SECONDS:g}")
    return value


def command_line(requirements: Path, service: str, osv_url: str | None) -> list[str]:
    """pip-audit on a hashed lock, with no pip and no resolution, as JSON."""
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(requirements)]
    command += ["--disable-pip", "--require-hashes", "--strict"]
    command += ["--format", "json", "--aliases", "on", "--desc", "off"]
    command += ["--progress-spinner", "off", "--vulnerability-service", service]
    if osv_url:
        command += ["--osv-url", osv_url]
    return command


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run_pip_audit(command: Sequence[str], timeout: float) -> dict[str, Any]:
    """pip-audit's JSON report (exit 0: nothing found, 1: advisories found), else one error."""
    try:
        done = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            list(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise ReleaseError(f"pip-audit did not finish in {timeout:g} s", Exit.AWS) from None
    if done.returncode in (0, 1) and done.stdout.strip().startswith("{"):
        try:
            report: dict[str, Any] = json.loads(done.stdout)
        except ValueError:
            raise ReleaseError("pip-audit printed a report that is not JSON") from None
        return report
    if "No module named pip_audit" in done.stderr:
        raise UsageError("pip-audit is not installed in this environment: run make venv")
    if any(word in done.stderr for word in _UNREACHABLE):
        raise ReleaseError(
            f"the advisory service cannot be reached: {_last_line(done.stderr)}", Exit.AWS
        )
    raise ReleaseError(f"pip-audit failed (exit {done.returncode}): {_last_line(done.stderr)}")


def findings(report: dict[str, Any]) -> tuple[int, list[Finding]]:
    """(packages audited, one Finding per advisory and package) from pip-audit's JSON."""
    dependencies = report.get("dependencies", [])
    found = [
        Finding(
            str(vuln["id"]),
            SEVERITY,
            str(dependency["name"]),
            str(dependency.get("version", "")),
            tuple(sorted(str(alias) for alias in vuln.get("aliases", []))),  # a set in pip-audit
        )
        for dependency in dependencies
        for vuln in dependency.get("vulns", [])
    ]
    return len(dependencies), found


def evaluate(
    found: Iterable[Finding], allowlist: allowlists.Allowlist, today: dt.date
) -> list[Row]:
    rows = []
    for finding in found:
        entry = allowlist.find(finding.ids, finding.package)
        rows.append(Row(finding, entry is None or not entry.active(today), entry))
    rows.sort(key=lambda row: (row.finding.package, row.finding.id))
    return rows


def table(rows: Iterable[Row]) -> Iterator[str]:
    lines = [("ID", "ALIASES", "PACKAGE", "VERSION", "VERDICT")]
    lines += [
        (
            row.finding.id,
            ",".join(row.finding.aliases) or "-",
            row.finding.package,
            row.finding.version or "-",
            verdict(row),
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in lines) for column in range(4)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line[:4], widths, strict=True)]
        yield "  ".join([*cells, line[4]])


def gate(
    report: dict[str, Any],
    *,
    source: str,
    allowlist: allowlists.Allowlist,
    today: dt.date,
    out: TextIO,
    progress: Progress,
) -> None:
    """Print what pip-audit found; raise ReleaseError if any advisory is not allowlisted."""
    warn_expired(allowlist, today, progress)
    audited, found = findings(report)
    rows = evaluate(found, allowlist, today)
    print(f"audited {audited} pinned packages of {source}: {len(found)} advisories", file=out)
    for line in table(rows) if rows else ():
        print("  " + line, file=out)
    blocked = blocking(rows)
    if blocked:
        raise ReleaseError(
            f"dependency scan: {len(blocked)} advisory(ies) in {source} not allowlisted: "
            + ", ".join(blocked)
        )
    print(f"dependency scan passed: nothing in {source} outside the allowlist", file=out)


def run(args: argparse.Namespace, context: Context) -> None:
    requirements: Path = args.requirements
    if not requirements.is_file():
        raise UsageError(f"--requirements {requirements}: file not found")
    if args.osv_url is not None:
        if args.service != "osv":
            raise UsageError("--osv-url needs --service osv")
        if not args.osv_url.startswith(("https://", "http://")):
            raise UsageError(f"--osv-url {args.osv_url!r} must be an http(s) URL")
    rules = allowlists.load(args.allowlist, context.today()) if args.allowlist else allowlists.EMPTY
    where = args.osv_url or ("OSV's API" if args.service == "osv" else "PyPI's JSON API")
    context.progress(f"pip-audit {requirements} against {where}")
    report = run_pip_audit(command_line(requirements, args.service, args.osv_url), args.timeout)
    gate(
        report,
        source=str(requirements),
        allowlist=rules,
        today=context.today(),
        out=context.out,
        progress=context.progress,
    )


def register(command: AddCommand) -> None:
    """The audit-deps subcommand and its options."""
    parser = command(
        "audit-deps",
        run,
        "pip-audit a hashed lock (by default the image's, requirements/app.lock) and fail on "
        "any known vulnerability the allowlist does not cover.",
        uses_aws=False,
    )
    parser.add_argument(
        "--requirements",
        type=Path,
        default=DEFAULT_REQUIREMENTS,
        help="hashed, fully pinned lock to audit (default %(default)s)",
    )
    parser.add_argument(
        "--allowlist", type=Path, help="TOML file of allowed findings (release/README.md)"
    )
    parser.add_argument(
        "--service",
        choices=SERVICES,
        default=DEFAULT_SERVICE,
        help="pip-audit's vulnerability service (default %(default)s)",
    )
    parser.add_argument(
        "--osv-url",
        help="OSV query endpoint instead of OSV's public API, e.g. a mirror (with --service osv)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=600.0,
        help="seconds pip-audit may take in all (default %(default)g)",
    )
