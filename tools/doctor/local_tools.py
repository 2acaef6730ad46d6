"""The machine's own tools: Python with venv, make, git, haproxy, and disk for the venvs."""

from __future__ import annotations

import sys

from .machine import Machine, free_gb
from .result import Result

MIN_PYTHON = (3, 11)
# `make venv`: .venv (~0.7 GB) + .venv-checkov (~0.4 GB), plus pytest's scratch files.
MIN_FREE_REPO_GB = 1.5
# `make run`: the service's venv (~45 MB) with room to spare.
MIN_FREE_RUN_GB = 0.2


def check_python(m: Machine) -> Result:
    goals = ("run", "test", "deploy")
    shown = ".".join(map(str, m.python))
    if m.python[:2] >= MIN_PYTHON:
        return Result("python", goals, True, f"{shown} (>= 3.11)")
    return Result(
        "python",
        goals,
        False,
        f"{shown} is older than 3.11",
        "install Python 3.11+ and run make with PYTHON=python3.11 (or newer)",
    )


def check_venv_module(m: Machine) -> Result:
    goals = ("run", "test")
    python = m.env.get("PYTHON") or sys.executable
    probe = m.run([python, "-c", "import ensurepip, venv"])
    if probe is not None and probe.returncode == 0:
        return Result("python venv", goals, True, "venv and ensurepip importable")
    return Result(
        "python venv",
        goals,
        False,
        "cannot create virtual environments (no venv/ensurepip)",
        "Debian/Ubuntu: apt-get install python3-venv",
    )


def check_tool(m: Machine, name: str, goals: tuple[str, ...], fix: str) -> Result:
    path = m.which(name)
    if path:
        return Result(name, goals, True, path)
    return Result(name, goals, False, "not on PATH", fix)


def check_repo_disk(m: Machine, goals: set[str]) -> Result:
    """`make run` needs the service's venv only; `make test` both venvs."""
    needed, what = (
        (MIN_FREE_REPO_GB, ".venv and .venv-checkov")
        if "test" in goals
        else (MIN_FREE_RUN_GB, "the service's .venv")
    )
    shown = ("run", "test") if "test" in goals else ("run",)
    free = free_gb(m.repo)
    if free is None:
        return Result("disk (checkout)", shown, False, f"cannot read {m.repo}", "check the path")
    detail = f"{free:.1f} GB free (needs {needed} GB for {what})"
    if free >= needed:
        return Result("disk (checkout)", shown, True, detail)
    return Result("disk (checkout)", shown, False, detail, "free disk space under the checkout")
