"""Where the hashicorp/aws provider's filesystem mirror is.

One lookup for `make rehearse`, the tests that run real Terraform and
`make doctor`. Standard library only: `make doctor` runs before the venv exists.

A mirror is a folder laid out as ``terraform providers mirror`` writes it:
``registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws*``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

PROVIDER = "registry.terraform.io/hashicorp/aws"
# Names the mirror to use; when set, no other place is looked at.
MIRROR_ENV = "FINLEX_TF_PROVIDER_MIRROR"
# Terraform's implied system-wide mirror folders (its per-user ones come from HOME).
SYSTEM_DIRS = (Path("/usr/local/share/terraform/plugins"), Path("/usr/share/terraform/plugins"))
# Machine images tend to keep a mirror one or two levels under /opt.
OPT = Path("/opt")

_CLI_CONFIG_MIRROR = re.compile(r'filesystem_mirror\s*{[^}]*?path\s*=\s*"([^"]+)"')


def candidates(
    env: Mapping[str, str] = os.environ,
    *,
    system: Sequence[Path] = SYSTEM_DIRS,
    opt: Path = OPT,
) -> list[Path]:
    """The places a mirror may be, in the order they are tried."""
    if env.get(MIRROR_ENV):
        return [Path(env[MIRROR_ENV]).expanduser()]
    home = Path(env.get("HOME", "/nonexistent"))
    data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    found: list[Path] = []
    config = env.get("TF_CLI_CONFIG_FILE")
    if config and Path(config).is_file():
        text = Path(config).read_text(encoding="utf-8", errors="replace")
        found += [Path(p) for p in _CLI_CONFIG_MIRROR.findall(text)]
    found += [home / ".terraform.d" / "plugins", data_home / "terraform" / "plugins", *system]
    if opt.is_dir():
        found += sorted(opt.glob("*")) + sorted(opt.glob("*/*"))
    return found


def versions(mirror: Path) -> list[str]:
    """The hashicorp/aws versions `mirror` holds a plugin binary of, oldest first."""
    binaries = (mirror / PROVIDER).glob("*/*/terraform-provider-aws*")
    return sorted({p.parent.parent.name for p in binaries}, key=_version_key)


def find(
    env: Mapping[str, str] = os.environ,
    *,
    system: Sequence[Path] = SYSTEM_DIRS,
    opt: Path = OPT,
) -> Path | None:
    """The first candidate that holds a hashicorp/aws plugin binary, or None."""
    for place in candidates(env, system=system, opt=opt):
        if versions(place):
            return place
    return None


def where(env: Mapping[str, str] = os.environ) -> str:
    """Where `find` looked, for an error message."""
    return env.get(MIRROR_ENV) or "Terraform's plugin folders and /opt"


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))
