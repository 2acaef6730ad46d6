"""Run one Terraform step in every root of infra/ (infra, infra/bootstrap), in order.

`make tf-validate` and `make tf-lock` used to be shell loops in the Makefile; here
each root is named on a line of its own (`== infra`), the step's own output follows,
and the first failure stops the run with Terraform's exit code. The Makefile passes
the roots, the init arguments (its TF_INIT: the committed lock, never newer) and the
platforms, so each of those has one home there. Standard library only.

Usage: python tools/tfroots.py [--terraform TF] COMMAND ROOT...
  validate --init ARGS ROOT...      `init ARGS` (quiet), then `validate -no-color`
  lock --platform P... ROOT...     `get` (quiet), then `providers lock -platform=P ...`
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Sequence


def steps(command: str, args: argparse.Namespace) -> list[tuple[list[str], bool]]:
    """The Terraform commands of one root, each with whether its output is shown."""
    if command == "validate":
        return [(shlex.split(args.init), False), (["validate", "-no-color"], True)]
    platforms = [f"-platform={name}" for name in args.platform]
    return [(["get", "-no-color"], False), (["providers", "lock", "-no-color", *platforms], True)]


def run(terraform: Sequence[str], command: str, args: argparse.Namespace) -> int:
    for root in args.roots:
        print(f"== {root}", flush=True)
        for argv, shown in steps(command, args):
            try:
                code = subprocess.call(  # noqa: S603 - argument list, no shell
                    [*terraform, f"-chdir={root}", *argv],
                    stdout=None if shown else subprocess.DEVNULL,
                )
            except OSError as error:
                print(f"tfroots: cannot run {terraform[0]}: {error.strerror}", file=sys.stderr)
                return 2
            if code != 0:
                return code
    return 0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tfroots", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--terraform", default="terraform", help="the terraform command")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="init (no backend) and validate each root")
    validate.add_argument("--init", required=True, help="the init arguments, one string")
    validate.add_argument("roots", nargs="+")
    lock = commands.add_parser("lock", help="record every platform's provider hashes")
    lock.add_argument(
        "--platform", action="append", required=True, help="one platform, e.g. linux_amd64"
    )
    lock.add_argument("roots", nargs="+")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    terraform = shlex.split(args.terraform) or ["terraform"]
    return run(terraform, args.command, args)


if __name__ == "__main__":
    sys.exit(main())
