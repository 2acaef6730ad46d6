"""`make scan`: the dependency scan gate as people and CI run it, on a local OSV fixture.

OSV's API cannot be reached here, so OSV_URL points pip-audit at
tests/osv_fixture.py; on GitHub, ci.yml runs the same target against OSV.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import yaml
from osv_fixture import serving

from makedb import make_env
from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]


def make_scan(*variables: str) -> subprocess.CompletedProcess[str]:
    argv = [require_tool("make"), "--no-print-directory", "-o", ".venv/.dev-installed", "scan"]
    argv += [f"BIN={Path(sys.executable).parent}", *variables]
    return subprocess.run(
        argv, cwd=REPO, env=make_env(), capture_output=True, text=True, timeout=300, check=False
    )


def test_make_scan_fails_on_an_advisory_against_a_pinned_package() -> None:
    with serving() as osv:
        result = make_scan(f"OSV_URL={osv.url}")
    assert result.returncode == 2, result.stdout  # make's code for a failed recipe
    assert "not allowlisted: PYSEC-2099-1 (jinja2)" in result.stderr
    assert "Error 1" in result.stderr  # the tool's own code: blocked
    # the lock audited is the image's, and the committed allowlist is the one read
    assert any(name == "jinja2" for name, _ in osv.queries)


def test_make_scan_passes_with_the_advisory_allowlisted(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    allow = tmp_path / "allow.toml"
    allow.write_text(
        '[[allow]]\nid = "PYSEC-2099-1"\npackage = "jinja2"\nreason = "fixture"\n'
        f'owner = "@finlex/platform"\nadded = {today}\nexpires = {today + dt.timedelta(days=90)}\n'
    )
    with serving() as osv:
        result = make_scan(f"OSV_URL={osv.url}", f"SCAN_ALLOWLIST={allow}")
    assert result.returncode == 0, result.stderr
    assert "dependency scan passed" in result.stdout


def test_make_scan_reads_the_image_lock_and_the_committed_allowlist() -> None:
    dry = subprocess.run(
        [require_tool("make"), "--no-print-directory", "-n", "-o", ".venv/.dev-installed", "scan"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    assert "audit-deps --requirements requirements/app.lock" in dry.stdout
    assert "--allowlist 'release/scan-allowlist.toml'" in dry.stdout
    assert "--osv-url" not in dry.stdout  # live OSV unless a mirror is named


def test_github_ci_runs_make_scan_against_live_advisories() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert "make scan" in runs
    ci_run = runs.index("bash .ci/run")
    assert runs.index("make scan") > ci_run  # the venv .ci/run made holds pip-audit
    scan = steps[runs.index("make scan")]
    assert "OSV_URL" not in str(scan)
