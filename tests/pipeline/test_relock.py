"""make lock: each requirements/NAME.in re-pinned, universal and hashed, for the floor Python."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import relock

REPO = Path(__file__).resolve().parents[2]


def test_each_lock_is_compiled_from_its_in_file_stopping_at_a_failure(tmp_path: Path) -> None:
    log = tmp_path / "uv.log"
    uv = tmp_path / "uv"
    uv.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\ncase "$*" in *bad.in*) exit 3 ;; esac\n')
    uv.chmod(0o755)
    run = [sys.executable, str(REPO / "tools" / "relock.py"), "--uv", str(uv)]
    result = subprocess.run(
        [*run, "--folder", str(tmp_path), "app", "bad", "dev"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 3
    compile_ = "pip compile --quiet --universal --generate-hashes --python-version 3.11"
    assert log.read_text().splitlines() == [
        f"{compile_} app.in -o app.lock",
        f"{compile_} bad.in -o bad.lock",
    ]


def test_the_floor_is_the_projects_and_make_lock_names_every_in_file() -> None:
    release = (REPO / "release" / "pyproject.toml").read_text(encoding="utf-8")
    assert f'requires-python = ">={relock.PYTHON_VERSION}"' in release
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nlock:", 1)[1].split("\n\n", 1)[0]
    named = set(re.search(r"relock\.py --uv \S+ (.*)$", recipe, re.M)[1].split())
    assert named == {p.stem for p in (REPO / "requirements").glob("*.in")}


def test_a_missing_uv_is_one_line(tmp_path: Path) -> None:
    run = [sys.executable, str(REPO / "tools" / "relock.py"), "--uv", str(tmp_path / "uv")]
    result = subprocess.run(
        [*run, "--folder", str(tmp_path), "app"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"relock: cannot run {tmp_path / 'uv'}: No such file or directory"
    ]
