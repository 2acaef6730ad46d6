"""The one allowlist of both scan gates: a finding let through for a reason, by someone, a while.

ECR's image scan (`scan-gate`) and the Python dependency audit (`audit-deps`)
read the same file, so an accepted risk is written down once. The file is
TOML, one ``[[allow]]`` table per entry, every field required::

    [[allow]]
    id = "CVE-2024-12345"                 # CVE-, GHSA-, PYSEC-... as the scanner reports it
    package = "openssl"                   # the package the finding names (Debian or PyPI)
    reason = "openssl CLI only; the service never calls it"
    owner = "@finlex/platform"            # GitHub user or team, or an e-mail address
    added = 2026-12-01                    # the day the entry was written or renewed
    expires = 2027-02-28                  # at most MAX_DAYS after `added`

An entry covers a finding only when both the ID (or one of the finding's
aliases) and the package match: allowing a CVE in one package never lets the
same CVE through in another. It allows through its `expires` day (UTC); from
the next day on the finding blocks again. An entry that breaks a rule (a
missing field, an expiry more than MAX_DAYS after `added`, an `added` in the
future, a package that is not a package name) makes the whole file invalid,
and the error names the entry: a gate never runs on a half-read allowlist.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from finlex_release.errors import UsageError

MAX_DAYS = 90  # the longest an entry may allow a finding, counted from `added`
_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Za-z0-9]+){2,}$")  # CVE-2024-1234, GHSA-xxxx-xxxx-xxxx
# Debian (libssl3t64, libstdc++6) and PyPI (zope.interface, typing_extensions) names.
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_OWNER = re.compile(
    r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:/[A-Za-z0-9._-]+)?$"  # @user, @org/team
    r"|^[^@\s]+@[^@\s]+\.[^@\s]+$"  # e-mail
)
_FIELDS = ("id", "package", "reason", "owner", "added", "expires")


def package_key(name: str) -> str:
    """One spelling per package: PyPI's normalization (PEP 503), harmless for Debian names."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Entry:
    id: str
    package: str
    reason: str
    owner: str
    added: dt.date
    expires: dt.date

    def active(self, today: dt.date) -> bool:
        return today <= self.expires

    def covers(self, ids: Iterable[str], package: str) -> bool:
        return self.id in set(ids) and package_key(self.package) == package_key(package)

    def describe(self) -> str:
        return f"{self.id} in {self.package}"


@dataclass(frozen=True)
class Allowlist:
    entries: tuple[Entry, ...]

    def find(self, ids: Iterable[str], package: str) -> Entry | None:
        """The entry for a finding known by `ids` (its ID and aliases) in `package`."""
        wanted = tuple(ids)
        return next((entry for entry in self.entries if entry.covers(wanted, package)), None)

    def expired(self, today: dt.date) -> list[Entry]:
        return [entry for entry in self.entries if not entry.active(today)]


EMPTY = Allowlist(())


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _date(value: object, name: str, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise UsageError(f"{where}: {name} must be a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(f"{where}: {name} must be a date like 2026-12-31, got {value!r}")


def _text(
    raw: dict[str, object], name: str, pattern: re.Pattern[str], hint: str, where: str
) -> str:
    value = raw[name]
    if not isinstance(value, str) or not pattern.match(value):
        raise UsageError(f"{where}: {name} must be {hint}, got {value!r}")
    return value


def _period(added: dt.date, expires: dt.date, today: dt.date, where: str) -> None:
    """`added` is not in the future, and `expires` falls 0..MAX_DAYS days after it."""
    if added > today:
        raise UsageError(f"{where}: added {added} is in the future (today is {today} UTC)")
    if expires < added:
        raise UsageError(f"{where}: expires {expires} is before added {added}")
    days = (expires - added).days
    if days > MAX_DAYS:
        raise UsageError(
            f"{where}: expires {expires} is {days} days after added {added}; "
            f"an entry may allow a finding for at most {MAX_DAYS} days"
        )


def _entry(raw: object, where: str, today: dt.date) -> Entry:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: must be a table with {', '.join(_FIELDS)}")
    ident, package = raw.get("id"), raw.get("package")
    if isinstance(ident, str):
        where = f"{where} ({ident}{f' in {package}' if isinstance(package, str) else ''})"
    missing = [name for name in _FIELDS if name not in raw]
    if missing:
        raise UsageError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(raw.keys() - set(_FIELDS))
    if unknown:
        raise UsageError(f"{where}: unknown field {', '.join(unknown)}")
    ident = _text(raw, "id", _ID, "an ID such as CVE-2024-12345 or GHSA-xxxx-xxxx-xxxx", where)
    package = _text(raw, "package", _PACKAGE, "one package name, e.g. openssl or flask", where)
    owner = _text(raw, "owner", _OWNER, "a GitHub @user or @org/team, or an e-mail", where)
    reason = raw["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise UsageError(f"{where}: reason must be a non-empty string")
    added = _date(raw["added"], "added", where)
    expires = _date(raw["expires"], "expires", where)
    _period(added, expires, today, where)
    return Entry(ident, package, " ".join(reason.split()), owner, added, expires)


def _read(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"allowlist {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"allowlist {path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"allowlist {path}: not valid TOML: {error}") from None


def load(path: Path, today: dt.date | None = None) -> Allowlist:
    """Read and strictly validate an allowlist file; UsageError names file and entry."""
    today = today or utc_today()
    data = _read(path)
    unknown = sorted(data.keys() - {"allow"})
    if unknown:
        raise UsageError(f"allowlist {path}: unknown top-level key {', '.join(unknown)}")
    raw_entries = data.get("allow", [])
    if not isinstance(raw_entries, list):
        raise UsageError(f"allowlist {path}: 'allow' must be an array of tables ([[allow]])")
    entries: list[Entry] = []
    for number, raw in enumerate(raw_entries, start=1):
        entry = _entry(raw, f"allowlist {path}: entry {number}", today)
        if any(seen.covers([entry.id], entry.package) for seen in entries):
            raise UsageError(
                f"allowlist {path}: entry {number}: {entry.describe()} is listed twice"
            )
        entries.append(entry)
    return Allowlist(tuple(entries))
