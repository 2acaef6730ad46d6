"""make doctor: is this machine ready to run, test, build, rehearse and deploy finlex?

One line per prerequisite, a check mark or a cross, and for a cross the fix.
Reads only: it runs a few `--version`-style commands with short timeouts,
looks at files and the environment, and never installs, starts or writes
anything. Standard library only, so it runs before any venv exists.

    python3 tools/doctor                 # every goal
    python3 tools/doctor --for image     # only what `make image` needs
    python3 tools/doctor --for image --quiet   # only the crosses (make image's pre-check)

Exit codes: 0 every selected check passed, 1 at least one failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tfmirror

REPO = Path(__file__).resolve().parents[2]
GOALS = ("run", "test", "image", "rehearse", "deploy")
MIN_PYTHON = (3, 11)
MIN_TERRAFORM = (1, 10)
# `make venv`: .venv (~0.7 GB) + .venv-checkov (~0.4 GB), plus pytest's scratch files.
MIN_FREE_REPO_GB = 1.5
# `make run`: the service's venv (~45 MB) with room to spare.
MIN_FREE_RUN_GB = 0.2
# The base image, the build stage and the final image, with room for a rebuild.
MIN_FREE_DOCKER_GB = 2.0
BASE_IMAGE = "debian:trixie-slim"
# Docker clients before 23.0 build with BuildKit themselves under DOCKER_BUILDKIT=1;
# from 23.0 on, BuildKit is the buildx plugin, and without it the client falls
# back to the legacy builder, which rejects the Dockerfile's RUN --mount.
FIRST_CLIENT_NEEDING_BUILDX = 23
CA_ENV_VARS = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
# Generous: on a busy machine `docker info` can take seconds; a healthy one answers at once.
TIMEOUT = 15.0

OK = "\u2714"  # ✔
BAD = "\u2718"  # ✘


@dataclass(frozen=True)
class Result:
    name: str
    goals: tuple[str, ...]
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = OK if self.ok else BAD
        text = f"{mark} {self.name}: {self.detail}  [{', '.join(self.goals)}]"
        return text if self.ok or not self.fix else f"{text}\n    fix: {self.fix}"


class Runner(Protocol):
    def __call__(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str] | None: ...


def run_command(
    argv: Sequence[str], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str] | None:
    """Run a read-only command; None when it cannot be started or times out."""
    try:
        return subprocess.run(  # noqa: S603 - fixed argument lists built here
            list(argv),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=None if env is None else dict(env),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


@dataclass
class Machine:
    """What the checks look at; tests replace parts of it."""

    env: Mapping[str, str]
    run: Runner = run_command
    repo: Path = REPO
    # Where a provider mirror may be besides the user's own folders (tools/tfmirror.py).
    terraform_dirs: tuple[Path, ...] = tfmirror.SYSTEM_DIRS
    opt: Path = tfmirror.OPT
    # Whether registry.terraform.io answers (one HTTPS GET; tests replace it).
    registry: Callable[[Mapping[str, str]], bool] = tfmirror.registry_reachable
    python: tuple[int, int, int] = (
        sys.version_info.major,
        sys.version_info.minor,
        sys.version_info.micro,
    )

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.env.get("PATH", ""))

    @property
    def docker(self) -> str:
        return self.env.get("DOCKER") or "docker"


def version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return ()
    return tuple(int(part) for part in match.groups() if part is not None)


def free_gb(path: Path) -> float | None:
    try:
        return shutil.disk_usage(path).free / 1e9
    except OSError:
        return None


# --- local tools -------------------------------------------------------------


def check_python(m: Machine) -> Result:
    goals = ("run", "test", "deploy")
    shown = ".".join(map(str, m.python))
    if m.python[:2] >= MIN_PYTHON:
        return Result("python", goals, True, f"{shown} (>= 3.11)")
    return Result(
        "python",
        goals,
        False,
        f"{shown} is older than 3.11",
        "install Python 3.11+ and run make with PYTHON=python3.11 (or newer)",
    )


def check_venv_module(m: Machine) -> Result:
    goals = ("run", "test")
    python = m.env.get("PYTHON") or sys.executable
    probe = m.run([python, "-c", "import ensurepip, venv"])
    if probe is not None and probe.returncode == 0:
        return Result("python venv", goals, True, "venv and ensurepip importable")
    return Result(
        "python venv",
        goals,
        False,
        "cannot create virtual environments (no venv/ensurepip)",
        "Debian/Ubuntu: apt-get install python3-venv",
    )


def check_tool(m: Machine, name: str, goals: tuple[str, ...], fix: str) -> Result:
    path = m.which(name)
    if path:
        return Result(name, goals, True, path)
    return Result(name, goals, False, "not on PATH", fix)


def check_repo_disk(m: Machine, goals: set[str]) -> Result:
    """`make run` needs the service's venv only; `make test` both venvs."""
    needed, what = (
        (MIN_FREE_REPO_GB, ".venv and .venv-checkov")
        if "test" in goals
        else (MIN_FREE_RUN_GB, "the service's .venv")
    )
    shown = ("run", "test") if "test" in goals else ("run",)
    free = free_gb(m.repo)
    if free is None:
        return Result("disk (checkout)", shown, False, f"cannot read {m.repo}", "check the path")
    detail = f"{free:.1f} GB free (needs {needed} GB for {what})"
    if free >= needed:
        return Result("disk (checkout)", shown, True, detail)
    return Result("disk (checkout)", shown, False, detail, "free disk space under the checkout")


# --- Docker ------------------------------------------------------------------


def docker_client_version(m: Machine) -> str | None:
    result = m.run([m.docker, "version", "--format", "{{.Client.Version}}"])
    if result is None:
        return None
    text = result.stdout.strip().splitlines()
    return text[0] if text and version_tuple(text[0]) else None


def check_docker_client(m: Machine) -> Result:
    goals = ("test", "image", "deploy")
    if m.which(m.docker) is None:
        return Result(
            "docker client",
            goals,
            False,
            f"{m.docker!r} not on PATH",
            "install Docker (https://docs.docker.com/engine/install/) or Debian's docker.io",
        )
    version = docker_client_version(m)
    return Result("docker client", goals, True, f"{m.which(m.docker)} {version or '(version?)'}")


def has_buildkit(m: Machine, docker: str) -> tuple[bool, str]:
    buildx = m.run([docker, "buildx", "version"])
    if buildx is not None and buildx.returncode == 0:
        return True, f"buildx {buildx.stdout.split()[1] if buildx.stdout.split()[1:] else ''}"
    version = docker_client_version(Machine(env={**m.env, "DOCKER": docker}, run=m.run))
    parsed = version_tuple(version or "")
    if parsed and parsed[0] < FIRST_CLIENT_NEEDING_BUILDX:
        return True, f"client {version} builds with BuildKit itself (DOCKER_BUILDKIT=1)"
    return False, f"client {version or '?'} has no buildx plugin"


def check_buildkit(m: Machine) -> Result:
    goals = ("test", "image", "deploy")
    name = "BuildKit (buildx)"
    if m.which(m.docker) is None:
        return Result(name, goals, False, "no docker client", "install Docker first")
    ok, detail = has_buildkit(m, m.docker)
    if ok:
        return Result(name, goals, True, detail)
    fix = (
        "install the buildx plugin (Docker's apt repository: docker-buildx-plugin; "
        "Debian trixie: docker-buildx)"
    )
    for candidate in ("/usr/bin/docker", "/usr/local/bin/docker", "/bin/docker"):
        if Path(candidate).exists() and candidate != m.which(m.docker):
            other_ok, _ = has_buildkit(m, candidate)
            if other_ok:
                fix += f", or use the client that has BuildKit: make image DOCKER={candidate}"
                break
    return Result(
        name,
        goals,
        False,
        f"{detail}: `docker build` uses the legacy builder, which rejects RUN --mount",
        fix,
    )


def check_engine(m: Machine) -> Result:
    goals = ("test", "image", "deploy")
    if m.which(m.docker) is None:
        return Result("docker engine", goals, False, "no docker client", "install Docker first")
    info = m.run([m.docker, "info", "--format", "{{.ServerVersion}} {{.DockerRootDir}}"])
    if info is None or info.returncode != 0:
        reason = "no answer" if info is None else (info.stderr.strip().splitlines() or ["?"])[-1]
        return Result(
            "docker engine",
            goals,
            False,
            f"not reachable ({reason[:120]})",
            "start the engine (systemctl start docker, or dockerd &), "
            "and make sure your user may use it (docker group)",
        )
    version, _, root = info.stdout.strip().partition(" ")
    return Result("docker engine", goals, True, f"{version} (data in {root or '?'})")


def check_engine_disk(m: Machine) -> Result | None:
    info = m.run([m.docker, "info", "--format", "{{.DockerRootDir}}"])
    if info is None or info.returncode != 0 or not info.stdout.strip():
        return None
    free = free_gb(Path(info.stdout.strip()))
    if free is None:
        return None  # a remote engine, or a root dir this user cannot stat
    goals = ("test", "image")
    detail = f"{free:.1f} GB free in the engine's data dir (needs {MIN_FREE_DOCKER_GB} GB)"
    if free >= MIN_FREE_DOCKER_GB:
        return Result("disk (docker)", goals, True, detail)
    return Result("disk (docker)", goals, False, detail, "docker system prune, or free disk space")


def check_base_image(m: Machine) -> Result:
    goals = ("test",)
    probe = m.run([m.docker, "image", "inspect", "--format", "{{.Id}}", BASE_IMAGE])
    if probe is not None and probe.returncode == 0:
        return Result("base image", goals, True, f"{BASE_IMAGE} in the local store")
    return Result(
        "base image",
        goals,
        False,
        f"{BASE_IMAGE} is not in the local store (the container tests do not pull)",
        f"docker pull {BASE_IMAGE}; offline: .ci/base-image.sh trixie .cache/base-images",
    )


def check_ca_bundle(m: Machine) -> Result:
    goals = ("image",)
    explicit = m.env.get("CA_BUNDLE", "")
    if explicit == "none":
        return Result("CA bundle", goals, True, "CA_BUNDLE=none: pip in the build uses its own CAs")
    if explicit:
        if Path(explicit).is_file() and os.access(explicit, os.R_OK):
            return Result("CA bundle", goals, True, f"CA_BUNDLE={explicit} goes to pip as a secret")
        return Result(
            "CA bundle",
            goals,
            False,
            f"CA_BUNDLE={explicit} is not a readable file",
            "point CA_BUNDLE at the PEM bundle of your TLS-intercepting proxy",
        )
    custom = [(var, m.env[var]) for var in CA_ENV_VARS if m.env.get(var)]
    if custom:
        var, path = custom[0]
        return Result(
            "CA bundle",
            goals,
            False,
            f"pip here trusts {var}={path}, but the image build's pip would not",
            f"behind a TLS-intercepting proxy: make image CA_BUNDLE={path}; "
            "with direct access to PyPI: CA_BUNDLE=none",
        )
    return Result("CA bundle", goals, True, "none set (pip in the build uses its own CAs)")


# --- Terraform and the rehearsal ---------------------------------------------


def check_terraform(m: Machine) -> Result:
    goals = ("test", "rehearse", "deploy")
    fix = "install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install)"
    path = m.which(m.env.get("TF") or "terraform")
    if path is None:
        return Result("terraform", goals, False, "not on PATH", fix)
    result = m.run([path, "version", "-json"])
    version = ""
    if result is not None and result.returncode == 0:
        try:
            version = str(json.loads(result.stdout).get("terraform_version", ""))
        except ValueError:
            version = ""
    parsed = version_tuple(version)
    if parsed[:2] >= MIN_TERRAFORM:
        return Result("terraform", goals, True, f"{path} {version}")
    return Result("terraform", goals, False, f"{path} {version or '(version?)'} is too old", fix)


def check_provider_mirror(m: Machine) -> Result:
    """A filesystem mirror, or the registry under the lock (tools/tfmirror.py's lookup).

    Probes the registry with one HTTPS GET (a few seconds at most) only when
    no mirror is found; downloads nothing.
    """
    goals = ("test", "rehearse")
    name = "hashicorp/aws provider"
    lock = m.repo / tfmirror.LOCK_FILE.relative_to(tfmirror.REPO)
    found = tfmirror.source(
        m.env,
        system=m.terraform_dirs,
        opt=m.opt,
        cache=m.repo / tfmirror.CACHE.relative_to(tfmirror.REPO),
        lock=lock,
        reachable=m.registry,
    )
    if found is None:
        reason, fix = tfmirror.why_missing(m.env, lock)
        return Result(name, goals, False, reason, fix)
    if not found.registry:
        versions = ", ".join(tfmirror.versions(found.mirror))
        return Result(name, goals, True, f"{found.mirror} ({versions})")
    if found.ready:
        return Result(name, goals, True, found.describe())
    return Result(
        name,
        goals,
        True,
        f"no mirror; {tfmirror.REGISTRY} answers: make rehearse downloads "
        f"{found.version} under the lock into {found.mirror}",
    )


def check_moto(m: Machine) -> Result:
    goals = ("rehearse",)
    found = sorted(m.repo.glob(".venv/lib/python3*/site-packages/moto/__init__.py"))
    if found:
        return Result("moto (dev venv)", goals, True, str(found[0].parents[0].relative_to(m.repo)))
    return Result(
        "moto (dev venv)", goals, False, "not installed in .venv", "make venv (installs the locks)"
    )


# --- a real deploy -----------------------------------------------------------

AWS_PROBE = """\
import json, os, boto3
s = boto3.Session()
c = s.get_credentials()
print(json.dumps({"credentials": c is not None and bool(c.access_key),
                  "method": getattr(c, "method", None),
                  "region": os.environ.get("AWS_REGION") or s.region_name}))
"""


def check_aws(m: Machine) -> list[Result]:
    goals = ("deploy",)
    python = m.repo / ".venv" / "bin" / "python"
    if not python.exists():
        fix = "make venv, then run make doctor again"
        return [Result("AWS credentials", goals, False, "boto3 not installed yet", fix)]
    # No network: the instance metadata endpoint is not probed, and nothing calls AWS.
    env = {**m.env, "AWS_EC2_METADATA_DISABLED": "true"}
    result = m.run([str(python), "-c", AWS_PROBE], env)
    try:
        answer = json.loads(result.stdout) if result is not None else {}
    except ValueError:
        answer = {}
    if not answer:
        detail = "could not ask boto3" + (f": {result.stderr.strip()[-120:]}" if result else "")
        return [Result("AWS credentials", goals, False, detail, "check ~/.aws/config")]
    results = []
    if answer.get("credentials"):
        results.append(
            Result(
                "AWS credentials",
                goals,
                True,
                f"found ({answer.get('method')}); not validated: `aws sts get-caller-identity`",
            )
        )
    else:
        results.append(
            Result(
                "AWS credentials",
                goals,
                False,
                "none found",
                "aws sso login (or aws configure), or export AWS_PROFILE",
            )
        )
    if answer.get("region"):
        results.append(Result("AWS region", goals, True, str(answer["region"])))
    else:
        fix = "export AWS_REGION=us-east-1 (or set region in ~/.aws/config)"
        results.append(Result("AWS region", goals, False, "none set", fix))
    return results


VARS = re.compile(r"\bvars\.([A-Z][A-Z0-9_]*)(\s*(?:\|\||!=|==))?")


def workflow_variables(repo: Path, names: Sequence[str] = ()) -> dict[str, bool]:
    """Repository variables the workflows read: name -> required (no fallback, no test)."""
    required: dict[str, bool] = {}
    folder = repo / ".github" / "workflows"
    paths = [folder / n for n in names] if names else sorted(folder.glob("*.y*ml"))
    for path in paths:
        for match in VARS.finditer(path.read_text(encoding="utf-8")):
            name, optional = match.group(1), bool(match.group(2))
            required[name] = required.get(name, True) and not optional
    return required


def check_github_variables(m: Machine) -> list[Result]:
    goals = ("deploy",)
    wanted = workflow_variables(m.repo)
    names = ", ".join(n for n, req in wanted.items() if req)
    gh = m.which("gh")
    listing = m.run([gh, "variable", "list", "--json", "name"]) if gh else None
    if listing is None or listing.returncode != 0:
        why = "gh not on PATH" if gh is None else "gh cannot list them (gh auth login?)"
        return [
            Result(
                "GitHub variables",
                goals,
                False,
                f"not checked: {why}",
                f"set {names} under Settings -> Secrets and variables -> Actions -> Variables "
                "(docs/runbook.md 1.6), or install gh and run make doctor again",
            )
        ]
    try:
        present = {item["name"] for item in json.loads(listing.stdout)}
    except (ValueError, KeyError, TypeError):
        present = set()
    results = []
    for name, req in wanted.items():
        if name in present:
            results.append(Result(f"variable {name}", goals, True, "set"))
        elif req:
            fix = f"gh variable set {name} --body VALUE (docs/runbook.md 1.6)"
            results.append(Result(f"variable {name}", goals, False, "not set", fix))
        else:
            results.append(Result(f"variable {name}", goals, True, "not set (optional)"))
    return results


# --- all of it ---------------------------------------------------------------


def checks(m: Machine, goals: set[str]) -> list[Result]:
    def wanted(*for_goals: str) -> bool:
        return bool(goals.intersection(for_goals))

    results: list[Result] = []
    if wanted("run", "test", "deploy"):
        results.append(check_python(m))
    if wanted("run", "test"):
        results.append(check_venv_module(m))
        results.append(check_repo_disk(m, goals))
    results.append(
        check_tool(m, "make", GOALS, "Debian/Ubuntu: apt-get install make; macOS: xcode-select")
    )
    if wanted("test", "deploy"):
        results.append(check_tool(m, "git", ("test", "deploy"), "apt-get install git"))
    if wanted("test", "image", "deploy"):
        results += [check_docker_client(m), check_buildkit(m), check_engine(m)]
        disk = check_engine_disk(m)
        if disk is not None:
            results.append(disk)
    if wanted("test"):
        results.append(check_base_image(m))
    if wanted("image"):
        results.append(check_ca_bundle(m))
    if wanted("test", "rehearse", "deploy"):
        results.append(check_terraform(m))
    if wanted("test", "rehearse"):
        results.append(check_provider_mirror(m))
    if wanted("rehearse"):
        results.append(check_moto(m))
    if wanted("deploy"):
        results.append(
            check_tool(
                m,
                "aws",
                ("deploy",),
                "install the AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/"
                "getting-started-install.html)",
            )
        )
        results += check_aws(m)
        results += check_github_variables(m)
    return [r for r in results if goals.intersection(r.goals)]


def parse_goals(text: str) -> set[str]:
    chosen = {g.strip() for g in text.split(",") if g.strip()}
    unknown = chosen - set(GOALS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown goal {', '.join(sorted(unknown)) or repr(text)}; "
            f"choose from {', '.join(GOALS)}"
        )
    return chosen


def main(argv: Sequence[str] | None = None, machine: Machine | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="doctor", description="Check the prerequisites of finlex's make targets."
    )
    parser.add_argument(
        "--for",
        dest="goals",
        type=parse_goals,
        default=set(GOALS),
        help=f"comma-separated goals to check (default: all of {', '.join(GOALS)})",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the failed checks")
    args = parser.parse_args(argv)
    m = machine or Machine(env=dict(os.environ))
    results = checks(m, args.goals)
    for result in results:
        if not (args.quiet and result.ok):
            print(result.line())
    failed = [r for r in results if not r.ok]
    if not args.quiet:
        print(f"\n{len(results) - len(failed)} of {len(results)} checks passed", end="")
        print(f"; fix the {len(failed)} marked {BAD} above." if failed else ".")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
