"""verify: poll the public URL until it is healthy and reports the expected version."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from finlex_release.errors import ReleaseError, UsageError, WaitTimeoutError
from finlex_release.waiting import Clock, Progress, duration, ticks

# Equal to application/routes.py's VERSION_PATH and HEALTH_PATH (a test checks);
# kept here so that the installed package needs nothing from the repository.
DEFAULT_VERSION_PATH = "/version"
DEFAULT_HEALTH_PATH = "/healthz"
# Where the expected version lives, relative to the repository root.
VERSION_FILE = Path("application", "VERSION")
_MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Probe:
    answered: bool  # the service sent an HTTP response
    ok: bool
    detail: str


def find_version_file(start: Path) -> Path | None:
    """application/VERSION in `start` or the nearest parent that has one."""
    for folder in (start, *start.parents):
        candidate = folder / VERSION_FILE
        if candidate.is_file():
            return candidate
    return None


def expected_version(explicit: str | None, version_file: Path | None, cwd: Path) -> str:
    if explicit is not None:
        if not explicit.strip():
            raise UsageError("--expected-version is empty")
        return explicit.strip()
    path = version_file or find_version_file(cwd)
    if path is None:
        raise UsageError(
            f"no {VERSION_FILE} in {cwd} or its parents; pass --expected-version or --version-file"
        )
    try:
        version = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise UsageError(f"cannot read version file {path}: {error.strerror or error}") from None
    if not version:
        raise UsageError(f"version file {path} is empty")
    return version


def base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise UsageError(f"--url {url!r} must be an http:// or https:// URL")
    return url.rstrip("/")


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - base_url() allows http(s) only
        url,
        headers={
            "Accept": "application/json",
            "Cache-Control": "no-cache",
            "User-Agent": "finlex-release",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(_MAX_BODY)
    except urllib.error.HTTPError as error:
        return error.code, b""


def _unreachable(url: str, error: Exception) -> Probe:
    reason = getattr(error, "reason", None) or error
    return Probe(answered=False, ok=False, detail=f"{url}: {reason}")


def probe(base: str, expected: str, health_path: str, version_path: str, timeout: float) -> Probe:
    """One round: the health endpoint answers 200, then /version reports `expected`."""
    health_url = base + health_path
    try:
        status, _ = _get(health_url, timeout)
    except (OSError, ValueError) as error:
        return _unreachable(health_url, error)
    if status != 200:
        return Probe(answered=True, ok=False, detail=f"{health_url} answered {status}")
    version_url = base + version_path
    try:
        status, body = _get(version_url, timeout)
    except (OSError, ValueError) as error:
        return _unreachable(version_url, error)
    if status != 200:
        return Probe(answered=True, ok=False, detail=f"{version_url} answered {status}")
    try:
        reported = json.loads(body)["version"]
    except (ValueError, KeyError, TypeError):
        return Probe(
            answered=True, ok=False, detail=f"{version_url} sent no JSON with a version field"
        )
    if reported != expected:
        return Probe(
            answered=True,
            ok=False,
            detail=f"{version_url} reports version {reported}, expected {expected}",
        )
    return Probe(answered=True, ok=True, detail=f"{version_url} reports version {reported}")


def verify(
    url: str,
    expected: str,
    *,
    health_path: str = DEFAULT_HEALTH_PATH,
    version_path: str = DEFAULT_VERSION_PATH,
    timeout: float = 300.0,
    interval: float = 2.0,
    max_interval: float = 15.0,
    request_timeout: float = 5.0,
    clock: Clock,
    progress: Progress,
    out: TextIO,
) -> None:
    """Retry with capped exponential backoff until the service is right or time runs out."""
    base = base_url(url)
    for path in (health_path, version_path):
        if not path.startswith("/"):
            raise UsageError(f"path {path!r} must start with /")
    last = Probe(answered=False, ok=False, detail="not tried")
    for elapsed in ticks(timeout, interval, clock, backoff=2.0, max_interval=max_interval):
        last = probe(base, expected, health_path, version_path, request_timeout)
        if last.ok:
            print(f"verified: {last.detail}, {base}{health_path} answered 200", file=out)
            return
        progress(f"not yet: {last.detail}", elapsed)
    if last.answered:
        raise ReleaseError(f"verify failed after {duration(timeout)}: {last.detail}")
    raise WaitTimeoutError(f"no answer within {duration(timeout)}: {last.detail}")
