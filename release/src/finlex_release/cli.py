"""finlex-release: the one release CLI for pipelines and laptops.

Every command prints progress on stderr, results on stdout, and ends with an
exit code from errors.Exit; a problem is one line on stderr, never a traceback.
Ctrl-C and SIGTERM end it with one line too, naming a deployment still in progress.

Each command lives in its own module, options beside the code they feed
(`register`, then `run`; command.py); this file lists them and turns what
they raise into one line and an exit code.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from finlex_release import (
    deploy,
    deps_audit,
    ecr_login,
    image_exists,
    probe,
    promote,
    push,
    rollback,
    scan_gate,
    status,
    verify,
)
from finlex_release.aws import aws_errors
from finlex_release.command import PROG, AddCommand, Context, Parser, Register, exit_codes
from finlex_release.errors import Exit, ReleaseError

DESCRIPTION = """\
The one release CLI for pipelines and laptops: progress on stderr, results on
stdout, every failure one line on stderr with an exit code from the table below."""

# The subcommands, in the order --help lists them: each module's register()
# adds its own (promote.py adds verify-record, promote and verified).
COMMANDS: tuple[Register, ...] = (
    scan_gate.register,
    deploy.register,
    rollback.register,
    status.register,
    verify.register,
    ecr_login.register,
    image_exists.register,
    deps_audit.register,
    probe.register,
    push.register,
    promote.register,
)


def _version() -> str:
    try:
        return importlib.metadata.version("finlex-release")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = Parser(
        prog=PROG, description=DESCRIPTION, epilog=exit_codes(), formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    add = AddCommand(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    for register in COMMANDS:
        register(add)
    return parser


class Terminated(BaseException):
    """SIGTERM arrived (raised in the main thread by the handler)."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into Terminated while a command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        # None: a handler installed outside Python; the default is the best we can restore.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _interrupted(how: str, context: Context) -> str:
    in_flight = context.follow.in_flight if context.follow else None
    if in_flight is not None:
        return f"{how}; {in_flight.describe()}"
    if context.follow is not None:
        return f"{how}; no deployment of this run is in progress"
    return how


def main(argv: Sequence[str] | None = None, context: Context | None = None) -> int:
    args = build_parser().parse_args(argv)
    context = context or Context()
    try:
        with _sigterm_raises():
            try:
                with aws_errors():
                    args.run(args, context)
            except ReleaseError as error:
                message = " ".join(error.message.split())
                print(f"{PROG} {args.command}: {message}", file=sys.stderr)
                return int(error.code)
            except KeyboardInterrupt:
                message = _interrupted("interrupted (Ctrl-C)", context)
                print(f"{PROG} {args.command}: {message}", file=sys.stderr)
                return int(Exit.INTERRUPTED)
            except Terminated:
                message = _interrupted("terminated (SIGTERM)", context)
                print(f"{PROG} {args.command}: {message}", file=sys.stderr)
                return int(Exit.TERMINATED)
    except Terminated:  # a second SIGTERM while the first was reported
        return int(Exit.TERMINATED)
    return int(Exit.OK)


if __name__ == "__main__":
    sys.exit(main())
