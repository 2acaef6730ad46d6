"""The one allowlist of both scans: strict validation, at most 90 days, ID and package."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from finlex_release import allowlist
from finlex_release.errors import Exit, UsageError
from support import REPO_ROOT

TODAY = dt.date(2026, 12, 6)

GOOD = """
[[allow]]
id = "CVE-2024-12345"
package = "openssl"
reason = "openssl CLI only"
owner = "@finlex/platform"
added = 2026-12-01
expires = 2027-03-01

[[allow]]
id = "GHSA-abcd-1234-wxyz"
package = "Zope.Interface"
reason = "dev dependency"
owner = "security@example.com"
added = "2026-11-01"
expires = "2026-12-31"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "allow.toml"
    path.write_text(text)
    return path


def entry_text(**fields: str) -> str:
    """One [[allow]] table: valid by default, each field replaceable or removable (None)."""
    values = {
        "id": '"CVE-2024-1"',
        "package": '"flask"',
        "reason": '"not reachable"',
        "owner": '"@finlex/platform"',
        "added": "2026-12-01",
        "expires": "2027-01-15",
        **fields,
    }
    lines = [f"{name} = {value}" for name, value in values.items() if value is not None]
    return "[[allow]]\n" + "\n".join(lines) + "\n"


def test_loads_entries(tmp_path) -> None:
    rules = allowlist.load(write(tmp_path, GOOD), TODAY)
    entry = rules.find(["CVE-2024-12345"], "openssl")
    assert entry == allowlist.Entry(
        "CVE-2024-12345",
        "openssl",
        "openssl CLI only",
        "@finlex/platform",
        dt.date(2026, 12, 1),
        dt.date(2027, 3, 1),
    )
    assert rules.find(["GHSA-abcd-1234-wxyz"], "zope-interface").expires == dt.date(2026, 12, 31)
    assert rules.find(["CVE-2024-99999"], "openssl") is None


def test_an_entry_covers_its_id_in_its_package_only(tmp_path) -> None:
    rules = allowlist.load(write(tmp_path, GOOD), TODAY)
    assert rules.find(["CVE-2024-12345"], "libssl3t64") is None  # same CVE, other package
    assert rules.find(["CVE-2024-12345"], "") is None  # a finding that names no package
    # pip-audit reports a PYSEC ID with the CVE among its aliases
    assert rules.find(["PYSEC-2024-1", "CVE-2024-12345"], "openssl") is not None
    # PyPI's spellings of one name are one package
    assert rules.find(["GHSA-abcd-1234-wxyz"], "zope_interface") is not None


def test_an_entry_allows_through_its_expiry_day_only() -> None:
    entry = allowlist.Entry(
        "CVE-2024-1", "flask", "r", "@me", dt.date(2026, 4, 1), dt.date(2026, 6, 30)
    )
    assert entry.active(dt.date(2026, 6, 30))
    assert not entry.active(dt.date(2026, 7, 1))


def test_the_committed_allowlist_is_valid_today() -> None:
    rules = allowlist.load(REPO_ROOT / "release" / "scan-allowlist.toml")
    assert rules.expired(allowlist.utc_today()) == []


def test_a_400_day_expiry_is_refused_naming_the_entry(tmp_path) -> None:
    path = write(tmp_path, entry_text(added="2026-12-01", expires="2028-01-05"))
    with pytest.raises(UsageError) as caught:
        allowlist.load(path, TODAY)
    assert caught.value.message == (
        f"allowlist {path}: entry 1 (CVE-2024-1 in flask): expires 2028-01-05 is 400 days "
        "after added 2026-12-01; an entry may allow a finding for at most 90 days"
    )


def test_an_old_style_entry_without_package_or_owner_is_refused(tmp_path) -> None:
    """The format before: any expiry, no package, no owner. It no longer loads."""
    old = '[[allow]]\ncve = "CVE-2024-1"\nreason = "r"\nexpires = 2028-01-05\n'
    with pytest.raises(UsageError, match="entry 1: missing id, package, owner, added"):
        allowlist.load(write(tmp_path, old), TODAY)


def test_exactly_90_days_is_allowed(tmp_path) -> None:
    rules = allowlist.load(write(tmp_path, entry_text(expires="2027-03-01")), TODAY)
    assert rules.entries[0].expires - rules.entries[0].added == dt.timedelta(days=90)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reason": None}, "entry 3 (CVE-2024-1 in flask): missing reason"),
        ({"package": None}, "entry 3 (CVE-2024-1): missing package"),
        ({"owner": None, "added": None}, "missing owner, added"),
        ({"reason": '"  "'}, "reason must be a non-empty string"),
        ({"package": '""'}, "package must be one package name"),
        ({"package": '"*"'}, "package must be one package name, e.g. openssl or flask, got '*'"),
        ({"package": '"flask, jinja2"'}, "package must be one package name"),
        ({"package": "3"}, "package must be one package name"),
        ({"owner": '"me"'}, "owner must be a GitHub @user or @org/team, or an e-mail, got 'me'"),
        ({"id": '"log4shell"'}, "id must be an ID such as CVE-2024-12345"),
        ({"expires": '"31/12/2026"'}, "expires must be a date like 2026-12-31, got '31/12/2026'"),
        ({"expires": "2027-01-01T00:00:00Z"}, "expires must be a date (YYYY-MM-DD), not a date"),
        ({"added": '"yesterday"'}, "added must be a date like 2026-12-31"),
        ({"expires": "2026-11-30"}, "expires 2026-11-30 is before added 2026-12-01"),
        ({"added": "2026-12-07", "expires": "2027-01-01"}, "added 2026-12-07 is in the future"),
        ({"ticket": '"JIRA-1"'}, "unknown field ticket"),
        ({"cve": '"CVE-2024-1"'}, "unknown field cve"),
    ],
)
def test_a_bad_entry_is_refused_naming_it(tmp_path, fields, message) -> None:
    path = write(tmp_path, GOOD + "\n" + entry_text(**fields))
    with pytest.raises(UsageError) as caught:
        allowlist.load(path, TODAY)
    assert caught.value.code == Exit.USAGE
    assert caught.value.message.startswith(f"allowlist {path}: entry 3")
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD + entry_text(id='"CVE-2024-12345"', package='"openssl"'),
            "entry 3: CVE-2024-12345 in openssl is listed twice",
        ),
        ('allow = "CVE-2024-1"\n', "'allow' must be an array of tables"),
        ('[[allowed]]\nid = "CVE-2024-1"\n', "unknown top-level key allowed"),
        ("allow = [1]\n", "entry 1: must be a table with id, package, reason, owner"),
        ("[[allow]\n", "not valid TOML"),
    ],
)
def test_invalid_files_name_the_file_and_entry(tmp_path, text, message) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        allowlist.load(path, TODAY)
    assert str(path) in caught.value.message
    assert message in caught.value.message


def test_one_cve_in_two_packages_is_two_entries(tmp_path) -> None:
    text = GOOD + entry_text(id='"CVE-2024-12345"', package='"libssl3t64"')
    rules = allowlist.load(write(tmp_path, text), TODAY)
    assert len(rules.entries) == 3


def test_missing_file(tmp_path) -> None:
    with pytest.raises(UsageError, match="file not found"):
        allowlist.load(tmp_path / "absent.toml")


def test_empty_file_allows_nothing(tmp_path) -> None:
    assert allowlist.load(write(tmp_path, "# nothing yet\n")).entries == ()
