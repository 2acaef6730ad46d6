"""Where the hashicorp/aws provider comes from: a filesystem mirror, or the registry under the lock.

One lookup for `make rehearse`, the tests that run real Terraform, `make doctor`
and `.ci/run`. Standard library only: `make doctor` runs before the venv exists.

A mirror is a folder laid out as Terraform's unpacked filesystem mirror:
``registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws*``.
A machine without one but with access to the registry (GitHub's runners) gets
the version that ``infra/.terraform.lock.hcl`` locks, downloaded once by
``terraform providers mirror`` into ``.cache/terraform-providers`` and unpacked
there; every ``terraform init -lockfile=readonly`` then checks it against the
lock's checksums, as it checks any mirror.

    python3 tools/tfmirror.py          # print the source; download it when it is the registry
    python3 tools/tfmirror.py --check  # print the source, download nothing

Exit codes: 0 a source was found (and is ready); 3 no mirror and no registry,
or the download failed (one line says why and what to do).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PROVIDER = "registry.terraform.io/hashicorp/aws"
REGISTRY = "registry.terraform.io"
# Names the mirror to use; when set, no other place is looked at (nor the registry).
MIRROR_ENV = "FINLEX_TF_PROVIDER_MIRROR"
# "off" (or 0/false/no): never reach the registry, e.g. to skip the probe on an offline machine.
REGISTRY_ENV = "FINLEX_TF_REGISTRY"
# Terraform's service discovery document: answers on every working registry.
REGISTRY_PROBE = f"https://{REGISTRY}/.well-known/terraform.json"
PROBE_TIMEOUT = 5.0
# Terraform's implied system-wide mirror folders (its per-user ones come from HOME).
SYSTEM_DIRS = (Path("/usr/local/share/terraform/plugins"), Path("/usr/share/terraform/plugins"))
# Machine images tend to keep a mirror one or two levels under /opt.
OPT = Path("/opt")
REPO = Path(__file__).resolve().parents[1]
# The lock of infra/ (infra/bootstrap's locks the same provider at the same version).
LOCK_FILE = REPO / "infra" / ".terraform.lock.hcl"
# Where the registry's package is kept, unpacked, once downloaded.
CACHE = REPO / ".cache" / "terraform-providers"
EXIT_MISSING = 3

_CLI_CONFIG_MIRROR = re.compile(r'filesystem_mirror\s*{[^}]*?path\s*=\s*"([^"]+)"')
_LOCKED = re.compile(rf'provider\s+"{re.escape(PROVIDER)}"\s*{{[^}}]*?version\s*=\s*"([^"]+)"')
_OFF = {"0", "off", "false", "no"}


class FetchError(Exception):
    """The registry's package could not be had; the message is one line."""


@dataclass(frozen=True)
class Source:
    """Where Terraform takes hashicorp/aws from: always a filesystem mirror folder in the end."""

    mirror: Path
    # True: the registry, under the lock (mirror is then the download cache).
    registry: bool = False
    # The locked version, for a registry source.
    version: str = ""

    @property
    def ready(self) -> bool:
        """The mirror holds what is needed: no download is due."""
        held = versions(self.mirror)
        return self.version in held if self.registry else bool(held)

    def describe(self) -> str:
        if self.registry:
            return (
                f"{PROVIDER} {self.version} from {REGISTRY} under the lock (kept in {self.mirror})"
            )
        held = ", ".join(versions(self.mirror))
        return f"{PROVIDER} {held} from the filesystem mirror {self.mirror}"


def candidates(
    env: Mapping[str, str] = os.environ,
    *,
    system: Sequence[Path] | None = None,
    opt: Path | None = None,
) -> list[Path]:
    """The places a mirror may be, in the order they are tried."""
    if env.get(MIRROR_ENV):
        return [Path(env[MIRROR_ENV]).expanduser()]
    opt = OPT if opt is None else opt
    home = Path(env.get("HOME", "/nonexistent"))
    data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    found: list[Path] = []
    config = env.get("TF_CLI_CONFIG_FILE")
    if config and Path(config).is_file():
        text = Path(config).read_text(encoding="utf-8", errors="replace")
        found += [Path(p) for p in _CLI_CONFIG_MIRROR.findall(text)]
    found += [home / ".terraform.d" / "plugins", data_home / "terraform" / "plugins"]
    found += SYSTEM_DIRS if system is None else system
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
    system: Sequence[Path] | None = None,
    opt: Path | None = None,
) -> Path | None:
    """The first candidate that holds a hashicorp/aws plugin binary, or None."""
    for place in candidates(env, system=system, opt=opt):
        if versions(place):
            return place
    return None


def where(env: Mapping[str, str] = os.environ) -> str:
    """Where `find` looked, for an error message."""
    return env.get(MIRROR_ENV) or "Terraform's plugin folders and /opt"


def locked_version(lock: Path = LOCK_FILE) -> str | None:
    """The hashicorp/aws version `lock` pins, or None without a lock (or without that provider)."""
    try:
        match = _LOCKED.search(lock.read_text(encoding="utf-8"))
    except OSError:
        return None
    return match.group(1) if match else None


def registry_off(env: Mapping[str, str] = os.environ) -> bool:
    return env.get(REGISTRY_ENV, "").strip().lower() in _OFF


def registry_reachable(
    env: Mapping[str, str] = os.environ, url: str = REGISTRY_PROBE, timeout: float = PROBE_TIMEOUT
) -> bool:
    """One HTTPS GET of the registry's discovery document (a few hundred bytes), short timeout.

    GET, not HEAD: a CDN may refuse HEAD, and Terraform itself starts with this very GET.
    """
    if registry_off(env):
        return False
    request = urllib.request.Request(url)  # noqa: S310 - a fixed https URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return 200 <= int(answer.status) < 400
    except (OSError, ValueError):  # URLError and HTTPError are OSErrors; a timeout too
        return False


def source(
    env: Mapping[str, str] = os.environ,
    *,
    system: Sequence[Path] | None = None,
    opt: Path | None = None,
    cache: Path | None = None,
    lock: Path = LOCK_FILE,
    reachable: Callable[[Mapping[str, str]], bool] = registry_reachable,
) -> Source | None:
    """A mirror if there is one; else the registry, when its package is cached or it answers.

    A mirror named by FINLEX_TF_PROVIDER_MIRROR is the only place looked at: a
    wrong name is an error to fix, not a reason to download something else.
    """
    mirror = find(env, system=system, opt=opt)
    if mirror is not None:
        return Source(mirror)
    version = locked_version(lock)
    if env.get(MIRROR_ENV) or version is None:
        return None
    cached = Source(CACHE if cache is None else cache, registry=True, version=version)
    if cached.ready or reachable(env):
        return cached
    return None


def missing(env: Mapping[str, str] = os.environ, lock: Path = LOCK_FILE) -> str:
    """Why `source` found nothing, and the fix: one line."""
    reason, fix = why_missing(env, lock)
    return f"{reason}: {fix}"


def why_missing(env: Mapping[str, str] = os.environ, lock: Path = LOCK_FILE) -> tuple[str, str]:
    """What `source` lacked, and what to do about it (make doctor prints them apart)."""
    if env.get(MIRROR_ENV):
        return (
            f"no filesystem mirror of {PROVIDER} in {env[MIRROR_ENV]} ({MIRROR_ENV})",
            f"point {MIRROR_ENV} at the folder that holds registry.terraform.io/, "
            f"or unset it to use {REGISTRY}",
        )
    if locked_version(lock) is None:
        return f"{lock} locks no {PROVIDER}", f"run `make tf-lock` where {REGISTRY} is reachable"
    registry = (
        f"turned off ({REGISTRY_ENV}={env[REGISTRY_ENV]})" if registry_off(env) else "not reachable"
    )
    return (
        f"no filesystem mirror of {PROVIDER} in {where(env)}, and {REGISTRY} is {registry}",
        f"set {MIRROR_ENV} to a mirror (`terraform providers mirror DIR` in infra/ where the "
        f"registry is reachable), or run where {REGISTRY} is reachable",
    )


def fetch(
    found: Source,
    terraform: str,
    *,
    lock: Path = LOCK_FILE,
    env: Mapping[str, str] = os.environ,
) -> Path:
    """Make `found` ready: download its locked version from the registry, unpacked, once.

    Two test sessions may ask at the same time: the first downloads under a
    file lock, the second then finds the package there.
    """
    if not found.registry:
        return found.mirror
    found.mirror.mkdir(parents=True, exist_ok=True)
    with _exclusive(found.mirror / ".lock"):
        if found.ready:
            return found.mirror
        with tempfile.TemporaryDirectory(dir=found.mirror, prefix=".download-") as scratch:
            packed = _download(terraform, found.version, lock, Path(scratch), env)
            target = found.mirror / PROVIDER / found.version
            staging = Path(scratch) / "unpacked"
            for archive in packed:
                _unpack(archive, staging / _platform(archive, found.version))
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(target)
    return found.mirror


def _download(
    terraform: str, version: str, lock: Path, scratch: Path, env: Mapping[str, str]
) -> list[Path]:
    """`terraform providers mirror` of exactly the locked version, for this platform."""
    config = scratch / "config"
    config.mkdir()
    (config / "versions.tf").write_text(
        "terraform {\n  required_providers {\n"
        f'    aws = {{ source = "hashicorp/aws", version = "{version}" }}\n'
        "  }\n}\n",
        encoding="utf-8",
    )
    shutil.copy(lock, config / ".terraform.lock.hcl")
    (scratch / "empty.tfrc").write_text("", encoding="utf-8")
    run_env = {**env, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": str(scratch / "empty.tfrc")}
    try:
        result = subprocess.run(  # noqa: S603 - argument list, no shell
            [
                terraform,
                f"-chdir={config}",
                "providers",
                "mirror",
                "-no-color",
                str(scratch / "packed"),
            ],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise FetchError(f"`terraform providers mirror` could not run: {error}") from None
    archives = sorted(
        (scratch / "packed" / PROVIDER).glob(f"terraform-provider-aws_{version}_*.zip")
    )
    if result.returncode != 0 or not archives:
        reason = first_error(result.stderr + result.stdout) or "no package was written"
        raise FetchError(f"downloading {PROVIDER} {version} from {REGISTRY} failed: {reason}")
    return archives


def first_error(output: str) -> str:
    """Terraform's first error and its explanation, joined into one line."""
    lines = [line.strip("│╷╵ ").strip() for line in output.splitlines()]
    start = next((i for i, line in enumerate(lines) if line.startswith("Error: ")), None)
    if start is None:
        return ""
    summary, words = lines[start].removeprefix("Error: "), list[str]()
    for line in lines[start + 1 :]:
        if not line and words:
            break
        if line:
            words.append(line)
    return f"{summary}: {' '.join(words)}" if words else summary


def _platform(archive: Path, version: str) -> str:
    """linux_amd64 of terraform-provider-aws_5.100.0_linux_amd64.zip."""
    return archive.stem.removeprefix(f"terraform-provider-aws_{version}_")


def _unpack(archive: Path, into: Path) -> None:
    """Unzip with the members' modes (zipfile drops them): the plugin must stay executable."""
    into.mkdir(parents=True)
    with zipfile.ZipFile(archive) as packed:
        for member in packed.infolist():
            path = Path(packed.extract(member, into))
            mode = (member.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)
            elif member.filename.startswith("terraform-provider-"):
                path.chmod(0o755)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tfmirror", description="Find (or download under the lock) the hashicorp/aws provider."
    )
    parser.add_argument("--check", action="store_true", help="download nothing")
    parser.add_argument("--terraform", default=os.environ.get("TF", "terraform"))
    args = parser.parse_args(argv)
    found = source()
    if found is None:
        print(f"tfmirror: {missing()}", file=sys.stderr)
        return EXIT_MISSING
    if found.registry and not found.ready and not args.check:
        terraform = shutil.which(args.terraform)
        if terraform is None:
            print(
                f"tfmirror: {args.terraform} is not on PATH: install Terraform >= 1.10",
                file=sys.stderr,
            )
            return EXIT_MISSING
        try:
            fetch(found, terraform)
        except FetchError as error:
            print(f"tfmirror: {error}", file=sys.stderr)
            return EXIT_MISSING
    print(f"provider: {found.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
