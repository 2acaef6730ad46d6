"""The CLI as users meet it: console script, help, version, one-line usage errors,
bounded durations, SIGTERM; and cli.py as nothing but the table of commands."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from finlex_release import cli
from finlex_release.command import AddCommand, Parser
from finlex_release.errors import EXIT_TABLE, Exit
from support.prerequisites import require_tool

COMMANDS = ("scan-gate", "deploy", "rollback", "status", "verify", "ecr-login")


def test_help_lists_commands_and_exit_codes(run) -> None:
    result = run("--help")
    assert result.code == 0
    text = result.err + result.out
    help_text = subprocess.run(
        [sys.executable, "-m", "finlex_release", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in COMMANDS:
        assert command in help_text
    for code, meaning in EXIT_TABLE.items():
        assert f"  {int(code)}  {meaning}" in help_text
    assert text == ""  # argparse prints --help to the real stdout, not through context


def test_exit_codes_are_distinct() -> None:
    assert len({int(code) for code in Exit}) == len(Exit)
    assert set(EXIT_TABLE) == set(Exit)


def test_console_script_without_credentials(no_credentials, tmp_path) -> None:
    script = require_tool("finlex-release")
    result = subprocess.run(
        [script, "deploy", "--cluster", "c", "--service", "s", "--image", "finlex:1"],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
        timeout=60,
    )
    assert result.returncode == Exit.CREDENTIALS
    assert result.stderr.startswith("finlex-release deploy: no usable AWS credentials")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("launch",), "invalid choice: 'launch'"),
        (("scan-gate", "--threshold", "SEVERE", "--image", "a:1"), "invalid choice: 'SEVERE'"),
        (("verify", "--url", "http://x", "--timeout", "soon"), "'soon' is not a number"),
    ],
)
def test_usage_errors_are_one_line(run, argv, message) -> None:
    result = run(*argv)
    assert result.code == Exit.USAGE
    assert message in result.err
    assert result.err.rstrip().endswith("(see --help)")
    assert len(result.err.strip().splitlines()) == 1


# --- version, help, durations ---------------------------------------------------


def test_version_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "finlex_release", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"finlex-release {importlib.metadata.version('finlex-release')}"


def test_help_names_no_internals() -> None:
    for argv in ((), ("verify",), ("deploy",)):
        text = subprocess.run(
            [sys.executable, "-m", "finlex_release", *argv, "--help"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "errors.Exit" not in text, argv


@pytest.mark.parametrize(
    "argv",
    [
        ("deploy", "--cluster", "c", "--service", "s", "--image", "finlex:1", "--timeout", "inf"),
        ("deploy", "--cluster", "c", "--service", "s", "--image", "finlex:1", "--timeout", "1e999"),
        ("rollback", "--cluster", "c", "--service", "s", "--interval", "1e300"),
        ("scan-gate", "--image", "finlex:1", "--timeout", "Infinity"),
        ("verify", "--url", "http://x", "--request-timeout", "1e12"),
        ("verify", "--url", "http://x", "--max-interval", "86401"),
        ("verify", "--url", "http://x", "--timeout", "nan"),
        ("verify", "--url", "http://x", "--rounds", "0"),
    ],
)
def test_every_duration_is_bounded_before_any_aws_call(run, argv) -> None:
    def no_aws(service: str) -> object:
        raise AssertionError(f"an AWS client ({service}) was made")

    result = run(*argv, clients=no_aws)
    assert result.code == Exit.USAGE, result.err
    assert len(result.err.strip().splitlines()) == 1
    assert result.progress == ""


# --- SIGTERM, as a CI runner sends it ----------------------------------------------


def test_sigterm_ends_with_one_line_and_exit_143(tmp_path) -> None:
    script = require_tool("finlex-release")
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)
        url = f"http://127.0.0.1:{hole.getsockname()[1]}"
        process = subprocess.Popen(
            [
                script,
                "verify",
                "--allow-http",
                "--url",
                url,
                "--expected-version",
                "1",
                "--timeout",
                "60",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr is not None
            first = process.stderr.readline()  # "verifying ...": the handler is in place
            assert first.startswith("verifying ")
            process.send_signal(signal.SIGTERM)
            _, rest = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == Exit.TERMINATED
    assert rest == "finlex-release verify: terminated (SIGTERM)\n"


def test_readme_exit_table_lists_every_exit_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "release" / "README.md").read_text()
    table = readme.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    codes = [int(line.split("|")[1]) for line in table.splitlines()[2:] if line.startswith("|")]
    assert codes == sorted(int(code) for code in Exit)


def test_each_command_module_registers_and_runs_its_own_subcommands() -> None:
    """cli.py is only the table: every subcommand's options and run live in the
    module whose register() adds it, and the table adds every subcommand."""
    every = _subcommands(cli.build_parser())
    seen: dict[str, str] = {}
    for register in cli.COMMANDS:
        parser = Parser(prog="finlex-release")
        register(AddCommand(parser.add_subparsers(dest="command")))
        for name, sub in _subcommands(parser).items():
            assert sub.get_default("run").__module__ == register.__module__, name
            assert name not in seen, f"{name}: added by {seen.get(name)} and {register.__module__}"
            seen[name] = register.__module__
    assert sorted(seen) == sorted(every)
    assert "cli" not in {module.rsplit(".", 1)[-1] for module in seen.values()}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (found,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(found.choices)


def test_readme_code_layout_names_every_module() -> None:
    readme = (Path(__file__).resolve().parents[2] / "release" / "README.md").read_text()
    table = readme.split("## Code layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(\w+\.py)`", table))
    package = Path(cli.__file__).parent
    modules = {path.name for path in package.glob("*.py")} - {"__init__.py", "__main__.py"}
    assert named == modules
