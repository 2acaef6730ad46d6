"""Generate the inputs/outputs tables of the Terraform READMEs from the .tf files.

Markdown files under the Terraform root hold generated sections between

    <!-- tfdocs:begin DIR -->
    ...
    <!-- tfdocs:end DIR -->

where DIR is a configuration folder relative to the Terraform root (`.` for the
root itself, `modules/ecr`, ...). This tool rewrites each section with the
Inputs and Outputs tables of DIR, read from its variable and output blocks.

Usage: python tools/tfdocs.py [--check] [--root infra]
  --check  change nothing; exit 1 and name the stale sections if any differ.
Exit codes: 0 up to date (or rewritten), 1 stale (--check), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

EXIT_OK = 0
EXIT_STALE = 1
EXIT_BAD_INPUT = 2

_SECTION = re.compile(
    r"(?P<begin><!-- tfdocs:begin (?P<dir>\S+) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<end><!-- tfdocs:end (?P=dir) -->)",
    re.DOTALL,
)
_OPTIONS = hcl2.SerializationOptions(
    explicit_blocks=False, strip_string_quotes=True, with_comments=False
)


class DocsError(Exception):
    """A configuration or markdown file that this tool cannot document."""


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    type: str
    default: str | None  # rendered; None when the variable is required


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def _unwrap(expression: Any) -> str:
    """`${list(string)}` -> `list(string)`; plain strings stay as they are."""
    text = str(expression)
    if text.startswith("${") and text.endswith("}"):
        return text[2:-1]
    return text


def _render_default(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(_unwrap(value)) if not value.startswith("${") else _unwrap(value)
    return json.dumps(value, separators=(", ", ": "))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def read_config(directory: Path) -> tuple[list[Variable], list[Output]]:
    """The variables and outputs of the .tf files in `directory`, in file order."""
    if not directory.is_dir():
        raise DocsError(f"{directory}: no such configuration folder")
    variables: list[Variable] = []
    outputs: list[Output] = []
    for path in sorted(directory.glob("*.tf")):
        try:
            with path.open(encoding="utf-8") as handle:
                document = hcl2.load(handle, serialization_options=_OPTIONS)
        except Exception as error:  # the parser raises several unrelated types
            raise DocsError(f"{path}: cannot parse: {error}") from None
        for block in document.get("variable", []):
            for name, body in block.items():
                variables.append(
                    Variable(
                        name=name,
                        description=str(body.get("description", "")),
                        type=_unwrap(body.get("type", "any")),
                        default=_render_default(body["default"]) if "default" in body else None,
                    )
                )
        for block in document.get("output", []):
            for name, body in block.items():
                outputs.append(Output(name=name, description=str(body.get("description", ""))))
    return variables, outputs


def render(variables: list[Variable], outputs: list[Output]) -> str:
    """Markdown tables of the inputs and outputs."""
    lines = ["#### Inputs", ""]
    if variables:
        lines += [
            "| Name | Description | Type | Default | Required |",
            "|------|-------------|------|---------|:--------:|",
        ]
        for variable in variables:
            default = "n/a" if variable.default is None else f"`{_cell(variable.default)}`"
            required = "yes" if variable.default is None else "no"
            lines.append(
                f"| `{variable.name}` | {_cell(variable.description)} "
                f"| `{_cell(variable.type)}` | {default} | {required} |"
            )
    else:
        lines.append("No inputs.")
    lines += ["", "#### Outputs", ""]
    if outputs:
        lines += ["| Name | Description |", "|------|-------------|"]
        lines += [f"| `{output.name}` | {_cell(output.description)} |" for output in outputs]
    else:
        lines.append("No outputs.")
    return "\n".join(lines) + "\n"


def update_markdown(markdown: Path, root: Path) -> tuple[str, str, list[str]]:
    """(old text, new text, sections found) of one markdown file."""
    old = markdown.read_text(encoding="utf-8")
    sections: list[str] = []

    def replace(match: re.Match[str]) -> str:
        directory = match.group("dir")
        sections.append(directory)
        variables, outputs = read_config((root / directory).resolve())
        return match.group("begin") + render(variables, outputs) + match.group("end")

    new = _SECTION.sub(replace, old)
    return old, new, sections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale tables, change nothing")
    parser.add_argument("--root", default="infra", help="Terraform root folder (default: infra)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not root.is_dir():
        print(f"tfdocs: {root}: no such folder", file=sys.stderr)
        return EXIT_BAD_INPUT
    stale: list[str] = []
    found = 0
    try:
        for markdown in sorted(root.rglob("*.md")):
            if ".terraform" in markdown.parts:
                continue
            old, new, sections = update_markdown(markdown, root)
            found += len(sections)
            if old == new:
                continue
            if args.check:
                stale.append(f"{markdown} ({', '.join(sections)})")
            else:
                markdown.write_text(new, encoding="utf-8")
                print(f"tfdocs: updated {markdown}")
    except DocsError as error:
        print(f"tfdocs: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if found == 0:
        print(f"tfdocs: no tfdocs sections under {root}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if stale:
        for entry in stale:
            print(f"tfdocs: stale: {entry}", file=sys.stderr)
        print("tfdocs: run `make tfdocs` to regenerate", file=sys.stderr)
        return EXIT_STALE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
