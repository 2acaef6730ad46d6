"""`make test` runs two pytest sessions side by side, as README.md says.

tools/testsessions.py is what the recipe calls; here a stand-in interpreter logs
each session's arguments and when it starts and ends, so no test runs twice.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import testsessions

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "testsessions.py"


def fake_python(tmp_path: Path, main_exit: int = 0, side_exit: int = 0) -> tuple[Path, Path]:
    """An interpreter whose `-m pytest ...` logs start and end. Of two sessions each waits
    (up to 20 s) for a sign of the other: the side one for the main one's end, the main
    one for the side one's start; run one after the other, one times out and says so."""
    log = tmp_path / "sessions.log"
    script = tmp_path / "python"
    wait = (
        'i=0; while [ $i -lt 200 ] && ! grep -q "{sign}" "{log}"; do sleep 0.1; i=$((i+1)); done; '
        'grep -q "{sign}" "{log}" || {{ echo "{who} timed out" >> "{log}"; exit 9; }}'
    )
    script.write_text(
        "#!/bin/sh\n"
        f'echo "start $*" >> "{log}"\n'
        'case "$*" in\n'
        '  *" tests/rehearsal "*)\n'
        f"    {wait.format(sign='end main', log=log, who='side')}\n"
        f'    echo "rehearsal output"; echo "end side" >> "{log}"; exit {side_exit} ;;\n'
        '  *"--ignore=tests/rehearsal"*)\n'
        f"    {wait.format(sign='start -m pytest tests/rehearsal', log=log, who='main')} ;;\n"
        "esac\n"
        f'echo "end main" >> "{log}"\n'
        f"exit {main_exit}\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script, log


def sessions(
    tmp_path: Path, *pytest_args: str, main_exit: int = 0, side_exit: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    python, log = fake_python(tmp_path, main_exit, side_exit)
    result = subprocess.run(
        [sys.executable, str(TOOL), "--python", str(python), "--log", str(tmp_path / "side.log")]
        + (["--", *pytest_args] if pytest_args else []),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result, log.read_text().splitlines()


def test_two_sessions_run_side_by_side_and_the_rehearsals_output_follows(tmp_path: Path) -> None:
    result, calls = sessions(tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(calls[:2]) == [
        "start -m pytest --ignore=tests/rehearsal",
        "start -m pytest tests/rehearsal --no-cov -p no:cacheprovider",
    ], "both start before either ends: side by side"
    assert calls[2:] == ["end main", "end side"]
    out = result.stdout.splitlines()
    assert out[0].startswith("==> tests/rehearsal runs beside the other tests (log: ")
    assert out[-2:] == ["==> tests/rehearsal", "rehearsal output"]


@pytest.mark.parametrize(
    ("main_exit", "side_exit", "status"), [(1, 0, 1), (0, 1, 1), (2, 1, 2), (0, 0, 0)]
)
def test_either_session_failing_fails_the_run(
    tmp_path: Path, main_exit: int, side_exit: int, status: int
) -> None:
    result, _ = sessions(tmp_path, main_exit=main_exit, side_exit=side_exit)
    assert result.returncode == status


def test_with_pytest_args_one_session_runs_exactly_them(tmp_path: Path) -> None:
    result, calls = sessions(tmp_path, "tests/release", "-x", "-k", "a or b")
    assert result.returncode == 0, result.stderr
    assert calls == ["start -m pytest tests/release -x -k a or b", "end main"]
    assert "==>" not in result.stdout


def test_no_tests_collected_is_a_failure_that_says_so(tmp_path: Path) -> None:
    result, _ = sessions(tmp_path, "tests/none", main_exit=5)
    assert result.returncode == 5
    assert result.stderr == "make test: pytest collected no tests; that is a failure\n"


def test_the_make_recipe_is_the_tool_with_pytest_args() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert recipe == [
        "\t@$(BIN)/python tools/testsessions.py --python $(BIN)/python -- $(PYTEST_ARGS)"
    ]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, re.MULTILINE), ".ci/run runs the README's command"


def test_the_readme_says_what_the_sessions_are() -> None:
    """README.md's account of `make test`, from what the tool runs."""
    plan = testsessions.plan([])
    assert plan.side is not None
    assert plan.side[0] == testsessions.SIDE
    assert f"--ignore={testsessions.SIDE}" in plan.main
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert (
        f"What `make test` runs, in two pytest sessions side by side: `{testsessions.SIDE}`,"
        in readme
    )
    assert "one pytest session" not in readme


def test_a_missing_interpreter_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(TOOL), "--python", str(tmp_path / "none"), "--", "tests/x"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 2
    assert (
        result.stderr == f"make test: cannot run {tmp_path / 'none'}: No such file or directory\n"
    )
