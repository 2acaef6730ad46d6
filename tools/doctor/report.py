"""The command line: which goals, then one line per check and a summary; the exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .goals import GOALS, checks
from .machine import Machine
from .result import BAD, UNCHECKED

# Where the README helps with a make target that runs the doctor first (--before).
TROUBLESHOOTING = {"image": "README: Troubleshooting the image build"}
STOPPED = 2  # --before: make stops on the doctor's failure as on a bad argument


def parse_goals(text: str) -> set[str]:
    chosen = {g.strip() for g in text.split(",") if g.strip()}
    unknown = chosen - set(GOALS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown goal {', '.join(sorted(unknown)) or repr(text)}; "
            f"choose from {', '.join(GOALS)}"
        )
    return chosen


def main(argv: Sequence[str] | None = None, machine: Machine | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="doctor", description="Check the prerequisites of finlex's make targets."
    )
    parser.add_argument(
        "--for",
        dest="goals",
        type=parse_goals,
        default=set(GOALS),
        help=f"comma-separated goals to check (default: all of {', '.join(GOALS)})",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the failed and the unchecked checks"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="a check that could not run here (no GitHub token, no network) fails too",
    )
    parser.add_argument(
        "--before",
        metavar="TARGET",
        help="run as the first step of `make TARGET`: a failure ends with one line on "
        f"stderr saying so, and exit {STOPPED}",
    )
    args = parser.parse_args(argv)
    m = machine or Machine(env=dict(os.environ))
    results = checks(m, args.goals)
    for result in results:
        if not (args.quiet and result.ok and result.checked):
            print(result.line())
    failed = [r for r in results if not r.ok]
    unchecked = [r for r in results if not r.checked]
    if not args.quiet:
        passed = len(results) - len(failed) - len(unchecked)
        print(f"\n{passed} of {len(results)} checks passed", end="")
        if unchecked:
            counts = "a failure with --strict" if args.strict else "STRICT=1 makes it a failure"
            print(f"; {len(unchecked)} not checked (marked {UNCHECKED}: {counts})", end="")
        print(f"; fix the {len(failed)} marked {BAD} above." if failed else ".")
    if failed and args.before:
        where = TROUBLESHOOTING.get(args.before)
        print(
            f"make {args.before}: fix the above first" + (f" ({where})" if where else ""),
            file=sys.stderr,
        )
        return STOPPED
    return 1 if failed or (args.strict and unchecked) else 0
