"""The base image the Dockerfile pins, and the explicit override that may replace it.

The Dockerfile names Debian's official multi-arch index by digest on the
literal line `FROM debian:trixie-slim@sha256:... AS pinned-base`, which
Dependabot and Renovate update; `ARG BASE_IMAGE` (default: that stage) picks
the base. Where no registry can be reached, `.ci/run` makes an offline
stand-in (`.ci/base-image.sh`) and passes it as BASE_IMAGE; `make image` and
the build output then name the override.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
STAND_IN = "debian:trixie-slim"  # the tag .ci/base-image.sh gives its offline stand-in
PINNED_STAGE = "pinned-base"
_PIN = re.compile(rf"^FROM (\S+@sha256:[0-9a-f]{{64}}) AS {PINNED_STAGE}$", re.MULTILINE)


def pinned(dockerfile: Path = DOCKERFILE) -> str:
    """The Dockerfile's pinned base: name:tag@sha256:digest."""
    found = _PIN.findall(dockerfile.read_text(encoding="utf-8"))
    if len(found) != 1:
        raise ValueError(
            f"{dockerfile}: expected one 'ARG BASE_IMAGE=...' line, found {len(found)}"
        )
    return str(found[0])


def in_use(env: Mapping[str, str] | None = None, dockerfile: Path = DOCKERFILE) -> str:
    """The base a build here takes: the override BASE_IMAGE if set, else the pin."""
    override = (os.environ if env is None else env).get("BASE_IMAGE", "")
    return override or pinned(dockerfile)
