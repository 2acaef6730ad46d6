"""The README's configuration table matches the settings the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import settings
from app import VERSION

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_rows() -> list[tuple[str, str, str]]:
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- config-table:start -->")[1].split("<!-- config-table:end -->")[0]
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \| (.+?) \|$", table, re.MULTILINE)
    return [(name, default, meaning) for name, default, meaning in rows]


def test_config_table_matches_settings() -> None:
    defaults = settings.Settings()
    expected = [
        (name, str(getattr(defaults, field)), description)
        for name, (field, description) in settings.ENVIRONMENT.items()
    ]
    assert documented_rows() == expected


def test_docs_quote_the_current_version() -> None:
    """Every answer of /version quoted in the docs shows application/VERSION."""
    repo = README.parent
    quoted = []
    for doc in [README, *sorted((repo / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        quoted += [(doc.name, v) for v in re.findall(r"API version: ([\w.+-]+)", text)]
        quoted += [(doc.name, v) for v in re.findall(r'\{"version": ?"([^"]+)"\}', text)]
    assert len(quoted) >= 4, quoted  # the README shows the answer several times
    assert {version for _, version in quoted} == {VERSION}, quoted
