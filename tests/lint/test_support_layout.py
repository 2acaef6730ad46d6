"""Shared test helpers live in tests/support/, each defined once (issue 20).

tests/ holds only conftest.py beside its folders; a helper tools/ needs as
well (a free port, finding a program) has its one home in
tools/localhost.py, which the tests import; tools/ never imports tests/.
"""

from __future__ import annotations

import ast
from pathlib import Path

from support import REPO_ROOT, TESTS

SHARED = ("free_port", "find_program")
CODE = ("application", "bench", "release", "tests", "tools")


def python_files() -> list[Path]:
    return [
        path
        for folder in CODE
        for path in (REPO_ROOT / folder).rglob("*.py")
        if ".venv" not in path.parts and "build" not in path.parts
    ]


def test_tests_root_holds_only_conftest() -> None:
    loose = sorted(path.name for path in TESTS.glob("*.py"))
    assert loose == ["conftest.py"], f"shared helpers go to tests/support/: {loose}"


def test_each_shared_helper_is_defined_once() -> None:
    where: dict[str, list[str]] = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # A private copy (`_free_port`) is a copy all the same.
            if not isinstance(node, ast.FunctionDef) or node.col_offset != 0:
                continue
            name = node.name.lstrip("_")
            if name in SHARED:
                where.setdefault(name, []).append(str(path.relative_to(REPO_ROOT)))
    assert where == {name: ["tools/localhost.py"] for name in SHARED}, where


def test_tools_never_import_the_tests() -> None:
    offenders = []
    for path in (REPO_ROOT / "tools").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(name.split(".")[0] in {"support", "conftest", "tests"} for name in names):
                offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []
