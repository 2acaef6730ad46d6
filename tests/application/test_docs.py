"""The README's configuration table matches the settings the code reads."""

from __future__ import annotations

import re
from pathlib import Path

from finlex_api import settings
from finlex_api.factory import create_app
from finlex_api.routes import VERSION

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


def test_every_numeric_setting_documents_its_range() -> None:
    """The README (generated from ENVIRONMENT) shows the range the code enforces."""
    for _name, (field, description) in settings.ENVIRONMENT.items():
        if field in settings._RANGES:
            low, high = settings._RANGES[field]
            assert f"({low}-{high}" in description, (field, description)


def test_docs_quote_the_json_answer_byte_for_byte() -> None:
    """`{"version":"1.0.1"}` as the server sends it, not re-spaced."""
    client = create_app(settings.Settings()).test_client()
    sent = client.get("/version", headers={"Accept": "application/json"}).get_data(as_text=True)
    repo = README.parent
    quoted = []
    for doc in [README, *sorted((repo / "docs").glob("*.md"))]:
        quoted += re.findall(r'\{"version": ?"[^"]+"\}', doc.read_text(encoding="utf-8"))
    assert quoted
    assert set(quoted) == {sent.strip()}, quoted
