"""The base image: an official multi-arch index by digest, in the one form the update bots
read, with an explicit override for machines that reach no registry.

Dependabot's docker parser reads literal `FROM name:tag@digest [AS stage]` lines only
(it does not expand ARGs); Renovate reads those too. So the digest lives on one literal
FROM line, and the override (ARG BASE_IMAGE) picks a stage or another image.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

import baseimage
from makedb import make_env
from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
# Dependabot's FROM line (dependabot-core docker/lib/dependabot/docker/file_parser.rb):
# FROM [--platform=...] [registry/]image[:tag][@digest][ AS name]
DEPENDABOT_FROM = re.compile(
    r"^FROM\s+(?:--platform=\S+\s+)?(?P<image>[a-z\d]+(?:(?:[._]|__|-*)[a-z\d]+)*"
    r"(?:/[a-z\d]+(?:(?:[._]|__|-*)[a-z\d]+)*)*)(?::(?P<tag>\w[\w.-]{0,127}))?"
    r"(?:@(?P<digest>\S+))?(?:\s+AS\s+(?P<name>[\w-]+))?",
    re.IGNORECASE,
)


def from_lines() -> list[str]:
    return [ln for ln in DOCKERFILE.read_text().splitlines() if ln.upper().startswith("FROM ")]


def test_one_literal_from_line_pins_the_official_index_by_digest() -> None:
    pinned = [ln for ln in from_lines() if "@sha256:" in ln]
    assert pinned == [f"FROM {baseimage.pinned()} AS {baseimage.PINNED_STAGE}"]
    found = DEPENDABOT_FROM.match(pinned[0])
    assert found is not None
    assert found["image"] == "debian"
    assert found["tag"] == "trixie-slim"  # the tag the bots follow
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", found["digest"])
    assert found["name"] == baseimage.PINNED_STAGE


def test_every_other_stage_starts_from_the_chosen_base() -> None:
    text = DOCKERFILE.read_text()
    assert f"\nARG BASE_IMAGE={baseimage.PINNED_STAGE}\n" in text
    others = [ln for ln in from_lines() if "@sha256:" not in ln]
    assert others[0] == "FROM ${BASE_IMAGE} AS base"
    assert all(ln.startswith("FROM base") for ln in others[1:]), others
    assert text.count("@sha256:") == 1  # the digest changes in one place


def test_dependabot_watches_the_dockerfile() -> None:
    config = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text())
    docker = [u for u in config["updates"] if u["package-ecosystem"] == "docker"]
    assert [u["directory"] for u in docker] == ["/"]


def test_the_digest_is_documented_with_its_source_and_date() -> None:
    doc = (REPO / "docs" / "supply-chain.md").read_text()
    digest = baseimage.pinned().split("@", 1)[1]
    section = doc.split("## The base image", 1)[1].split("\n## ", 1)[0]
    assert digest in section
    assert "docker-library/repo-info" in section
    assert re.search(r"read on \d{4}-\d{2}-\d{2}", section)


def make_image_dry(*variables: str) -> subprocess.CompletedProcess[str]:
    # Not the caller's BASE_IMAGE (.ci/run exports the offline stand-in) nor a parent make's flags.
    return subprocess.run(
        [require_tool("make"), "--no-print-directory", "-n", "image", "CA_BUNDLE=none", *variables],
        env=make_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_image_takes_the_pin_unless_overridden() -> None:
    build = make_image_dry().stdout
    assert '--build-arg "BASE_IMAGE=' not in build
    assert f"org.opencontainers.image.base.name=${{BASE_IMAGE:-{baseimage.pinned()}}}" in build
    overridden = make_image_dry("BASE_IMAGE=debian:trixie-slim").stdout
    assert '--build-arg "BASE_IMAGE=$BASE_IMAGE"' in overridden


@pytest.mark.parametrize("value", ["debian:trixie-slim", "debian:trixie-slim;touch {marker}"])
def test_make_image_names_the_override_and_refuses_a_bad_one(tmp_path: Path, value: str) -> None:
    marker = tmp_path / "injected"
    docker = tmp_path / "docker"
    docker.write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path / "docker.log"}"\n')
    docker.chmod(0o755)
    result = subprocess.run(
        [require_tool("make"), "--no-print-directory", "image", f"DOCKER={docker}",
         "CA_BUNDLE=none", f"BASE_IMAGE={value.format(marker=marker)}"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert not marker.exists()
    if ";" in value:
        assert result.returncode == 2
        assert result.stderr.splitlines()[0] == (
            f"make image: BASE_IMAGE='{value.format(marker=marker)}' is not an image reference"
        )
        assert not (tmp_path / "docker.log").exists()  # nothing ran
    else:
        assert result.stdout.splitlines()[0] == (
            "==> base image OVERRIDDEN: BASE_IMAGE=debian:trixie-slim replaces the "
            f"Dockerfile's pin {baseimage.pinned()}"
        )
