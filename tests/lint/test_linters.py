"""Linters as tests, so that the one test command covers them: ruff, hadolint, shellcheck."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.prerequisites import require_tool

REPO = Path(__file__).resolve().parents[2]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def tracked(*patterns: str) -> list[str]:
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns)
    return [name for name in listed.stdout.splitlines() if (REPO / name).exists()]


def shell_scripts() -> list[str]:
    scripts = set(tracked("*.sh"))
    for name in tracked(".ci/*", "scripts/*"):
        first = (REPO / name).read_bytes()[:64]
        if first.startswith(b"#!") and b"sh" in first.split(b"\n", 1)[0]:
            scripts.add(name)
    return sorted(scripts)


def test_ruff_lint() -> None:
    result = run(require_tool("ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run(require_tool("ruff"), "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    # Files and strictness come from [tool.mypy] in pyproject.toml.
    result = run(require_tool("mypy"), "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_hadolint_dockerfile() -> None:
    result = run(require_tool("hadolint"), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_shellcheck_scripts() -> None:
    scripts = shell_scripts()
    assert ".ci/run" in scripts
    result = run(require_tool("shellcheck"), "--severity=style", *scripts)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("tool", "bad_file", "content"),
    [
        ("hadolint", "Dockerfile", "FROM debian:latest\nRUN cd /tmp\n"),
        ("shellcheck", "bad.sh", "#!/bin/sh\necho $1\n"),
    ],
)
def test_linters_do_catch_problems(tmp_path: Path, tool: str, bad_file: str, content: str) -> None:
    path = tmp_path / bad_file
    path.write_text(content)
    result = subprocess.run([require_tool(tool), str(path)], capture_output=True, check=False)
    assert result.returncode != 0
