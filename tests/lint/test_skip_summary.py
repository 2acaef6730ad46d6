"""Every pytest session ends with `skipped: N (reasons)`; under CI=true a skip fails it.

Runs pytest on a small suite of its own, with the plugin the real suite uses
(tests/support/skipsummary.py), with CI unset and with CI=true.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]

SUITE = """
import pytest

def test_passes():
    pass

@pytest.mark.parametrize("n", [1, 2])
def test_needs_docker(n):
    pytest.skip("docker is not on PATH")

def test_needs_terraform():
    pytest.skip("the terraform CLI is not on PATH")

@pytest.mark.xfail(reason="a known gap", strict=False)
def test_known_gap():
    assert False
"""


def session(tmp_path: Path, suite: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_sample.py").write_text(suite, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(tmp_path / "pytest.ini"),
         "-p", "no:cacheprovider", "-p", "support.skipsummary", str(tmp_path)],
        cwd=tmp_path,
        env={**environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{TESTS.parent / 'tools'}", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip


def test_skips_are_counted_with_their_reasons(tmp_path: Path) -> None:
    result = session(tmp_path, SUITE)
    assert result.returncode == 0, result.stdout
    # The run's last line, after pytest's own counts; the xfail is no skip.
    assert result.stdout.splitlines()[-1] == (
        "skipped: 3 (2 tests: docker is not on PATH; the terraform CLI is not on PATH)"
    ), result.stdout
    assert "under CI=true" not in result.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_skip_fails_the_session(tmp_path: Path, ci: str) -> None:
    result = session(tmp_path, SUITE, CI=ci)
    assert result.returncode == 1, result.stdout
    assert "skipped: 3 (" in result.stdout
    assert "under CI=true no test may skip" in result.stdout


def test_no_skip_says_zero_and_passes_under_ci(tmp_path: Path) -> None:
    result = session(tmp_path, "def test_passes():\n    pass\n", CI="true")
    assert result.returncode == 0, result.stdout
    assert "skipped: 0" in result.stdout.splitlines()


def test_the_real_suite_registers_it() -> None:
    conftest = (TESTS / "conftest.py").read_text(encoding="utf-8")
    assert "skipsummary.register(config)" in conftest
