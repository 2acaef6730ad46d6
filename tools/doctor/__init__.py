"""make doctor: is this machine ready to run, test, build, rehearse and deploy finlex?

One line per prerequisite, a check mark or a cross, and for a cross the fix.
Reads only: it runs a few `--version`-style commands with short timeouts,
looks at files and the environment, and never installs, starts or writes
anything. Standard library only, so it runs before any venv exists.

    python3 tools/doctor                 # every goal
    python3 tools/doctor --for image     # only what `make image` needs
    python3 tools/doctor --for image --quiet   # only the crosses (make image's pre-check)
    python3 tools/doctor --for deploy --strict # a check that could not run fails too

A check that needs what this machine lacks (a GitHub token, the network) says
"not checked" on a `?` line, with how to check it by hand; it fails only with
--strict (make doctor STRICT=1).

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
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import baseimage
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
# Docker clients before 23.0 build with BuildKit themselves under DOCKER_BUILDKIT=1;
# from 23.0 on, BuildKit is the buildx plugin, and without it the client falls
# back to the legacy builder, which rejects the Dockerfile's RUN --mount.
FIRST_CLIENT_NEEDING_BUILDX = 23
CA_ENV_VARS = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
# Generous: on a busy machine `docker info` can take seconds; a healthy one answers at once.
TIMEOUT = 15.0

OK = "\u2714"  # ✔
BAD = "\u2718"  # ✘
UNCHECKED = "?"


@dataclass(frozen=True)
class Result:
    name: str
    goals: tuple[str, ...]
    ok: bool
    detail: str
    fix: str = ""
    # False: the check could not run here (no token, no network); its detail says
    # how to check by hand. Not a failure unless --strict.
    checked: bool = True

    def line(self) -> str:
        mark = (OK if self.ok else BAD) if self.checked else UNCHECKED
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
    """The base the container tests build on: the Dockerfile's pin, or the BASE_IMAGE override."""
    goals = ("test",)
    dockerfile = m.repo / "Dockerfile"
    base = baseimage.in_use(m.env, dockerfile if dockerfile.exists() else baseimage.DOCKERFILE)
    probe = m.run([m.docker, "image", "inspect", "--format", "{{.Id}}", base])
    if probe is not None and probe.returncode == 0:
        return Result("base image", goals, True, f"{base} in the local store")
    return Result(
        "base image",
        goals,
        False,
        f"{base} is not in the local store (the container tests do not pull)",
        f"docker pull {base}; offline: .ci/base-image.sh trixie .cache/base-images, "
        f"then BASE_IMAGE={baseimage.STAND_IN}",
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
# A YAML comment: `#` at the start of a line or after a blank (GitHub's
# expressions hold no `#`), to the end of the line.
YAML_COMMENT = re.compile(r"(?:^|(?<=\s))#.*$", re.MULTILINE)


def workflow_variables(repo: Path, names: Sequence[str] = ()) -> dict[str, bool]:
    """Repository variables the workflows read: name -> required (no fallback, no test)."""
    required: dict[str, bool] = {}
    folder = repo / ".github" / "workflows"
    paths = [folder / n for n in names] if names else sorted(folder.glob("*.y*ml"))
    for path in paths:
        # Comments may mention vars.X; only what a job reads counts.
        text = YAML_COMMENT.sub("", path.read_text(encoding="utf-8"))
        for match in VARS.finditer(text):
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


# --- GitHub environments: only the default branch may deploy -------------------
#
# The deploy and apply roles trust `repo:OWNER/NAME:environment:NAME` alone. GitHub
# issues that `sub` only to a job it has started in the environment, and it starts
# none for a branch that the environment's deployment-branch policy does not allow:
# that policy is what keeps other branches away from both roles. It lives in the
# repository's settings, out of Terraform's view, so this check reads it.

GITHUB_API = "https://api.github.com"
GITHUB_TIMEOUT = 10.0
# The root's default_branch (infra/variables.tf): the branch the plan role trusts.
TERRAFORM_DEFAULT_BRANCH = "main"
# (workflow, job, whether its environment must have required reviewers)
ENVIRONMENT_JOBS = (("deploy.yml", "deploy", False), ("terraform.yml", "apply", True))
REMOTE = re.compile(r"github\.com[:/]([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?$")
REPOSITORY = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
TFVARS_BRANCH = re.compile(r'^\s*default_branch\s*=\s*"([^"]*)"', re.MULTILINE)


class GitHubError(Exception):
    """GitHub answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}".strip())
        self.status = status


class GitHubUnreachableError(Exception):
    """No usable answer from the API: network, TLS, or a body that is not JSON."""


def workflow_environment(repo: Path, workflow: str, job: str) -> str | None:
    """The environment a workflow's job names (`environment: X` or `name: X` under it).

    A regex, not YAML: the doctor runs before any venv, with the standard library only.
    """
    text = (repo / ".github" / "workflows" / workflow).read_text(encoding="utf-8")
    body = re.search(
        rf"^  {re.escape(job)}:[ \t]*(?:#.*)?\n((?:[ \t]*(?:#.*)?\n|    .*\n)*)", text, re.M
    )
    if body is None:
        return None
    found = re.search(
        r"^    environment:[ \t]*(?:\n      name:[ \t]*)?[\"']?([A-Za-z0-9._-]+)",
        body.group(1),
        re.M,
    )
    return found.group(1) if found else None


def github_token(m: Machine) -> str | None:
    """GITHUB_TOKEN, GH_TOKEN, else what `gh auth token` prints (no prompt, no network)."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        if m.env.get(name, "").strip():
            return m.env[name].strip()
    gh = m.which("gh")
    answer = m.run([gh, "auth", "token"]) if gh else None
    if answer is not None and answer.returncode == 0 and answer.stdout.strip():
        return answer.stdout.strip()
    return None


def github_repository(m: Machine) -> str | None:
    """GITHUB_REPOSITORY, else OWNER/NAME of the checkout's github.com origin."""
    named = m.env.get("GITHUB_REPOSITORY", "").strip()
    if named:
        return named
    git = m.which("git")
    remote = m.run([git, "-C", str(m.repo), "remote", "get-url", "origin"]) if git else None
    if remote is None or remote.returncode != 0:
        return None
    match = REMOTE.search(remote.stdout.strip())
    return match.group(1) if match else None


def terraform_default_branch(m: Machine) -> tuple[str, str]:
    """The default_branch the plan role trusts, and where that value comes from.

    infra/terraform.tfvars first: the Makefile writes it from TF_TFVARS only when missing.
    """
    tfvars = m.repo / "infra" / "terraform.tfvars"
    try:
        text, where = tfvars.read_text(encoding="utf-8"), "infra/terraform.tfvars"
    except OSError:
        text, where = m.env.get("TF_TFVARS", ""), "TF_TFVARS"
    match = TFVARS_BRANCH.search(text)
    if match:
        return match.group(1), where
    return TERRAFORM_DEFAULT_BRANCH, "the default of infra/variables.tf"


def proxies(env: Mapping[str, str]) -> dict[str, str]:
    """The machine's proxies (http_proxy, HTTPS_PROXY, ...), read from `env`."""
    found = {}
    for scheme in ("http", "https"):
        value = env.get(f"{scheme}_proxy") or env.get(f"{scheme.upper()}_PROXY")
        if value:
            found[scheme] = value
    return found


class GitHubApi:
    """GET requests to GitHub's REST API with a token; JSON answers."""

    def __init__(self, base: str, token: str, env: Mapping[str, str]) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies(env)))

    def get(self, path: str) -> object:
        request = urllib.request.Request(  # noqa: S310 - http(s) checked by the caller
            self.base + path,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "finlex-doctor",
            },
        )
        try:
            with self.opener.open(request, timeout=GITHUB_TIMEOUT) as answer:
                return json.loads(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            with error:
                raise GitHubError(error.code, api_message(error.read())) from None
        except (OSError, ValueError) as error:  # URLError, timeouts, TLS; not JSON
            reason = getattr(error, "reason", None) or error
            raise GitHubUnreachableError(str(reason)[:160]) from None

    def object(self, path: str) -> dict[str, object]:
        answer = self.get(path)
        if not isinstance(answer, dict):
            raise GitHubUnreachableError(f"{path}: not a JSON object")
        return answer


def api_message(body: bytes) -> str:
    """GitHub's `message` of an error answer, or nothing."""
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ""
    return str(answer.get("message", ""))[:160] if isinstance(answer, dict) else ""


def branch_policy_problem(api: GitHubApi, where: str, default: str) -> str | None:
    """What lets another branch than `default` deploy to the environment, or None."""
    env = api.object(where)
    policy = env.get("deployment_branch_policy")
    if not isinstance(policy, dict):
        return "any branch may deploy to it (no deployment branch policy)"
    if policy.get("protected_branches"):
        return f"'Protected branches only': every protected branch may deploy, not {default} alone"
    if not policy.get("custom_branch_policies"):
        return f"deployment branch policy {json.dumps(policy)} is neither form GitHub offers"
    listing = api.object(f"{where}/deployment-branch-policies?per_page=100")
    rules = listing.get("branch_policies")
    found = [
        (str(rule.get("type", "branch")), str(rule.get("name")))
        for rule in (rules if isinstance(rules, list) else [])
        if isinstance(rule, dict)
    ]
    if found == [("branch", default)]:
        return None
    if not found:
        return f"no branch may deploy to it (no rule), not even {default}"
    shown = ", ".join(name if kind == "branch" else f"{name} ({kind})" for kind, name in found)
    return f"the rules {shown} let other refs deploy: it must be {default} alone"


def reviewers(env: dict[str, object]) -> list[str]:
    """Logins and team names of the environment's required reviewers."""
    names = []
    rules = env.get("protection_rules")
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict) or rule.get("type") != "required_reviewers":
            continue
        entries = rule.get("reviewers")
        for entry in entries if isinstance(entries, list) else []:
            who = entry.get("reviewer") if isinstance(entry, dict) else None
            if isinstance(who, dict):
                names.append(str(who.get("login") or who.get("slug") or who.get("name")))
    return names


def environment_results(
    api: GitHubApi, repository: str, name: str, default: str, reviewed: bool
) -> list[Result]:
    goals = ("deploy",)
    where = f"/repos/{repository}/environments/{urllib.parse.quote(name, safe='')}"
    settings = f"Settings -> Environments -> {name}"
    branch_fix = (
        f"{settings} -> Deployment branches and tags: Selected branches and tags, "
        f"with the one branch rule {default} (docs/runbook.md 1.6)"
    )
    try:
        problem = branch_policy_problem(api, where, default)
    except GitHubError as error:
        if error.status != 404:
            raise
        return [
            Result(
                f"environment {name}",
                goals,
                False,
                "does not exist (a workflow job that names it creates it without any rule)",
                f"Settings -> Environments -> New environment {name}; then {branch_fix}",
            )
        ]
    results = [
        Result(f"environment {name}", goals, False, problem, branch_fix)
        if problem
        else Result(f"environment {name}", goals, True, f"only {default} may deploy")
    ]
    if reviewed:
        people = reviewers(api.object(where))
        results.append(
            Result(f"environment {name} reviewers", goals, True, ", ".join(people))
            if people
            else Result(
                f"environment {name} reviewers",
                goals,
                False,
                "no required reviewers: every apply would run without approval",
                f"{settings} -> Required reviewers: add the people or teams who approve applies",
            )
        )
    return results


def environment_jobs(repo: Path) -> list[tuple[str, bool]]:
    """(environment, needs reviewers) of each job in ENVIRONMENT_JOBS; ValueError if one
    names none."""
    jobs = []
    for workflow, job, reviewed in ENVIRONMENT_JOBS:
        name = workflow_environment(repo, workflow, job)
        if name is None:
            raise ValueError(f"{workflow} job {job} names no environment")
        jobs.append((name, reviewed))
    return jobs


def by_hand(jobs: Sequence[tuple[str, bool]]) -> str:
    every = " and ".join(name for name, _ in jobs)
    reviewed = " and ".join(name for name, needed in jobs if needed)
    return (
        f"check by hand in Settings -> Environments: {every} each allow the default branch "
        f"alone (Selected branches), {reviewed} has required reviewers (docs/runbook.md 1.6)"
    )


def check_github_environments(m: Machine) -> list[Result]:
    """Each environment lets only the default branch deploy; the apply one has reviewers.

    Without a token or an answer from the API: one `not checked` line saying how to
    check by hand (a failure only with --strict).
    """
    name, goals = "GitHub environments", ("deploy",)
    api_url = m.env.get("GITHUB_API_URL") or GITHUB_API
    repository = github_repository(m)
    try:
        jobs = environment_jobs(m.repo)
    except ValueError as error:
        fix = "give the job `environment: NAME`: the role it assumes trusts that environment only"
        return [Result(name, goals, False, str(error), fix)]
    if not api_url.startswith(("https://", "http://")):
        fix = f"unset it, or set GitHub's API (github.com: {GITHUB_API})"
        return [Result(name, goals, False, f"GITHUB_API_URL={api_url} is not an http(s) URL", fix)]
    if repository is not None and not REPOSITORY.match(repository):
        fix = "export GITHUB_REPOSITORY=OWNER/NAME (the repository on GitHub)"
        return [Result(name, goals, False, f"repository {repository!r} is not OWNER/NAME", fix)]
    token = github_token(m)
    if token is None or repository is None:
        why = (
            "no GitHub token (GITHUB_TOKEN, GH_TOKEN or gh auth login)"
            if token is None
            else "which repository? (export GITHUB_REPOSITORY=OWNER/NAME)"
        )
        return [Result(name, goals, True, f"not checked: {why}; {by_hand(jobs)}", "", False)]
    api = GitHubApi(api_url, token, m.env)
    try:
        default = str(api.object(f"/repos/{repository}").get("default_branch", ""))
        results = [repository_result(m, repository, default)]
        for environment, reviewed in jobs:
            results += environment_results(api, repository, environment, default, reviewed)
    except GitHubUnreachableError as error:
        detail = f"not checked: {api_url} did not answer ({error}); {by_hand(jobs)}"
        return [Result(name, goals, True, detail, "", False)]
    except GitHubError as error:
        return [github_refused(repository, error)]
    return results


def repository_result(m: Machine, repository: str, default: str) -> Result:
    """The default branch on GitHub is the one the plan role trusts."""
    goals = ("deploy",)
    name = f"GitHub repository {repository}"
    trusted, where = terraform_default_branch(m)
    if default == trusted:
        return Result(name, goals, True, f"default branch {default}")
    return Result(
        name,
        goals,
        False,
        f"default branch {default or '?'}, but the plan role trusts refs/heads/{trusted} ({where})",
        f'set default_branch = "{default}" in infra/terraform.tfvars (and TF_TFVARS) and the '
        "branches of .github/workflows/*.yml; an administrator applies the trust",
    )


def github_refused(repository: str, error: GitHubError) -> Result:
    detail = f"GitHub answered {error}"
    if error.status == 401:
        fix = "the token is invalid or expired: gh auth login, or a new GITHUB_TOKEN"
    elif error.status == 404:
        detail = f"{repository} not found, or the token cannot read it ({error})"
        fix = "export GITHUB_REPOSITORY=OWNER/NAME, with a token that can read that repository"
    else:
        fix = (
            "a token that may read the repository's environments (classic: repo scope; "
            "fine-grained: Actions read), or wait for the rate limit to reset"
        )
    return Result("GitHub environments", ("deploy",), False, detail, fix)


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
        # The stop-while-routed test puts HAProxy in front of the server, as the ALB is.
        results.append(
            check_tool(m, "haproxy", ("test",), "Debian/Ubuntu: apt-get install haproxy")
        )
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
        results += check_github_environments(m)
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
    parser.add_argument(
        "--quiet", action="store_true", help="print only the failed and the unchecked checks"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="a check that could not run here (no GitHub token, no network) fails too",
    )
    args = parser.parse_args(argv)
    m = machine or Machine(env=dict(os.environ))
    results = checks(m, args.goals)
    for result in results:
        if not (args.quiet and result.ok and result.checked):
            print(result.line())
    failed = [r for r in results if not r.ok]
    unchecked = [r for r in results if not r.checked]
    if not args.quiet:
        passed = len(results) - len(failed) - len(unchecked)
        print(f"\n{passed} of {len(results)} checks passed", end="")
        if unchecked:
            counts = "a failure with --strict" if args.strict else "STRICT=1 makes it a failure"
            print(f"; {len(unchecked)} not checked (marked {UNCHECKED}: {counts})", end="")
        print(f"; fix the {len(failed)} marked {BAD} above." if failed else ".")
    return 1 if failed or (args.strict and unchecked) else 0


if __name__ == "__main__":
    sys.exit(main())
