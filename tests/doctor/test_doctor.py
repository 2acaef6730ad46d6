"""make doctor: each check with its prerequisite present and missing.

Missing tools are simulated by a PATH that holds only stand-in scripts, so the
tests do not depend on what this machine has.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import doctor
from doctor import aws_access, github_variables, local_tools, terraform_rehearsal, workflows
from support.prerequisites import require

REPO = Path(__file__).resolve().parents[2]
CHECK = "\u2714"
CROSS = "\u2718"


def script(bin_dir: Path, name: str, body: str) -> Path:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH with make and sh only: every other tool is missing."""
    path = tmp_path / "bin"
    path.mkdir()
    for tool in ("make", "sh"):
        real = subprocess.run(["which", tool], capture_output=True, text=True, check=True)
        (path / tool).symlink_to(real.stdout.strip())
    return path


def docker_script(bin_dir: Path, version: str, *, buildx: bool, engine: bool = True) -> Path:
    return script(
        bin_dir,
        "docker",
        'case "$1" in\n'
        f"  buildx) {'echo github.com/docker/buildx v0.17.1 abc' if buildx else 'exit 1'} ;;\n"
        f"  version) echo {version} ;;\n"
        f"  info) {'echo 27.3.1 /nonexistent' if engine else 'echo down >&2; exit 1'} ;;\n"
        "  image) exit 1 ;;\n"
        "  build) echo BUILD-RAN; exit 0 ;;\n"
        "esac\n",
    )


def run_doctor(bin_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in {"HOME", "LANG", "LC_ALL"}}
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "doctor"), *args],
        env={**base, "PATH": str(bin_dir), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def line(output: str, name: str) -> str:
    found = [ln for ln in output.splitlines() if ln[2:].startswith(name + ":")]
    assert len(found) == 1, output
    index = output.splitlines().index(found[0])
    rest = output.splitlines()[index + 1 :]
    fix = rest[0] if rest and rest[0].startswith("    fix: ") else ""
    return found[0] + ("\n" + fix if fix else "")


def test_missing_terraform_is_a_cross_with_the_fix(bin_dir: Path) -> None:
    result = run_doctor(bin_dir, "--for", "rehearse")
    assert result.returncode == 1
    entry = line(result.stdout, "terraform")
    assert entry.startswith(f"{CROSS} terraform: not on PATH")
    assert "fix: install Terraform >= 1.10" in entry


def test_terraform_present_and_recent_is_a_check(bin_dir: Path) -> None:
    script(bin_dir, "terraform", 'echo \'{"terraform_version": "1.11.4"}\'\n')
    entry = line(run_doctor(bin_dir, "--for", "rehearse").stdout, "terraform")
    assert entry.startswith(f"{CHECK} terraform:")
    assert "1.11.4" in entry


def test_old_terraform_is_a_cross(bin_dir: Path) -> None:
    script(bin_dir, "terraform", 'echo \'{"terraform_version": "1.9.8"}\'\n')
    entry = line(run_doctor(bin_dir, "--for", "rehearse").stdout, "terraform")
    assert entry.startswith(f"{CROSS} terraform:")
    assert "too old" in entry


def test_haproxy_is_checked_for_the_tests(bin_dir: Path) -> None:
    missing = line(run_doctor(bin_dir, "--for", "test").stdout, "haproxy")
    assert missing.startswith(f"{CROSS} haproxy: not on PATH")
    assert "fix: Debian/Ubuntu: apt-get install haproxy" in missing
    script(bin_dir, "haproxy", "exit 0\n")
    assert line(run_doctor(bin_dir, "--for", "test").stdout, "haproxy").startswith(
        f"{CHECK} haproxy:"
    )
    image_only = run_doctor(bin_dir, "--for", "image", CA_BUNDLE="none").stdout
    assert not [ln for ln in image_only.splitlines() if ln[2:].startswith("haproxy:")]


def test_missing_docker(bin_dir: Path) -> None:
    result = run_doctor(bin_dir, "--for", "image", CA_BUNDLE="none")
    out = result.stdout
    assert result.returncode == 1
    assert line(out, "docker client").startswith(f"{CROSS} docker client: 'docker' not on PATH")
    assert "fix: install Docker" in line(out, "docker client")


def test_new_client_without_buildx_is_the_legacy_builder(bin_dir: Path) -> None:
    docker_script(bin_dir, "28.2.2", buildx=False)
    result = run_doctor(bin_dir, "--for", "image", CA_BUNDLE="none")
    entry = line(result.stdout, "BuildKit (buildx)")
    assert entry.startswith(f"{CROSS} BuildKit (buildx): client 28.2.2 has no buildx plugin")
    assert "rejects RUN --mount" in entry
    assert "fix: install the buildx plugin" in entry
    assert result.returncode == 1


def test_client_with_buildx(bin_dir: Path) -> None:
    docker_script(bin_dir, "28.2.2", buildx=True)
    result = run_doctor(bin_dir, "--for", "image", CA_BUNDLE="none")
    assert line(result.stdout, "BuildKit (buildx)").startswith(f"{CHECK} BuildKit (buildx): buildx")
    assert line(result.stdout, "docker engine").startswith(f"{CHECK} docker engine: 27.3.1")
    assert result.returncode == 0, result.stdout


def test_pre_23_client_builds_with_buildkit_itself(bin_dir: Path) -> None:
    docker_script(bin_dir, "20.10.24+dfsg1", buildx=False)
    entry = line(
        run_doctor(bin_dir, "--for", "image", CA_BUNDLE="none").stdout, "BuildKit (buildx)"
    )
    assert entry.startswith(
        f"{CHECK} BuildKit (buildx): client 20.10.24+dfsg1 builds with BuildKit"
    )


def test_engine_down(bin_dir: Path) -> None:
    docker_script(bin_dir, "28.2.2", buildx=True, engine=False)
    entry = line(run_doctor(bin_dir, "--for", "image", CA_BUNDLE="none").stdout, "docker engine")
    assert entry.startswith(f"{CROSS} docker engine: not reachable (down)")
    assert "fix: start the engine" in entry


@pytest.mark.parametrize(
    ("env", "mark", "text"),
    [
        ({"PIP_CERT": "/etc/proxy-ca.pem"}, CROSS, "make image CA_BUNDLE=/etc/proxy-ca.pem"),
        ({"PIP_CERT": "/etc/proxy-ca.pem", "CA_BUNDLE": "none"}, CHECK, "CA_BUNDLE=none"),
        ({"CA_BUNDLE": "/no/such/file.pem"}, CROSS, "is not a readable file"),
        ({}, CHECK, "none set"),
    ],
)
def test_ca_bundle(bin_dir: Path, env: dict[str, str], mark: str, text: str) -> None:
    docker_script(bin_dir, "28.2.2", buildx=True)
    entry = line(run_doctor(bin_dir, "--for", "image", **env).stdout, "CA bundle")
    assert entry.startswith(f"{mark} CA bundle:")
    assert text in entry


def test_old_python_is_a_cross() -> None:
    machine = doctor.Machine(env={"PATH": ""}, python=(3, 10, 12))
    result = local_tools.check_python(machine)
    assert not result.ok
    assert "3.10.12 is older than 3.11" in result.line()


def mirror_machine(tmp_path: Path, registry: bool = False, **env: str) -> doctor.Machine:
    """A machine whose every mirror place is under tmp_path, with the checkout's lock."""
    (tmp_path / "infra").mkdir(exist_ok=True)
    shutil.copy(REPO / "infra" / ".terraform.lock.hcl", tmp_path / "infra")
    return doctor.Machine(
        env={"PATH": "", "HOME": str(tmp_path / "home"), **env},
        repo=tmp_path,
        terraform_dirs=(tmp_path / "usr-share",),
        opt=tmp_path / "opt",
        registry=lambda env: registry,
    )


def plugin(mirror: Path, version: str) -> None:
    folder = mirror / "registry.terraform.io" / "hashicorp" / "aws" / version / "linux_amd64"
    folder.mkdir(parents=True)
    (folder / f"terraform-provider-aws_v{version}_x5").write_bytes(b"")


def test_missing_mirror(tmp_path: Path) -> None:
    # A version folder without a plugin binary is not a mirror.
    (tmp_path / "opt" / "tf" / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0").mkdir(
        parents=True
    )
    result = terraform_rehearsal.check_provider_mirror(mirror_machine(tmp_path))
    assert not result.ok
    assert result.detail.endswith("and registry.terraform.io is not reachable")
    assert "terraform providers mirror" in result.fix
    assert "set FINLEX_TF_PROVIDER_MIRROR to a mirror" in result.fix
    assert result.fix.endswith("or run where registry.terraform.io is reachable")


def test_no_mirror_but_the_registry_is_a_check(tmp_path: Path) -> None:
    result = terraform_rehearsal.check_provider_mirror(mirror_machine(tmp_path, registry=True))
    assert result.ok
    assert result.detail == (
        "no mirror; registry.terraform.io answers: make rehearse downloads 5.100.0 "
        f"under the lock into {tmp_path / '.cache' / 'terraform-providers'}"
    )


def test_the_registry_download_of_an_earlier_run_is_a_check(tmp_path: Path) -> None:
    plugin(tmp_path / ".cache" / "terraform-providers", "5.100.0")
    result = terraform_rehearsal.check_provider_mirror(mirror_machine(tmp_path))
    assert result.ok
    assert "5.100.0 from registry.terraform.io under the lock" in result.detail


def test_mirror_from_the_variable(tmp_path: Path) -> None:
    plugin(tmp_path / "m", "5.100.0")
    plugin(tmp_path / "m", "5.99.1")
    plugin(tmp_path / "opt" / "other", "6.0.0")  # not looked at: the variable names the mirror
    machine = mirror_machine(tmp_path, FINLEX_TF_PROVIDER_MIRROR=str(tmp_path / "m"))
    result = terraform_rehearsal.check_provider_mirror(machine)
    assert result.ok
    assert result.detail == f"{tmp_path / 'm'} (5.99.1, 5.100.0)"


def test_mirror_found_two_levels_under_opt(tmp_path: Path) -> None:
    plugin(tmp_path / "opt" / "image" / "tf-mirror", "5.100.0")
    result = terraform_rehearsal.check_provider_mirror(mirror_machine(tmp_path))
    assert result.ok
    assert result.detail == f"{tmp_path / 'opt' / 'image' / 'tf-mirror'} (5.100.0)"


def test_mirror_named_in_the_terraform_cli_config(tmp_path: Path) -> None:
    plugin(tmp_path / "cfg-mirror", "5.100.0")
    config = tmp_path / "cli.tfrc"
    config.write_text(
        "provider_installation {\n  filesystem_mirror {\n"
        f'    path    = "{tmp_path / "cfg-mirror"}"\n'
        '    include = ["registry.terraform.io/*/*"]\n  }\n}\n'
    )
    result = terraform_rehearsal.check_provider_mirror(
        mirror_machine(tmp_path, TF_CLI_CONFIG_FILE=str(config))
    )
    assert result.ok
    assert result.detail.startswith(str(tmp_path / "cfg-mirror"))


def test_moto_missing_from_the_venv(tmp_path: Path) -> None:
    result = terraform_rehearsal.check_moto(doctor.Machine(env={"PATH": ""}, repo=tmp_path))
    assert not result.ok
    assert "make venv" in result.fix


def test_aws_without_credentials_or_region(tmp_path: Path) -> None:
    require((REPO / ".venv" / "bin" / "python").exists(), "needs the dev venv's boto3 (make venv)")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    results = {r.name: r for r in aws_access.check_aws(doctor.Machine(env=env))}
    assert not results["AWS credentials"].ok
    assert "aws sso login" in results["AWS credentials"].fix
    assert not results["AWS region"].ok

    env |= {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_REGION": "eu-west-1",
    }
    results = {r.name: r for r in aws_access.check_aws(doctor.Machine(env=env))}
    assert results["AWS credentials"].ok
    assert results["AWS region"].ok
    assert results["AWS region"].detail == "eu-west-1"


def test_workflow_variables_required_and_optional() -> None:
    found = workflows.workflow_variables(REPO)
    assert found["AWS_REGION"] is True
    assert found["AWS_DEPLOY_ROLE_ARN"] is True
    assert found["FINLEX_CLUSTER"] is False  # `|| 'finlex'`
    assert found["SONAR_HOST_URL"] is False  # tested for emptiness first


def test_workflow_variables_in_comments_do_not_count(tmp_path: Path) -> None:
    # terraform.yml's comment "GitHub passes repository variables ... through vars.X"
    # made `make doctor FOR=deploy` ask for a variable named X.
    assert "X" not in workflows.workflow_variables(REPO)
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "w.yml").write_text(
        "# reads vars.IN_A_COMMENT\n"
        "env:\n"
        "  A: ${{ vars.READ }}  # vars.AFTER_A_VALUE\n"
        "  B: '${{ vars.OPTIONAL || 1 }}'\n"
    )
    assert workflows.workflow_variables(tmp_path) == {"READ": True, "OPTIONAL": False}


@pytest.mark.parametrize("workflow", ["ci.yml", "deploy.yml", "terraform.yml"])
def test_every_variable_the_workflow_reads_is_in_the_runbook(workflow: str) -> None:
    runbook = (REPO / "docs" / "runbook.md").read_text(encoding="utf-8")
    variables = workflows.workflow_variables(REPO, [workflow])
    assert variables
    missing = [name for name in variables if f"`{name}`" not in runbook]
    assert not missing, f"docs/runbook.md does not explain the repository variables {missing}"


def test_github_variables_through_gh(bin_dir: Path) -> None:
    script(bin_dir, "gh", 'echo \'[{"name": "AWS_REGION"}]\'\n')
    machine = doctor.Machine(env={"PATH": str(bin_dir)})
    results = {r.name: r for r in github_variables.check_github_variables(machine)}
    assert results["variable AWS_REGION"].ok
    assert not results["variable AWS_DEPLOY_ROLE_ARN"].ok
    assert "gh variable set AWS_DEPLOY_ROLE_ARN" in results["variable AWS_DEPLOY_ROLE_ARN"].fix
    assert results["variable FINLEX_CLUSTER"].ok  # optional


def test_github_variables_without_gh_name_what_to_set(bin_dir: Path) -> None:
    (result,) = github_variables.check_github_variables(doctor.Machine(env={"PATH": str(bin_dir)}))
    assert (result.ok, result.checked) == (True, False)  # a `?`: gh is optional
    assert "gh not on PATH" in result.detail
    assert "AWS_DEPLOY_ROLE_ARN" in result.detail


def test_unknown_goal_is_usage_exit_2(bin_dir: Path) -> None:
    result = run_doctor(bin_dir, "--for", "deploy,launch")
    assert result.returncode == 2
    assert "unknown goal launch" in result.stderr


def test_full_run_is_fast_and_one_line_per_item(bin_dir: Path) -> None:
    docker_script(bin_dir, "28.2.2", buildx=False)
    started = time.monotonic()
    result = run_doctor(bin_dir)
    elapsed = time.monotonic() - started
    assert elapsed < 15, f"make doctor took {elapsed:.1f} s"
    items = [ln for ln in result.stdout.splitlines() if ln[:1] in {CHECK, CROSS, "?"}]
    fixes = [ln for ln in result.stdout.splitlines() if ln.startswith("    fix: ")]
    assert len(fixes) == sum(ln.startswith(CROSS) for ln in items)
    assert f"of {len(items)} checks passed" in result.stdout
    # No gh and no GitHub token here: the variables, the secrets and the environments are
    # one line each, not checked, saying how to check by hand.
    variables, secrets, environments = [ln for ln in items if ln.startswith("?")]
    assert variables.startswith("? GitHub variables: not checked: gh not on PATH; set ")
    assert secrets.startswith("? GitHub secrets: not checked: gh not on PATH; set ")
    assert environments.startswith("? GitHub environments: not checked: no GitHub token")
    assert "3 not checked (marked ?: STRICT=1 makes it a failure)" in result.stdout


def test_before_a_target_a_failure_says_which_and_exits_2(bin_dir: Path) -> None:
    docker_script(bin_dir, "28.2.2", buildx=False)
    result = run_doctor(bin_dir, "--for", "image", "--quiet", "--before", "image")
    assert result.returncode == 2
    assert result.stderr == (
        "make image: fix the above first (README: Troubleshooting the image build)\n"
    )
    without = run_doctor(bin_dir, "--for", "image", "--quiet")
    assert (without.returncode, without.stderr) == (1, "")


def test_make_image_stops_before_building_without_buildkit(bin_dir: Path, tmp_path: Path) -> None:
    docker = docker_script(bin_dir, "28.2.2", buildx=False)
    python = sys.executable
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "image",
            f"DOCKER={docker}",
            f"PYTHON={python}",
            "CA_BUNDLE=none",
        ],
        cwd=REPO,
        env={"PATH": str(bin_dir) + os.pathsep + "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "BUILD-RAN" not in result.stdout
    assert "has no buildx plugin" in result.stdout
    assert "make image: fix the above first" in result.stderr


@pytest.mark.parametrize(("goals", "needed"), [({"run"}, 0.2), ({"run", "test"}, 1.5)])
def test_disk_need_depends_on_the_goal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, goals: set[str], needed: float
) -> None:
    monkeypatch.setattr(local_tools, "free_gb", lambda _path: 1.0)
    result = local_tools.check_repo_disk(doctor.Machine(env={"PATH": ""}, repo=tmp_path), goals)
    assert f"needs {needed} GB" in result.detail
    assert result.ok is (needed < 1.0)
    if not result.ok:
        assert result.fix == "free disk space under the checkout"


def test_minimum_versions_are_the_ones_the_code_declares() -> None:
    """The doctor's bounds are copies: tie them to their homes."""
    for tf in [REPO / "infra" / "providers.tf", REPO / "infra" / "bootstrap" / "providers.tf"]:
        declared = re.search(r'required_version\s*=\s*">=\s*([\d.]+)"', tf.read_text())
        assert declared, tf
        assert doctor.version_tuple(declared.group(1)) == doctor.MIN_TERRAFORM, tf
    release = (REPO / "release" / "pyproject.toml").read_text(encoding="utf-8")
    python = re.search(r'requires-python\s*=\s*">=([\d.]+)"', release)
    assert python
    assert doctor.version_tuple(python.group(1)) == doctor.MIN_PYTHON


def test_make_doctor_passes_the_make_variables(bin_dir: Path, tmp_path: Path) -> None:
    """`make doctor DOCKER=...` checks that client, as `make image DOCKER=...` would use it."""
    docker = docker_script(bin_dir, "28.2.2", buildx=False)
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "doctor",
            "FOR=image",
            f"DOCKER={docker}",
            "CA_BUNDLE=none",
            f"PYTHON={sys.executable}",
        ],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2  # make's code for a failed recipe (doctor exits 1)
    assert f"{CHECK} docker client: {docker} 28.2.2" in result.stdout
    assert f"{CROSS} BuildKit (buildx): client 28.2.2 has no buildx plugin" in result.stdout
    assert f"{CHECK} CA bundle: CA_BUNDLE=none" in result.stdout
