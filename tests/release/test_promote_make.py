"""make verify-record and make promote: what the recipes pass to the tool, and
values that would be shell code reach it as one word and are refused there."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.makedb import MAKE_ERROR
from support.release_fakes import CONFIG_DIGEST, fake_docker, run_make

TAG = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "a" * 64


def make(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The real Makefile, no AWS credentials, a docker stand-in."""
    return run_make(*argv, docker=fake_docker(tmp_path / "docker", CONFIG_DIGEST), timeout=60)


def dry_run(tmp_path: Path, goal: str, *variables: str) -> str:
    result = make(tmp_path, "-n", goal, *variables)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_promote_passes_the_digest_and_both_environments(tmp_path: Path) -> None:
    recipe = dry_run(tmp_path, "promote", f"DIGEST={DIGEST}", "DEPLOY_ENVIRONMENT=production")
    assert "finlex-release promote" in recipe
    assert "--from 'staging' --to 'production'" in recipe
    assert f"--image 'finlex@{DIGEST}'" in recipe
    assert "finlex-release probe" not in recipe
    assert "makeargs.py tag" not in recipe  # no TAG needed: release-tag-check skipped


def test_make_promote_of_a_tag_checks_the_tag_and_runs_under_the_probe(tmp_path: Path) -> None:
    recipe = dry_run(tmp_path, "promote", f"TAG={TAG}", "PROBE_URL=https://finlex.example.com")
    assert f"--image 'finlex:{TAG}'" in recipe
    assert "finlex-release probe --url 'https://finlex.example.com' --" in recipe
    assert f"tools/makeargs.py tag --release -- '{TAG}'" in recipe  # release-tag-check first


def test_make_verify_record_passes_commit_environment_and_reported_checks(tmp_path: Path) -> None:
    recipe = dry_run(
        tmp_path,
        "verify-record",
        f"TAG={TAG}",
        "DEPLOY_ENVIRONMENT=staging",
        "URL=https://staging.example.com",
        "REVISION=abc123",
        "PASSED=probe scan-gate",
    )
    assert "finlex-release verify-record" in recipe
    assert "--environment 'staging'" in recipe
    assert f"--image 'finlex:{TAG}'" in recipe
    assert "--commit 'abc123'" in recipe
    assert "--passed 'probe scan-gate'" in recipe


@pytest.mark.parametrize(
    ("goal", "variable", "says"),
    [
        ("promote", "DIGEST", "digest must look like sha256"),
        ("promote", "DEPLOY_ENVIRONMENT", "argument --to: environment"),
        ("promote", "PROMOTE_FROM", "argument --from: environment"),
        ("verify-record", "DEPLOY_ENVIRONMENT", "argument --environment: environment"),
        ("verify-record", "PASSED", "is not a check name"),
        ("verify-record", "DIGEST", "digest must look like sha256"),
    ],
)
def test_a_value_that_is_shell_code_is_one_refused_word(
    tmp_path: Path, goal: str, variable: str, says: str
) -> None:
    marker = tmp_path / "injected"
    settings = {"TAG": TAG, "URL": "https://finlex.example.com", "DIGEST": DIGEST}
    settings[variable] = f"x';touch {marker};'"
    result = make(tmp_path, goal, *(f"{k}={v}" for k, v in settings.items()))
    assert not marker.exists(), f"{variable} ran as a shell command"
    assert result.returncode == 2, result.stdout + result.stderr
    # make's own "*** Error 2" line: make: under a shell, make[N]: under a parent make (make test).
    lines = [line for line in result.stderr.splitlines() if not MAKE_ERROR.match(line)]
    assert len(lines) == 1, result.stderr
    assert f"finlex-release {goal}: " in lines[0]
    assert says in lines[0]


@pytest.mark.parametrize(
    ("goal", "variables"),
    [
        ("deploy", [f"TAG={TAG}"]),
        ("verify-record", [f"TAG={TAG}", "URL=https://staging.example.com"]),
        ("promote", [f"DIGEST={DIGEST}"]),
    ],
)
def test_the_container_is_the_services_name_as_infra_names_it(
    tmp_path: Path, goal: str, variables: list[str]
) -> None:
    """Staging's container is finlex-staging (infra/: var.name); the tool's default, finlex,
    would fail deploy.yml's staging job with "no container 'finlex' in the task definition"."""
    staging = dry_run(
        tmp_path, goal, *variables, "CLUSTER=finlex-staging", "SERVICE=finlex-staging"
    )
    assert "--container-name 'finlex-staging'" in staging
    production = dry_run(tmp_path, goal, *variables)
    assert "--container-name 'finlex'" in production
    named = dry_run(tmp_path, goal, *variables, "SERVICE=web", "TASK_CONTAINER=app")
    assert "--container-name 'app'" in named
