"""The allowlist file: strict validation, expiry by date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from release_fakes import REPO_ROOT

from finlex_release import allowlist
from finlex_release.errors import Exit, UsageError

GOOD = """
[[allow]]
cve = "CVE-2024-12345"
reason = "openssl CLI only"
expires = 2026-06-30

[[allow]]
cve = "GHSA-abcd-1234-wxyz"
reason = "dev dependency"
expires = "2026-01-31"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "allow.toml"
    path.write_text(text)
    return path


def test_loads_entries(tmp_path) -> None:
    rules = allowlist.load(write(tmp_path, GOOD))
    entry = rules.get("CVE-2024-12345")
    assert entry == allowlist.Entry("CVE-2024-12345", "openssl CLI only", dt.date(2026, 6, 30))
    assert rules.get("GHSA-abcd-1234-wxyz").expires == dt.date(2026, 1, 31)
    assert rules.get("CVE-2024-99999") is None


def test_an_entry_allows_through_its_expiry_day_only() -> None:
    entry = allowlist.Entry("CVE-2024-1", "r", dt.date(2026, 6, 30))
    assert entry.active(dt.date(2026, 6, 30))
    assert not entry.active(dt.date(2026, 7, 1))


def test_the_committed_example_is_valid() -> None:
    rules = allowlist.load(REPO_ROOT / "release" / "scan-allowlist.toml")
    assert rules.expired(allowlist.utc_today()) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[allow]]\ncve = "CVE-2024-1"\nexpires = 2026-01-01\n',
            "entry 1 (CVE-2024-1): missing reason",
        ),
        (
            '[[allow]]\ncve = "CVE-2024-1"\nreason = ""\nexpires = 2026-01-01\n',
            "entry 1 (CVE-2024-1): reason must be a non-empty string",
        ),
        (
            '[[allow]]\ncve = "CVE-2024-1"\nreason = "r"\nexpires = "31/12/2026"\n',
            "entry 1 (CVE-2024-1): expires must be a date like 2025-06-30, got '31/12/2026'",
        ),
        (
            '[[allow]]\ncve = "CVE-2024-1"\nreason = "r"\nexpires = 2026-01-01T00:00:00Z\n',
            "not a date-time",
        ),
        ('[[allow]]\ncve = "log4shell"\nreason = "r"\nexpires = 2026-01-01\n', "cve must be an ID"),
        (
            '[[allow]]\ncve = "CVE-2024-1"\nreason = "r"\nexpires = 2026-01-01\nowner = "me"\n',
            "unknown field owner",
        ),
        (
            GOOD + '\n[[allow]]\ncve = "CVE-2024-12345"\nreason = "r"\nexpires = 2026-01-01\n',
            "entry 3: CVE-2024-12345 is listed twice",
        ),
        ('allow = "CVE-2024-1"\n', "'allow' must be an array of tables"),
        ('[[allowed]]\ncve = "CVE-2024-1"\n', "unknown top-level key allowed"),
        ("[[allow]\n", "not valid TOML"),
    ],
)
def test_invalid_files_name_the_file_and_entry(tmp_path, text, message) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        allowlist.load(path)
    assert caught.value.code == Exit.USAGE
    assert str(path) in caught.value.message
    assert message in caught.value.message


def test_missing_file(tmp_path) -> None:
    with pytest.raises(UsageError, match="file not found"):
        allowlist.load(tmp_path / "absent.toml")


def test_empty_file_allows_nothing(tmp_path) -> None:
    assert allowlist.load(write(tmp_path, "# nothing yet\n")).entries == {}
