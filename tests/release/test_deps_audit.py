"""audit-deps: pip-audit, for real, on the image's hashed lock against a local OSV fixture.

OSV's API cannot be reached here; tests/support/servers/osv.py answers OSV's query
protocol from tests/release/fixtures/osv-advisories.json, and pip-audit is
pointed at it with its own --osv-url option. The fixture holds an advisory
against every jinja2 version (pinned in requirements/app.lock), one against
an old flask no lock pins, and a withdrawn one against werkzeug.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
from pathlib import Path

import pytest

from finlex_release import deps_audit
from support import REPO_ROOT
from support.servers.osv import serving

APP_LOCK = REPO_ROOT / "requirements" / "app.lock"
TODAY = dt.datetime.now(dt.UTC).date()


def pins(lock: Path) -> set[tuple[str, str]]:
    return set(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", lock.read_text(), re.MULTILINE))


def allow(tmp_path: Path, ident: str, package: str, days: int = 30) -> Path:
    path = tmp_path / "allow.toml"
    path.write_text(
        f'[[allow]]\nid = "{ident}"\npackage = "{package}"\n'
        'reason = "fixture advisory; the service never renders untrusted templates"\n'
        f'owner = "@finlex/platform"\nadded = {TODAY}\n'
        f"expires = {TODAY + dt.timedelta(days=days)}\n"
    )
    return path


def audit(run, url: str, *argv: str):
    return run("audit-deps", "--requirements", str(APP_LOCK), "--osv-url", url, *argv)


def test_the_gate_audits_every_pin_of_the_lock_the_image_installs(run) -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "COPY requirements/app.lock " in dockerfile  # the lock audited is the image's
    with serving([]) as osv:
        result = audit(run, osv.url)
    assert result.code == 0, result.err
    assert set(osv.queries) == pins(APP_LOCK)
    assert f"audited {len(pins(APP_LOCK))} pinned packages" in result.out
    assert "dependency scan passed" in result.out


def test_fails_on_a_fixture_advisory_against_a_pinned_package(run) -> None:
    jinja2 = dict(pins(APP_LOCK))["jinja2"]
    with serving() as osv:
        result = audit(run, osv.url)
    assert result.code == 1
    assert result.err.strip() == (
        "finlex-release audit-deps: dependency scan: 1 advisory(ies) in "
        f"{APP_LOCK} not allowlisted: PYSEC-2099-1 (jinja2)"
    )
    row = next(line for line in result.out.splitlines() if "PYSEC-2099-1" in line)
    assert row.split()[:4] == [
        "PYSEC-2099-1",
        "CVE-2099-0001,GHSA-fxfx-fxfx-fxfx",
        "jinja2",
        jinja2,
    ]
    assert row.rstrip().endswith("BLOCKS")
    assert "PYSEC-2099-2" not in result.out  # flask's pin is past the fix
    assert "PYSEC-2099-3" not in result.out  # withdrawn


def test_passes_once_the_advisory_is_allowlisted_with_a_valid_entry(run, tmp_path) -> None:
    entry = allow(tmp_path, "CVE-2099-0001", "Jinja2")  # an alias; PyPI's other spelling
    with serving() as osv:
        result = audit(run, osv.url, "--allowlist", str(entry))
    assert result.code == 0, result.err
    row = next(line for line in result.out.splitlines() if "PYSEC-2099-1" in line)
    assert f"allowed until {TODAY + dt.timedelta(days=30)} by @finlex/platform" in row
    assert "dependency scan passed" in result.out


def test_an_entry_for_another_package_does_not_cover_it(run, tmp_path) -> None:
    entry = allow(tmp_path, "CVE-2099-0001", "markupsafe")
    with serving() as osv:
        result = audit(run, osv.url, "--allowlist", str(entry))
    assert result.code == 1
    assert "not allowlisted: PYSEC-2099-1 (jinja2)" in result.err


def test_a_bad_entry_stops_the_gate_before_pip_audit_runs(run, tmp_path) -> None:
    entry = allow(tmp_path, "CVE-2099-0001", "jinja2", days=400)
    with serving() as osv:
        result = audit(run, osv.url, "--allowlist", str(entry))
    assert result.code == 2
    assert "entry 1 (CVE-2099-0001 in jinja2): expires" in result.err
    assert "at most 90 days" in result.err
    assert osv.queries == []


def test_an_unreachable_advisory_service_is_one_line_exit_6(run) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = audit(run, f"http://127.0.0.1:{port}/v1/query", "--timeout", "120")
    assert result.code == 6
    assert result.err.startswith("finlex-release audit-deps: the advisory service cannot be")
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err


def test_an_unpinned_requirement_fails_closed(run, tmp_path) -> None:
    loose = tmp_path / "loose.txt"
    loose.write_text("flask>=3\n")
    with serving([]) as osv:
        result = run("audit-deps", "--requirements", str(loose), "--osv-url", osv.url)
    assert result.code == 1
    assert result.err.startswith("finlex-release audit-deps: pip-audit failed")
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--requirements", "nope.lock"), "--requirements nope.lock: file not found"),
        (("--osv-url", "ftp://x/v1/query"), "must be an http(s) URL"),
        (("--service", "pypi", "--osv-url", "http://x/v1/query"), "--osv-url needs --service osv"),
    ],
)
def test_bad_input_is_one_line(run, argv, message) -> None:
    result = run("audit-deps", *argv)
    assert result.code == 2
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_the_command_line_reads_the_lock_without_pip_and_fails_on_skips() -> None:
    command = deps_audit.command_line(APP_LOCK, "osv", None)
    assert command[1:3] == ["-m", "pip_audit"]
    for flag in ("--disable-pip", "--require-hashes", "--strict"):
        assert flag in command
    assert "--osv-url" not in command  # the live OSV API by default
