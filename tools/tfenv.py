"""Which environment the Makefile's tf-* targets run: ENV, checked before anything runs.

An environment of infra/ is two files in infra/environments: NAME.tfvars (its var file)
and NAME.backend.hcl (its state key). `make tf-plan ENV=staging` adds both to the shared
backend.hcl and terraform.tfvars; ENV empty is the day-one path, production alone, with
those two files only. A third environment is two more files, nothing here.

A mistyped ENV must stop the target before it writes or plans anything, with one line
naming the environments there are: a plan of the wrong state would be worse than none.
Standard library only, like tools/tfplan.py (CI runs it without a virtualenv).

The shared files, infra/backend.hcl and infra/terraform.tfvars, are a person's copies
of the .example files; in CI the Makefile writes each, when missing, from a repository
variable (TF_BACKEND_HCL, TF_TFVARS), which `write` does.

Usage: python tools/tfenv.py [--root infra] check ENV
       python tools/tfenv.py write FILE VARIABLE VALUE
  check ENV                 exit 0 if ENV is empty or an environment of ROOT/environments;
                            else one line naming the valid ones, exit 2
  write FILE VARIABLE VALUE write VALUE into FILE; VALUE empty: one line saying what to
                            do (copy FILE.example, or set VARIABLE in CI), exit 2
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK = 0
EXIT_USAGE = 2
VAR_FILE = ".tfvars"
BACKEND_FILE = ".backend.hcl"
# A name that is safe as a file name, a make word and a shell word (the Makefile
# builds paths and the plan's name from it): what records_environment accepts.
NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")


def environments(root: Path) -> list[str]:
    """The environments of ROOT/environments: a var file and a backend file each."""
    folder = root / "environments"
    var_files = {path.name.removesuffix(VAR_FILE) for path in folder.glob(f"*{VAR_FILE}")}
    backends = {path.name.removesuffix(BACKEND_FILE) for path in folder.glob(f"*{BACKEND_FILE}")}
    return sorted(name for name in var_files & backends if NAME.match(name))


def problem(root: Path, env: str, origin: str = "command line") -> str | None:
    """Why ENV cannot be run, in one line; None when it can (empty: production alone).

    `origin` is make's $(origin ENV): a POSIX shell's own ENV (its start-up file, e.g.
    FreeBSD's default ~/.profile exports one) reaches make from the environment, and
    the line then says so, rather than planning some other state silently."""
    if not env:
        return None
    known = environments(root)
    if env in known:
        return None
    listed = ", ".join(known) or "none"
    shell = (
        " (it comes from the environment, perhaps your shell's ENV: pass ENV= on make's "
        "command line)"
        if origin.startswith("environment")
        else ""
    )
    return (
        f"ENV={env!r} is not an environment of {root}/environments{shell} (valid: {listed}; "
        f"each is NAME{VAR_FILE} + NAME{BACKEND_FILE}); leave ENV empty for production "
        f"alone ({root}/backend.hcl and {root}/terraform.tfvars)"
    )


def write(path: Path, variable: str, value: str) -> str | None:
    """Write the CI variable's text into the missing file; why not, in one line."""
    if not value:
        return (
            f"{path} is missing: copy {path}.example and edit it "
            f"(CI: set the repository variable {variable})"
        )
    path.write_text(value + "\n", encoding="utf-8")
    return None


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tfenv", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=Path("infra"), help="the Terraform root")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check ENV (empty: production alone)")
    check.add_argument("env", help="the environment's name, or '' for production alone")
    check.add_argument("--origin", default="command line", help="make's $(origin ENV)")
    written = commands.add_parser("write", help="write a missing file from a CI variable")
    written.add_argument("file", type=Path)
    written.add_argument("variable", help="the CI variable's name, for the message")
    written.add_argument("value", help="its text ('' when unset)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.command == "write":
        missing = write(args.file, args.variable, args.value)
        if missing is not None:
            print(missing, file=sys.stderr)
            return EXIT_USAGE
        return EXIT_OK
    found = problem(args.root, args.env, args.origin)
    if found is not None:
        print(f"make: {found}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
