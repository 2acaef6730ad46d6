"""`make help`, a mistyped target, and the container targets, as a new user meets them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from finlex_api.settings import Settings
from support.makedb import database, expanded_recipes, make_env, make_reads, shell_reads
from support.prerequisites import require_tool

REPO = Path(__file__).resolve().parents[2]


def make(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("make"), "--no-print-directory", *args],
        cwd=cwd,
        env=make_env(),
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


def help_variables() -> set[str]:
    out = make("help").stdout.split("variables [current value]:", 1)[1]
    return set(re.findall(r"^  ([A-Z_]+)\s", out, re.M))


def test_help_lists_every_variable_a_target_reads_from_outside() -> None:
    """What make itself says each documented target reads from the command line or the
    environment (tests/support/makedb.py), and every `?=` default, is in `make help`'s list."""
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    db = database()
    unlisted: dict[str, set[str]] = {}
    listed = help_variables()
    for target in documented_targets():
        reads = make_reads(db, [target]) | shell_reads(expanded_recipes([target], []))
        # `help` walks HELP_VARS with $(v); that loop variable is not an input.
        reads -= {"v"} if target == "help" else set()
        if reads - listed:
            unlisted[target] = reads - listed
    defaults = set(re.findall(r"^([A-Z][A-Z_]*)\s*\?=", text, re.M))
    if defaults - listed:
        unlisted["?= defaults"] = defaults - listed
    assert not unlisted, f"read but not in make help: {unlisted}"


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
    # The container side of -p is the service's port, whose home is
    # application/finlex_api/settings.py.
    assert calls[0].startswith(f"run -d --name finlex -p 5050:{Settings().port} --read-only")
    assert calls[0].endswith("finlex:t1")
    assert calls[1:] == ["logs --follow finlex", "stop finlex", "rm finlex"]


def test_set_up_prints_one_progress_line_per_step(tmp_path: Path) -> None:
    """`make venv` on a fresh clone: one `==>` line per step, nothing else, nothing twice."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    for name in (
        "application/VERSION",
        "application/pyproject.toml",
        "requirements/pip.lock",
        "requirements/app.lock",
        "requirements/dev.lock",
        "requirements/checkov.lock",
        "release/pyproject.toml",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    python = tmp_path / "python"
    python.write_text(  # `python -m venv DIR` makes a DIR whose pip does nothing
        '#!/bin/sh\nmkdir -p "$3/bin"; touch "$3/bin/activate"\n'
        'printf "#!/bin/sh\\nexit 0\\n" > "$3/bin/pip"; chmod +x "$3/bin/pip"\n',
        encoding="utf-8",
    )
    python.chmod(0o755)
    first = make("venv", f"PYTHON={python}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"==> creating .venv with {python}",
        "==> installing the test and lint tools into .venv"
        " (requirements/dev.lock, ~700 MB, 1-3 min)",
        "==> installing finlex-release (release/) and finlex-api (application/) into .venv,"
        " editable",
        "==> creating .venv-checkov and installing checkov (requirements/checkov.lock, ~300 MB)",
    ]
    again = make("venv", f"PYTHON={python}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "==>" not in again.stdout


def test_a_missing_prerequisite_file_is_named_as_a_file(tmp_path: Path) -> None:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "application").mkdir()
    (tmp_path / "application" / "VERSION").write_text("1.0.0\n", encoding="utf-8")
    result = make("lint", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "make: file 'requirements/dev.lock' is missing; run 'make help' for the list"
    )


def test_a_make_run_by_a_test_inherits_nothing_of_the_run_around_it(monkeypatch) -> None:
    """Under `make test` (a parent make) and .ci/run (BASE_IMAGE exported) the tests'
    own make runs must behave as from a shell: makedb.make_env drops what would leak."""
    from support.makedb import INHERITED, make_env, without_make_errors

    for name in ("BASE_IMAGE", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "ENV"):
        monkeypatch.setenv(name, "leaked")
    monkeypatch.setenv("AWS_PROFILE", "p")
    env = make_env("AWS_", EXTRA="x")
    assert not INHERITED & set(env)
    assert "AWS_PROFILE" not in env
    assert env["EXTRA"] == "x"
    assert "PATH" in env
    result = make("tset", "BASE_IMAGE=")  # a mistyped target: one line, then make's own
    stderr = result.stderr.replace("make: *** ", "make[2]: *** ")  # as under a parent make
    assert without_make_errors(stderr) == ["make: no target 'tset'; run 'make help' for the list"]


def test_help_shows_a_value_that_looks_like_an_option() -> None:
    result = make("help", "PYTEST_ARGS=-x", "TAG=--version")
    assert result.returncode == 0, result.stderr
    assert "extra pytest arguments for make test" in result.stdout
    assert result.stdout.count("[-x]") == 1
    assert "[--version]" in result.stdout


def test_help_comes_from_the_rules_own_comments() -> None:
    import makehelp

    text = (
        "a-b: c d ## first\n\tcmd ## not a rule\nX := 1 ## no target\ne: ## second: with ## twice\n"
    )
    assert makehelp.targets(text) == [("a-b", "first"), ("e", "second: with ## twice")]
    rendered = makehelp.render([("a", "x"), ("long-one", "y")], [["V", "help", ""]])
    assert rendered.splitlines()[3:5] == ["  make a         x", "  make long-one  y"]
    assert rendered.endswith("variables [current value]:\n  V               help []\n")
