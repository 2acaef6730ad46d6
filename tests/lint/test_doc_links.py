"""Every relative link in the repository's Markdown points at a file that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [REPO / name for name in listed if (REPO / name).exists()]


def broken_links(doc: Path) -> list[str]:
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:|^#", target):  # URLs and in-page anchors
            continue
        path = target.split("#", 1)[0]
        if path and not (doc.parent / path).exists():
            broken.append(target)
    return broken


def test_relative_links_resolve() -> None:
    docs = markdown_files()
    assert any(doc.name == "README.md" and doc.parent == REPO for doc in docs)
    problems = {str(doc.relative_to(REPO)): broken_links(doc) for doc in docs}
    assert {doc: links for doc, links in problems.items() if links} == {}


def test_the_checker_sees_a_broken_link(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    (tmp_path / "real.md").write_text("x")
    doc.write_text("[a](real.md) [b](missing.md#part) [c](https://example.com) [d](#top)")
    assert broken_links(doc) == ["missing.md#part"]
