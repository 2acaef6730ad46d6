"""The two local packages (application/, release/) install from the hashed locks alone.

Their build backend is setuptools. pip's default, build isolation, would fetch
whatever setuptools PyPI offers that day for each install; the Makefile passes
--no-build-isolation instead, and requirements/pip.lock (installed first into
every environment) holds the one pinned, hashed setuptools they build with.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements"
LOCAL_INSTALL = re.compile(r"pip install .*\./(application|release)\b")


def pinned(lock: Path, package: str) -> str | None:
    found = re.search(rf"^{package}==(\S+)", lock.read_text(), re.MULTILINE)
    return found.group(1) if found else None


def test_every_install_of_a_local_package_uses_the_environments_own_setuptools() -> None:
    lines = [ln for ln in (REPO / "Makefile").read_text().splitlines() if LOCAL_INSTALL.search(ln)]
    assert len(lines) >= 3, lines  # the service's venv, the dev venv, the deploy job's venv
    isolated = [ln.strip() for ln in lines if "--no-build-isolation" not in ln]
    assert not isolated, f"these installs would fetch an unpinned setuptools: {isolated}"


def test_the_locks_agree_on_the_one_setuptools() -> None:
    base = pinned(REQUIREMENTS / "pip.lock", "setuptools")
    assert base, "requirements/pip.lock pins no setuptools, the local packages' build backend"
    for lock in sorted(REQUIREMENTS.glob("*.lock")):
        other = pinned(lock, "setuptools")
        assert other in (None, base), f"{lock.name} pins setuptools {other}, pip.lock {base}"


def test_the_service_installs_with_nothing_but_pip_lock(tmp_path: Path) -> None:
    """As make run's first install does, in a fresh environment, with no index at all."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    lock = [*pip, "install", "--require-hashes", "-r", str(REQUIREMENTS / "pip.lock")]
    fetched = subprocess.run(lock, capture_output=True, text=True, check=False)
    if fetched.returncode != 0:
        pytest.fail(f"installing requirements/pip.lock needs PyPI: {fetched.stderr[-400:]}")
    install = [*pip, "install", "--no-index", "--no-deps", "--no-build-isolation"]
    result = subprocess.run(
        [*install, "-e", "./application"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-800:]
    shown = subprocess.run([*pip[:3], "show", "finlex-api"], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "Editable project location" in shown.stdout, shown.stdout
