"""What the workflows in .github/workflows reference: repository variables, job
environments. A regex, not YAML: the doctor runs before any venv, standard library only."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

VARS = re.compile(r"\bvars\.([A-Z][A-Z0-9_]*)(\s*(?:\|\||!=|==))?")
# A YAML comment: `#` at the start of a line or after a blank (GitHub's
# expressions hold no `#`), to the end of the line.
YAML_COMMENT = re.compile(r"(?:^|(?<=\s))#.*$", re.MULTILINE)


def workflow_variables(repo: Path, names: Sequence[str] = ()) -> dict[str, bool]:
    """Repository variables the workflows read: name -> required (no fallback, no test)."""
    required: dict[str, bool] = {}
    folder = repo / ".github" / "workflows"
    paths = [folder / n for n in names] if names else sorted(folder.glob("*.y*ml"))
    for path in paths:
        # Comments may mention vars.X; only what a job reads counts.
        text = YAML_COMMENT.sub("", path.read_text(encoding="utf-8"))
        for match in VARS.finditer(text):
            name, optional = match.group(1), bool(match.group(2))
            required[name] = required.get(name, True) and not optional
    return required


def workflow_environment(repo: Path, workflow: str, job: str) -> str | None:
    """The environment a workflow's job names (`environment: X` or `name: X` under it).

    A regex, not YAML: the doctor runs before any venv, with the standard library only.
    """
    text = (repo / ".github" / "workflows" / workflow).read_text(encoding="utf-8")
    body = re.search(
        rf"^  {re.escape(job)}:[ \t]*(?:#.*)?\n((?:[ \t]*(?:#.*)?\n|    .*\n)*)", text, re.M
    )
    if body is None:
        return None
    found = re.search(
        r"^    environment:[ \t]*(?:\n      name:[ \t]*)?[\"']?([A-Za-z0-9._-]+)",
        body.group(1),
        re.M,
    )
    return found.group(1) if found else None
