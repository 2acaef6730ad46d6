"""The Makefile's checks of its own variables, before any recipe uses them.

Make variables reach recipes as text. Each one a recipe builds a command from is
checked here first (the Makefile passes it as one quoted word), so a bad value
stops the target with one line and exit 2 (make's usage code), and never runs
as shell code. The checks used to be shell `case`s and `[[ =~ ]]`s in the
recipes; here they are typed and tested (tests/pipeline/test_makeargs.py).
Standard library only: it runs before any virtualenv exists.

Usage: python tools/makeargs.py COMMAND ...
  tag TAG [--release]       an image tag; --release: also not latest, not tested-*
  cpu-architecture VALUE    X86_64 or ARM64 (infra's cpu_architecture)
  base-image VALUE          print which base `make image` builds on (VALUE empty:
                            the Dockerfile's pin), or refuse a VALUE that is no
                            image reference
  required VALUE MESSAGE    refuse an empty VALUE with MESSAGE
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence

EXIT_OK = 0
EXIT_USAGE = 2
# Docker's tag grammar: A-Z a-z 0-9 _ . -, at most 128, not starting with . or -.
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# The prefix of finlex-release push's test records (release/README.md).
RECORD_PREFIX = "tested-"
CPU_ARCHITECTURES = ("X86_64", "ARM64")
# What an image reference may hold: name, registry, port, tag, digest.
REFERENCE = re.compile(r"^[A-Za-z0-9._/:@-]+$")


class BadValueError(Exception):
    """A variable that cannot be used: one line saying why."""


def tag(value: str, *, release: bool = False) -> str:
    """The tag, if it is one (and, for a release, one that names a build)."""
    if not TAG.match(value):
        raise BadValueError(
            f"make: TAG '{value}' is not an image tag "
            "(A-Z a-z 0-9 _ . -, at most 128, not starting with . or -)"
        )
    if release and value == "latest":
        raise BadValueError(
            "set TAG (e.g. TAG=$(git rev-parse HEAD)): ECR tags are immutable, "
            "'latest' is not a release"
        )
    if release and value.startswith(RECORD_PREFIX):
        raise BadValueError(
            f"make: TAG {value} starts with {RECORD_PREFIX}: such tags are test records "
            "(release/README.md)"
        )
    return f"TAG {value}"


def cpu_architecture(value: str) -> str:
    if value not in CPU_ARCHITECTURES:
        raise BadValueError(
            f"make: CPU_ARCHITECTURE '{value}' is not {' or '.join(CPU_ARCHITECTURES)} "
            "(infra's cpu_architecture)"
        )
    return f"CPU_ARCHITECTURE {value}"


def base_image(value: str, pinned: Callable[[], str]) -> str:
    """The line `make image` prints about its base: the pin, or the override it names."""
    if not value:
        return f"==> base image {pinned()} (the Dockerfile's pin)"
    if not REFERENCE.match(value):
        raise BadValueError(f"make image: BASE_IMAGE='{value}' is not an image reference")
    return f"==> base image OVERRIDDEN: BASE_IMAGE={value} replaces the Dockerfile's pin {pinned()}"


def required(value: str, message: str) -> str:
    if not value:
        raise BadValueError(message)
    return ""


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="makeargs", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    tagged = commands.add_parser("tag", help="an image tag")
    tagged.add_argument("value")
    tagged.add_argument("--release", action="store_true", help="not latest, not tested-*")
    commands.add_parser("cpu-architecture", help="X86_64 or ARM64").add_argument("value")
    commands.add_parser("base-image", help="the override BASE_IMAGE").add_argument("value")
    needed = commands.add_parser("required", help="a variable that must be set")
    needed.add_argument("value")
    needed.add_argument("message")
    return parser.parse_args(argv)


def _pinned() -> str:
    from baseimage import pinned

    return pinned()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        if args.command == "tag":
            tag(args.value, release=args.release)
        elif args.command == "cpu-architecture":
            cpu_architecture(args.value)
        elif args.command == "base-image":
            print(base_image(args.value, _pinned), flush=True)
        else:
            required(args.value, args.message)
    except BadValueError as refused:
        print(refused, file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
