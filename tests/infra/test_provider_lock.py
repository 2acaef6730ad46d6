"""The committed provider locks: exactly hashicorp/aws 5.100.0 in both roots, and they hold.

The constraints in every versions.tf and providers.tf must admit the locked
version; `make tf-lock` must record all four platforms a developer or CI uses;
and a real `terraform init -lockfile=readonly` accepts the provider offered
(mirror or registry) against the lock, while an altered lock is refused with
one line naming the fix (rehearse.terraform.lock_mismatch), not Terraform's
wrapped dozen.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prereq import require_tool
from rehearse.terraform import INIT as REHEARSAL_INIT
from rehearse.terraform import lock_mismatch
from tf_offline import cli_config, require_terraform_and_mirror

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
ROOTS = (INFRA, INFRA / "bootstrap")
PROVIDER = "registry.terraform.io/hashicorp/aws"
LOCKED = "5.100.0"
PLATFORMS = ("linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64")
# The Makefile's TF_INIT: how every init of make and of the workflows runs.
_TF_INIT = re.search(r"^TF_INIT\s*:=\s*(.+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
INIT = tuple(_TF_INIT.group(1).split()) if _TF_INIT else ()

_PROVIDER_BLOCK = re.compile(r'provider\s+"([^"]+)"\s*\{(.*?)\n\}', re.DOTALL)
_AWS_CONSTRAINT = re.compile(
    r'aws\s*=\s*\{[^}]*source\s*=\s*"hashicorp/aws"[^}]*version\s*=\s*"([^"]+)"', re.DOTALL
)


def locked(root: Path) -> dict[str, dict[str, str]]:
    """provider address -> {version, constraints} of root's .terraform.lock.hcl."""
    text = (root / ".terraform.lock.hcl").read_text(encoding="utf-8")
    found = {}
    for address, body in _PROVIDER_BLOCK.findall(text):
        fields = dict(re.findall(r'^\s*(version|constraints)\s*=\s*"([^"]*)"', body, re.MULTILINE))
        found[address] = fields
    return found


def version(text: str) -> tuple[int, int, int]:
    parts = [int(p) for p in text.split(".")] + [0, 0]
    return parts[0], parts[1], parts[2]


def admits(constraint: str, candidate: str) -> bool:
    """Terraform's version constraint syntax: comma-separated `op version` terms, all must hold."""
    have = version(candidate)
    for term in constraint.split(","):
        match = re.fullmatch(r"\s*(>=|<=|!=|~>|=|>|<)?\s*(\d+(?:\.\d+){0,2})\s*", term)
        assert match, f"cannot read the constraint term {term!r}"
        op, bound = match.group(1) or "=", match.group(2)
        want = version(bound)
        if op == "~>":
            # ~> 5.1 admits 5.x >= 5.1; ~> 5.1.2 admits 5.1.x >= 5.1.2
            kept = bound.count(".")
            prefix_ok = have[: max(kept, 1)] == want[: max(kept, 1)]
            ok = have >= want and prefix_ok
        else:
            ok = {
                "=": have == want, "!=": have != want, ">": have > want,
                ">=": have >= want, "<": have < want, "<=": have <= want,
            }[op]  # fmt: skip
        if not ok:
            return False
    return True


def test_every_init_takes_the_lock_read_only() -> None:
    assert INIT[0] == "init", INIT
    assert "-lockfile=readonly" in INIT
    assert REHEARSAL_INIT == INIT, "the rehearsal inits as make and CI do"


def test_the_constraint_reader_can_refuse() -> None:
    assert admits(">= 5.100, < 7.0", "5.100.0")
    assert not admits(">= 5.100, < 7.0", "7.0.0")
    assert not admits(">= 5.100, < 7.0", "5.99.9")
    assert admits("~> 5.100", "5.101.3")
    assert not admits("~> 5.100.0", "5.101.0")
    assert not admits("5.99.0", LOCKED)


@pytest.mark.parametrize("root", ROOTS, ids=lambda p: str(p.relative_to(REPO)))
def test_each_root_locks_exactly_hashicorp_aws_5_100_0(root: Path) -> None:
    locks = locked(root)
    assert list(locks) == [PROVIDER], locks
    assert locks[PROVIDER]["version"] == LOCKED
    assert admits(locks[PROVIDER]["constraints"], LOCKED)


def test_both_locks_hold_the_same_entry() -> None:
    # One provider build for both roots: a hash added to one belongs in the other.
    assert locked(INFRA) == locked(INFRA / "bootstrap")
    hashes = [
        re.findall(r'"(h1:[^"]+|zh:[^"]+)"', (root / ".terraform.lock.hcl").read_text())
        for root in ROOTS
    ]
    assert hashes[0], "a lock without checksums verifies nothing"
    assert hashes[0] == hashes[1]


def constraint_files() -> list[Path]:
    return sorted(INFRA.rglob("versions.tf")) + sorted(INFRA.rglob("providers.tf"))


def test_every_constraint_admits_the_locked_version() -> None:
    files = [p for p in constraint_files() if ".terraform" not in p.parts]
    assert len(files) >= 6, files  # both roots and the four modules
    for path in files:
        (constraint,) = _AWS_CONSTRAINT.findall(path.read_text(encoding="utf-8"))
        assert admits(constraint, LOCKED), f"{path.relative_to(REPO)}: {constraint}"


def test_make_tf_lock_records_every_platform_of_both_roots() -> None:
    result = subprocess.run(
        [require_tool("make"), "--no-print-directory", "-n", "tf-lock"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "infra infra/bootstrap" in result.stdout, result.stdout
    # tools/tfroots.py runs `get`, then `providers lock -platform=P ...`, in each root.
    (command,) = [line for line in result.stdout.splitlines() if "tfroots.py" in line]
    assert " lock " in command
    assert re.findall(r"--platform=(\w+)", command) == list(PLATFORMS)
    # From the registry: -fs-mirror would record only the mirror's one platform.
    assert "mirror" not in command


# --- the lock against a real init ----------------------------------------------------


@pytest.fixture(scope="module")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    terraform, mirror = require_terraform_and_mirror("test_provider_lock")
    work = tmp_path_factory.mktemp("lock-cli")
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config(work, mirror)),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_PLUGIN_CACHE_DIR": "",
    }
    return terraform, env


def init(terraform_env: tuple[str, dict[str, str]], root: Path) -> subprocess.CompletedProcess[str]:
    terraform, env = terraform_env
    return subprocess.run(
        [terraform, f"-chdir={root}", *INIT, "-backend=false"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def copy_of(root: Path, into: Path) -> Path:
    shutil.copytree(root, into, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return into


@pytest.mark.parametrize("root", ROOTS, ids=lambda p: str(p.relative_to(REPO)))
def test_the_committed_lock_accepts_the_provider_offered(
    terraform_env: tuple[str, dict[str, str]], root: Path, tmp_path: Path
) -> None:
    copy = copy_of(root, tmp_path / root.name)
    before = (copy / ".terraform.lock.hcl").read_text(encoding="utf-8")
    result = init(terraform_env, copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Installed hashicorp/aws v{LOCKED}" in result.stdout
    assert (copy / ".terraform.lock.hcl").read_text(encoding="utf-8") == before, "read-only"


def broken(tmp_path: Path, change: str) -> Path:
    copy = copy_of(INFRA / "bootstrap", tmp_path / "bootstrap")
    lock = copy / ".terraform.lock.hcl"
    text = lock.read_text(encoding="utf-8")
    if change == "checksum":
        lock.write_text(re.sub(r'"h1:[A-Za-z0-9+/]{4}', '"h1:AAAA', text), encoding="utf-8")
    elif change == "version":
        lock.write_text(text.replace(f'"{LOCKED}"', '"5.100.9"'), encoding="utf-8")
    else:
        lock.unlink()
    return copy


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            "checksum",
            "the lock bootstrap/.terraform.lock.hcl does not match the hashicorp/aws package "
            "offered (none of its checksums matches): run `make tf-lock` where "
            "registry.terraform.io is reachable and commit the lock",
        ),
        (
            "version",
            "the lock bootstrap/.terraform.lock.hcl pins hashicorp/aws 5.100.9, which the "
            "provider source does not offer: offer that version (FINLEX_TF_PROVIDER_MIRROR "
            "naming a mirror that holds it)",
        ),
        (
            "missing",
            "the lock bootstrap/.terraform.lock.hcl does not cover the configuration's "
            "providers (missing or out of date): run `make tf-lock` where registry.terraform.io "
            "is reachable and commit the lock",
        ),
    ],
)
def test_a_lock_that_does_not_match_is_one_line_naming_the_fix(
    terraform_env: tuple[str, dict[str, str]], tmp_path: Path, change: str, expected: str
) -> None:
    copy = broken(tmp_path, change)
    result = init(terraform_env, copy)
    assert result.returncode != 0, result.stdout
    assert lock_mismatch(result.stderr, copy) == expected, result.stderr


def test_other_init_errors_are_not_called_a_lock_problem(tmp_path: Path) -> None:
    output = 'Error: Unsupported argument\n\nAn argument named "x" is not expected here.\n'
    assert lock_mismatch(output, tmp_path) is None


WRAPPER = """#!{python}
# `terraform` for make tf-lock, offline: the registry replaced by the mirror, which holds one
# platform. Every other command is the real CLI's.
import os, sys
args = sys.argv[1:]
if args[1:3] == ["providers", "lock"]:
    asked = [a.removeprefix("-platform=") for a in args if a.startswith("-platform=")]
    with open({log!r}, "a") as log:
        log.write(" ".join(asked) + "\\n")
    args = [a for a in args if not a.startswith("-platform=")]
    args += ["-fs-mirror={mirror}", "-platform={platform}"]
os.execv({terraform!r}, [{terraform!r}, *args])
"""


def test_make_tf_lock_runs_on_a_fresh_clone_and_keeps_the_version(
    terraform_env: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """No module is installed in a fresh clone; `providers lock` needs them (hence `get`)."""
    terraform, env = terraform_env
    mirror = Path(re.findall(r'path = "([^"]+)"', Path(env["TF_CLI_CONFIG_FILE"]).read_text())[0])
    (platform,) = {p.name for p in (mirror / PROVIDER / LOCKED).iterdir()}
    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copy(REPO / "Makefile", clone / "Makefile")
    (clone / "tools").mkdir()
    shutil.copy(REPO / "tools" / "tfroots.py", clone / "tools" / "tfroots.py")
    shutil.copytree(REPO / "application", clone / "application")
    copy_of(INFRA, clone / "infra")
    wrapper = tmp_path / "terraform"
    wrapper.write_text(
        WRAPPER.format(
            python=sys.executable,
            log=str(tmp_path / "platforms.log"),
            mirror=mirror,
            platform=platform,
            terraform=terraform,
        ),
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    result = subprocess.run(
        [require_tool("make"), "--no-print-directory", "tf-lock", f"TF={wrapper}"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "== infra\n" in result.stdout
    assert "== infra/bootstrap\n" in result.stdout
    asked = (tmp_path / "platforms.log").read_text().splitlines()
    assert asked == [" ".join(PLATFORMS)] * 2
    for root in ("infra", "infra/bootstrap"):
        lock = f"{root}/.terraform.lock.hcl"
        assert (clone / lock).read_text() == (REPO / lock).read_text(), f"{lock} changed"
