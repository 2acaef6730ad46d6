"""`make test`: every test, in two pytest sessions side by side.

The rehearsal (tests/rehearsal) spends most of its time waiting on the AWS
provider, so it runs in a second session beside the main one, which takes every
other test; its output (kept in a log meanwhile) follows the main session's, and
the run fails if either fails. With pytest arguments (PYTEST_ARGS) one session
runs just what they name. README.md ("What `make test` runs") says the same; a
test holds the two together.

Usage: python tools/testsessions.py --python PY [--log FILE] [-- PYTEST_ARGS...]
Exit: pytest's own code (the main session's, else the rehearsal's); 5 (no tests
collected) is a failure too, and says so.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from localhost import stop

# The session beside the main one, and how it runs: no coverage (the main session
# measures it) and no cache (two sessions would write the same one).
SIDE = "tests/rehearsal"
SIDE_OPTIONS = ("--no-cov", "-p", "no:cacheprovider")
LOG = Path(".cache/rehearsal-tests.log")
NO_TESTS = 5  # pytest's code for "collected nothing"


@dataclass(frozen=True)
class Plan:
    """The pytest argument lists of the main session and of the side one (None: none)."""

    main: tuple[str, ...]
    side: tuple[str, ...] | None


def plan(pytest_args: Sequence[str]) -> Plan:
    """Both sessions without arguments; with them, one session of exactly those."""
    if pytest_args:
        return Plan(tuple(pytest_args), None)
    return Plan((f"--ignore={SIDE}",), (SIDE, *SIDE_OPTIONS))


def combined(main: int, side: int | None) -> int:
    """The run's exit code: the main session's when it failed, else the side one's."""
    return main if main != 0 or side is None else side


def run(python: str, pytest_args: Sequence[str], log: Path) -> int:
    sessions = plan(pytest_args)
    pytest = [python, "-m", "pytest"]
    side: subprocess.Popen[bytes] | None = None
    second: int | None = None
    if sessions.side is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        print(f"==> {SIDE} runs beside the other tests (log: {log})", flush=True)
        with log.open("wb") as out:
            side = subprocess.Popen(  # noqa: S603 - argument list, no shell
                [*pytest, *sessions.side], stdout=out, stderr=subprocess.STDOUT
            )
    try:
        status = subprocess.call([*pytest, *sessions.main])  # noqa: S603
        second = side.wait() if side is not None else None
    finally:
        if side is not None and side.poll() is None:
            stop(side)
    if second is not None:
        print(f"==> {SIDE}", flush=True)
        sys.stdout.write(log.read_text(encoding="utf-8", errors="replace"))
        sys.stdout.flush()
    result = combined(status, second)
    if result == NO_TESTS:
        print("make test: pytest collected no tests; that is a failure", file=sys.stderr)
    return result


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="testsessions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--python", required=True, help="the interpreter that has pytest")
    parser.add_argument("--log", type=Path, default=LOG, help=f"{SIDE}'s output meanwhile")
    parser.add_argument("pytest_args", nargs="*", help="after --: one session of just these")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        return run(args.python, args.pytest_args, args.log)
    except OSError as error:
        print(f"make test: cannot run {args.python}: {error.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
