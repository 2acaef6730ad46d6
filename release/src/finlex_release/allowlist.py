"""The scan gate's allowlist: CVE IDs let through for a reason, until a date.

The file is TOML, one ``[[allow]]`` table per entry::

    [[allow]]
    cve = "CVE-2024-12345"
    reason = "openssl CLI only; the service never calls it"
    expires = 2025-06-30

An entry allows its CVE up to and including its `expires` date (UTC). From
the next day on it no longer does, and the finding blocks again.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from finlex_release.errors import UsageError

_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Za-z0-9]+){2,}$")  # CVE-2024-1234, GHSA-xxxx-xxxx-xxxx
_FIELDS = {"cve", "reason", "expires"}


@dataclass(frozen=True)
class Entry:
    cve: str
    reason: str
    expires: dt.date

    def active(self, today: dt.date) -> bool:
        return today <= self.expires


@dataclass(frozen=True)
class Allowlist:
    entries: dict[str, Entry]

    def get(self, cve: str) -> Entry | None:
        return self.entries.get(cve)

    def expired(self, today: dt.date) -> list[Entry]:
        return [entry for entry in self.entries.values() if not entry.active(today)]


EMPTY = Allowlist({})


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _expiry(value: object, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise UsageError(f"{where}: expires must be a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(f"{where}: expires must be a date like 2025-06-30, got {value!r}")


def _entry(raw: object, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: must be a table with cve, reason and expires")
    cve = raw.get("cve")
    if isinstance(cve, str):
        where = f"{where} ({cve})"
    missing = sorted(_FIELDS - raw.keys())
    if missing:
        raise UsageError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(raw.keys() - _FIELDS)
    if unknown:
        raise UsageError(f"{where}: unknown field {', '.join(unknown)}")
    if not isinstance(cve, str) or not _ID.match(cve):
        raise UsageError(f"{where}: cve must be an ID such as CVE-2024-12345, got {cve!r}")
    reason = raw["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise UsageError(f"{where}: reason must be a non-empty string")
    return Entry(cve=cve, reason=reason.strip(), expires=_expiry(raw["expires"], where))


def load(path: Path) -> Allowlist:
    """Read and strictly validate an allowlist file; UsageError names file and entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"allowlist {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"allowlist {path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"allowlist {path}: not valid TOML: {error}") from None
    unknown = sorted(data.keys() - {"allow"})
    if unknown:
        raise UsageError(f"allowlist {path}: unknown top-level key {', '.join(unknown)}")
    raw_entries = data.get("allow", [])
    if not isinstance(raw_entries, list):
        raise UsageError(f"allowlist {path}: 'allow' must be an array of tables ([[allow]])")
    entries: dict[str, Entry] = {}
    for number, raw in enumerate(raw_entries, start=1):
        entry = _entry(raw, f"allowlist {path}: entry {number}")
        if entry.cve in entries:
            raise UsageError(f"allowlist {path}: entry {number}: {entry.cve} is listed twice")
        entries[entry.cve] = entry
    return Allowlist(entries)
