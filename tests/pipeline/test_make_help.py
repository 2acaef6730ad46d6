"""`make help`, a mistyped target, and the container targets, as a new user meets them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]


def make(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("make"), "--no-print-directory", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def documented_targets() -> list[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    return re.findall(r"^([a-z][a-z-]*):.*## ", text, re.MULTILINE)


def target_lines(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.startswith("  make ")]


def test_help_lists_every_documented_target_once() -> None:
    result = make("help")
    assert result.returncode == 0, result.stderr
    listed = [ln.split()[1] for ln in target_lines(result.stdout)]
    assert listed == documented_targets()
    assert {"doctor", "image", "start", "logs", "stop", "push", "test"} <= set(listed)


def test_help_has_no_unexpanded_make_variables() -> None:
    assert "$(" not in make("help").stdout


def test_help_descriptions_start_in_one_column() -> None:
    lines = target_lines(make("help").stdout)
    starts = {re.match(r"  make \S+\s+", ln).end() for ln in lines}  # type: ignore[union-attr]
    assert len(starts) == 1, lines
    longest = max(len(ln.split()[1]) for ln in lines)
    assert starts == {len("  make ") + longest + 2}


def test_help_documents_the_variables_with_their_values() -> None:
    out = make("help", "PYTEST_ARGS=tests/application -x", "TAG=abc").stdout
    variables = out.split("variables [current value]:", 1)[1]
    assert re.search(
        r"^  PYTEST_ARGS\s+extra pytest arguments.*\[tests/application -x\]$", variables, re.M
    )
    assert re.search(r"^  TAG\s+.*\[abc\]$", variables, re.M)
    for name in ("IMAGE", "DOCKER", "CA_BUNDLE", "URL", "KEEP_EXISTING"):
        assert re.search(rf"^  {name}\s+\S", variables, re.M), name


def test_help_survives_quotes_in_values() -> None:
    result = make("help", "PYTEST_ARGS=-k 'a or b'")
    assert result.returncode == 0, result.stderr
    assert "[-k 'a or b']" in result.stdout


def test_a_mistyped_target_points_at_make_help() -> None:
    result = make("tset")
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first == "make: no target 'tset'; run 'make help' for the list"


def test_container_targets_drive_one_named_container(tmp_path: Path) -> None:
    log = tmp_path / "docker.log"
    docker = tmp_path / "docker"
    docker.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n', encoding="utf-8")
    docker.chmod(0o755)
    for target in ("start", "logs", "stop"):
        result = make(target, f"DOCKER={docker}", "TAG=t1", "PORT=5050")
        assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("run -d --name finlex -p 5050:5000 --read-only")
    assert calls[0].endswith("finlex:t1")
    assert calls[1:] == ["logs --follow finlex", "stop finlex", "rm finlex"]
