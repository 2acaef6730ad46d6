"""The rehearsal allowlists the emulator's made-up finding in the allowlist's own format."""

from __future__ import annotations

from pathlib import Path

import pytest

from finlex_release import allowlist
from rehearse.steps import StepError, _allow_findings

BLOCKED = (
    "finlex-release scan-gate: scan gate: 1 finding(s) at or above HIGH not allowlisted: "
    "CVE-9999-9999 (moto_fake)"
)


def test_the_named_findings_become_valid_entries_for_their_package(tmp_path: Path) -> None:
    path = tmp_path / "allow.toml"
    path.write_text(_allow_findings(BLOCKED))
    rules = allowlist.load(path)
    assert [(e.id, e.package) for e in rules.entries] == [("CVE-9999-9999", "moto_fake")]
    entry = rules.entries[0]
    assert (entry.expires - entry.added).days == 1


def test_a_line_without_a_package_is_a_step_error() -> None:
    with pytest.raises(StepError, match="named no CVE and package"):
        _allow_findings("scan gate: 1 finding(s) not allowlisted: CVE-9999-9999")
