"""`make lock`: re-pin requirements/NAME.lock from requirements/NAME.in, one file at a time.

Every lock is universal (one lock for Linux and macOS, x86-64 and arm64), hashed, and
resolved for the oldest Python the project supports, so `pip install --require-hashes`
takes it anywhere. The first failure stops the run with uv's own exit code. This was a
shell loop in the Makefile.

Usage: python tools/relock.py --uv UV [--folder requirements] NAME...
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PYTHON_VERSION = "3.11"  # release/pyproject.toml's requires-python floor
COMPILE = ("pip", "compile", "--quiet", "--universal", "--generate-hashes")


def command(uv: str, name: str) -> list[str]:
    """uv's command that writes NAME.lock from NAME.in (paths relative to the folder)."""
    return [uv, *COMPILE, "--python-version", PYTHON_VERSION, f"{name}.in", "-o", f"{name}.lock"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relock", description=__doc__)
    parser.add_argument("--uv", required=True, help="the uv executable")
    parser.add_argument("--folder", type=Path, default=Path("requirements"))
    parser.add_argument("names", nargs="+", help="the locks to write, e.g. app dev")
    args = parser.parse_args(argv)
    for name in args.names:
        print(f"==> {args.folder / name}.lock", flush=True)
        try:
            code = subprocess.call(command(args.uv, name), cwd=args.folder)  # noqa: S603
        except OSError as error:
            print(f"relock: cannot run {args.uv}: {error.strerror}", file=sys.stderr)
            return 2
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
