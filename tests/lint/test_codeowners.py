"""CODEOWNERS covers what decides how the image is built, scanned and deployed.

The matching follows GitHub's rules for the patterns used here: a leading `/`
anchors at the repository root, a trailing `/` covers everything below, and
the last matching line wins.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CODEOWNERS = REPO / ".github" / "CODEOWNERS"
_OWNER = re.compile(r"^@[A-Za-z0-9-]+(?:/[A-Za-z0-9._-]+)?$|^[^@\s]+@[^@\s]+\.[^@\s]+$")


def rules() -> list[tuple[str, list[str]]]:
    found = []
    for line in CODEOWNERS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            pattern, *owners = line.split()
            found.append((pattern, owners))
    return found


def matches(pattern: str, path: str) -> bool:
    anchored = pattern.lstrip("/")
    if pattern.endswith("/"):
        return path.startswith(anchored)
    if pattern.startswith("/"):
        return fnmatch.fnmatchcase(path, anchored)
    return any(fnmatch.fnmatchcase(part, pattern) for part in [path, *path.split("/")])


def owners_of(path: str) -> list[str]:
    owners: list[str] = []
    for pattern, these in rules():
        if matches(pattern, path):
            owners = these
    return owners


def tracked(*patterns: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", *patterns], cwd=REPO, capture_output=True, text=True, check=True
    )
    return listed.stdout.split()


@pytest.mark.parametrize(
    "path",
    [
        "release/scan-allowlist.toml",
        "Dockerfile",
        ".github/CODEOWNERS",
        *tracked(".github/workflows/*.yml"),
        "infra/pipeline.tf",
        *tracked("infra/modules/pipeline_roles/*.tf"),
        *tracked("infra/modules/ecr/*.tf"),
    ],
)
def test_what_decides_the_release_path_has_owners(path: str) -> None:
    assert (REPO / path).exists(), path
    assert owners_of(path), f"CODEOWNERS names no owner for {path}"


def test_the_allowlist_and_the_pipeline_roles_need_security_review() -> None:
    for path in ("release/scan-allowlist.toml", "infra/modules/pipeline_roles/resources.tf"):
        assert "@example-org/finlex-security" in owners_of(path), path


def test_every_rule_names_valid_owners_and_an_existing_path() -> None:
    for pattern, owners in rules():
        assert owners, pattern
        assert all(_OWNER.match(owner) for owner in owners), (pattern, owners)
        assert pattern.startswith("/"), f"{pattern}: anchor every rule at the root"
        assert (REPO / pattern.strip("/")).exists(), f"{pattern} names nothing in the repo"


def test_an_unowned_path_has_no_owner() -> None:
    assert owners_of("application/app.py") == []
