"""Paths and helpers shared by the tfcheck tests (tests/tfcheck/)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
INFRA = REPO_ROOT / "infra"
FIXTURE = REPO_ROOT / "tests" / "tfcheck" / "fixtures" / "good"
TOOLS = REPO_ROOT / "tools"
