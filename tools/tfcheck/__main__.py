"""Command line: python -m tfcheck [--schema FILE] DIR...

Checks every directory under each DIR that holds .tf files. Prints one line per
finding (`path:line: block "name": message`) and exits 0 when clean, 1 on
findings, 2 on usage errors (missing folder, unreadable schema).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tfcheck.check import SCHEMA_PATH, SchemaError, check_paths, load_schema
from tfcheck.hcl import module_dirs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tfcheck",
        description="Check Terraform offline: hashicorp/aws arguments, module inputs, references.",
    )
    parser.add_argument("dirs", nargs="+", type=Path, help="folders to check (recursively)")
    parser.add_argument("--schema", type=Path, default=SCHEMA_PATH, help="provider schema JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    args = parser.parse_args(argv)
    for directory in args.dirs:
        if not directory.is_dir():
            print(f"tfcheck: error: {directory} is not a directory", file=sys.stderr)
            return 2
        if next(module_dirs(directory), None) is None:
            print(f"tfcheck: error: no .tf files under {directory}", file=sys.stderr)
            return 2
    try:
        schema = load_schema(args.schema)
    except SchemaError as exc:
        print(f"tfcheck: error: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    checker = check_paths(args.dirs, schema)
    base = Path.cwd()
    for finding in checker.findings:
        print(finding.render(base))
    if not args.quiet:
        modules = len({d.resolve() for root in args.dirs for d in module_dirs(root)})
        print(
            f"tfcheck: {modules} module folder(s), {checker.blocks_checked} blocks checked, "
            f"{len(checker.findings)} finding(s) in {time.monotonic() - started:.1f}s",
            file=sys.stderr,
        )
    return 1 if checker.findings else 0


if __name__ == "__main__":
    sys.exit(main())
