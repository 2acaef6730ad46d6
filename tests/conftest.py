"""Shared test setup: venv tools first on PATH; every session ends with its skips (skipsummary)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from support import skipsummary

REPO_ROOT = Path(__file__).resolve().parent.parent

# Linters such as hadolint and shellcheck are installed into the same venv as
# pytest; make them findable even when the venv is not activated.
_venv_bin = str(Path(sys.executable).parent)
if _venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _venv_bin + os.pathsep + os.environ.get("PATH", "")


def pytest_configure(config) -> None:
    """Every session ends with `skipped: N (reasons)`; under CI=true a skip fails it."""
    skipsummary.register(config)


def pytest_terminal_summary(terminalreporter, config) -> None:
    """Print figures that tests measured (e.g. the image size) after the run."""
    lines = config.stash.get("report", []) if hasattr(config, "stash") else []
    for line in lines:
        terminalreporter.write_line(line)
