"""Helpers for the tfcheck tests: write Terraform, run the checker in-process."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tfcheck.check import check_paths, load_schema


@pytest.fixture(scope="session")
def schema() -> dict:
    return load_schema()


CheckFn = Callable[..., list[str]]


@pytest.fixture
def check_tf(tmp_path: Path, schema: dict) -> CheckFn:
    """Write {relative path: HCL text} under tmp_path, check it, return finding lines."""

    def run(files: dict[str, str], root: str = ".") -> list[str]:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        checker = check_paths([tmp_path / root], schema)
        return [f.render(tmp_path) for f in checker.findings]

    return run
