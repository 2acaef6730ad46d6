"""`make help`: the targets from their own `## ` comments, then the variables.

A target is documented on its rule line, `name: prerequisites ## what it does`, so
the list cannot drift from the Makefile; the variables come with their help text
(the Makefile's HELP_<NAME>) and current value, which make passes here expanded.
Standard library only: `make help` works before any virtualenv exists.

Usage: python tools/makehelp.py MAKEFILE... -- [NAME HELP VALUE]...
(After `--` every word is data: a value such as `-x` is no option.)
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

DOCUMENTED = re.compile(r"^([a-z][a-z-]*):.*?## (.*)$")


def targets(text: str) -> list[tuple[str, str]]:
    """(target, description) of each rule line with a `## ` comment, in order."""
    return [(m[1], m[2]) for line in text.splitlines() if (m := DOCUMENTED.match(line))]


def render(documented: Sequence[tuple[str, str]], variables: Sequence[Sequence[str]]) -> str:
    width = max((len(name) for name, _ in documented), default=0)
    lines = ["usage: make TARGET [VARIABLE=value ...]", "", "targets:"]
    lines += [f"  make {name:<{width}}  {text}" for name, text in documented]
    lines += ["", "variables [current value]:"]
    lines += [f"  {name:<15} {text} [{value}]" for name, text, value in variables]
    return "\n".join(lines) + "\n"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="makehelp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("words", nargs="*", help="MAKEFILE... -- NAME HELP VALUE ...")
    args = parser.parse_args(list(argv) if argv is not None else None)
    given = list(argv) if argv is not None else sys.argv[1:]
    split = given.index("--") if "--" in given else len(given)
    args.makefiles = [Path(word) for word in given[:split]]
    triplets = given[split + 1 :]
    if len(triplets) % 3:
        parser.error("the variables come as NAME HELP VALUE triplets")
    args.variables = [triplets[i : i + 3] for i in range(0, len(triplets), 3)]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        texts = [path.read_text(encoding="utf-8") for path in args.makefiles]
    except OSError as error:
        print(f"make help: cannot read {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    documented = [found for text in texts for found in targets(text)]
    sys.stdout.write(render(documented, args.variables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
