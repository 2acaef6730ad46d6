"""What every subcommand is made of: the Context it runs in, the `AddCommand`
helper its module's `register` calls, and the option types and groups that
several commands share.

A command module (deploy.py, verify.py, ...) keeps its options beside the code
they feed, in a `register(command: AddCommand)` function, and runs through
`run(args, context)`; cli.py only lists the modules and reports errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TextIO

from finlex_release import allowlist, rollout
from finlex_release.aws import ClientFactory, client_factory
from finlex_release.errors import EXIT_TABLE, Exit
from finlex_release.waiting import Clock, Progress

PROG = "finlex-release"
# Upper bound of every duration option: one day. Larger values (or inf) would
# overflow sleeps and socket timeouts after AWS calls had already run.
MAX_SECONDS = 24 * 3600.0


@dataclass
class Context:
    """What commands get from outside; tests replace any part of it."""

    clients: ClientFactory | None = None
    clock: Clock = field(default_factory=Clock)
    today: Callable[[], dt.date] = allowlist.utc_today
    out: TextIO = field(default_factory=lambda: sys.stdout)
    progress: Progress = field(default_factory=Progress)
    cwd: Callable[[], Path] = Path.cwd
    # The wait of deploy/rollback/promote, so that an interrupt can name its deployment.
    follow: rollout.Follow | None = None


Run = Callable[[argparse.Namespace, Context], None]


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(Exit.USAGE, f"{self.prog}: {message} (see --help)\n")


def exit_codes() -> str:
    """The epilog of every --help: the exit-code table of errors.EXIT_TABLE."""
    rows = "\n".join(f"  {int(code)}  {text}" for code, text in EXIT_TABLE.items())
    return f"exit codes:\n{rows}"


class AddCommand:
    """Adds one subcommand: its summary as help and description, the exit-code
    epilog, --region when it calls AWS, and the `run` that cli.main calls."""

    def __init__(self, subparsers: argparse._SubParsersAction[Parser]) -> None:
        self._subparsers = subparsers
        self._aws = Parser(add_help=False)
        self._aws.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")

    def __call__(self, name: str, run: Run, summary: str, *, uses_aws: bool = True) -> Parser:
        parser = self._subparsers.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=exit_codes(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[self._aws] if uses_aws else [],
        )
        parser.set_defaults(run=run)
        return parser


Register = Callable[[AddCommand], None]


# --- option types ------------------------------------------------------------


def seconds(text: str) -> float:
    """A duration in seconds: a finite number above 0 and at most MAX_SECONDS."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if math.isnan(value) or not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is too long: at most {MAX_SECONDS:g} seconds (one day)"
        )
    return value


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An option type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} must be between {low} and {high}")
        return value

    return parse


# --- option groups -----------------------------------------------------------


def service_options(parser: argparse.ArgumentParser) -> None:
    """--cluster and --service: the ECS service a command reads or changes."""
    parser.add_argument("--cluster", required=True, help="ECS cluster name or ARN")
    parser.add_argument("--service", required=True, help="ECS service name or ARN")


def wait_options(parser: argparse.ArgumentParser, timeout: float, interval: float) -> None:
    """--timeout and --interval of a command that polls, with its defaults."""
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=timeout,
        help=f"give up after this many seconds (default {timeout:g})",
    )
    parser.add_argument(
        "--interval",
        type=seconds,
        default=interval,
        help=f"seconds between polls (default {interval:g})",
    )


# --- what runs read ----------------------------------------------------------


def aws(args: argparse.Namespace, context: Context) -> ClientFactory:
    """The context's clients (tests), else boto3's for --region."""
    return context.clients or client_factory(args.region)


def follow_settings(args: argparse.Namespace, context: Context) -> rollout.Follow:
    """How to follow a deployment, from --timeout/--interval; kept on the context
    so that an interrupt can name the deployment in progress."""
    context.follow = rollout.Follow(
        timeout=args.timeout, interval=args.interval, clock=context.clock, progress=context.progress
    )
    return context.follow
