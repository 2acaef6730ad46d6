"""The README's configuration table matches the settings the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import settings

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
