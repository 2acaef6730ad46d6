"""GitHub workflows: linters clean, actions pinned, least privilege, thin wiring.

The workflows cannot run here; these tests hold them to the rules that a
reviewer would otherwise check by eye, and run actionlint (with shellcheck on
the `run:` blocks) and yamllint exactly as a developer would.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import doctor
from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = REPO / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml")) + sorted(WORKFLOW_DIR.glob("*.yaml"))
EXPECTED = {"ci.yml", "deploy.yml", "terraform.yml"}

PINNED_USES = re.compile(
    r"^\s*-?\s*uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)(?P<rest>.*)$", re.MULTILINE
)
SHA = re.compile(r"^[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+#\s*v\d+\.\d+\.\d+\b")
MAKE_TARGET = re.compile(r"\bmake\s+(?:--?[\w-]+\s+)*(?P<target>[a-z][\w.-]*)")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a mapping"
    # YAML 1.1 reads the bare key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return load(path)["jobs"]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def run_blocks(path: Path) -> list[str]:
    return [s["run"] for job in jobs(path).values() for s in steps(job) if "run" in s]


def test_the_three_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= EXPECTED


def test_actionlint_is_clean_with_shellcheck() -> None:
    require_tool("shellcheck")
    actionlint = require_tool("actionlint")
    result = subprocess.run(
        [actionlint, "-no-color", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_really_runs_shellcheck_on_run_blocks(tmp_path: Path) -> None:
    """A clean result above means something only if the checker would object."""
    require_tool("shellcheck")
    actionlint = require_tool("actionlint")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\n"
        "permissions: {}\n"
        "jobs:\n"
        "  x:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - run: echo $UNQUOTED_VARIABLE\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [actionlint, "-no-color", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "shellcheck" in result.stdout, result.stdout
    assert "SC2086" in result.stdout, result.stdout


def test_yamllint_is_clean() -> None:
    yamllint = require_tool("yamllint")
    config = REPO / ".yamllint.yaml"
    assert config.is_file()
    result = subprocess.run(
        [yamllint, "--strict", "-c", str(config), ".github", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_config_still_catches_real_problems(tmp_path: Path) -> None:
    """The truthy rule is relaxed for keys (`on:`) only, not for values."""
    yamllint = require_tool("yamllint")
    sample = tmp_path / "sample.yml"
    sample.write_text("on: push\nenabled: yes\n", encoding="utf-8")
    result = subprocess.run(
        [yamllint, "--strict", "-f", "parsable", "-c", str(REPO / ".yamllint.yaml"), str(sample)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "(truthy)" in result.stdout, result.stdout
    assert "sample.yml:2:" in result.stdout, result.stdout
    assert "sample.yml:1:" not in result.stdout, result.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_sha_with_its_version(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    uses_lines = [line for line in text.splitlines() if re.match(r"^\s*-?\s*uses:", line)]
    assert uses_lines, f"{path.name} uses no action at all"
    for line in uses_lines:
        target = line.split("uses:", 1)[1].strip()
        if target.startswith("./"):
            continue  # a workflow of this repository, pinned by the checkout itself
        match = PINNED_USES.match(line)
        assert match, f"{path.name}: cannot read `{line.strip()}`"
        assert SHA.match(match["ref"]), f"{path.name}: not pinned to a commit SHA: {line.strip()}"
        assert VERSION_COMMENT.match(match["rest"]), (
            f"{path.name}: no `# vX.Y.Z` comment after the SHA: {line.strip()}"
        )


def test_one_action_version_has_one_sha_everywhere() -> None:
    seen: dict[tuple[str, str], set[str]] = {}
    for path in WORKFLOWS:
        for m in PINNED_USES.finditer(path.read_text(encoding="utf-8")):
            if SHA.match(m["ref"]):
                version = m["rest"].strip().lstrip("#").strip().split()[0]
                seen.setdefault((m["action"].lower(), version), set()).add(m["ref"])
    assert seen
    conflicting = {k: v for k, v in seen.items() if len(v) > 1}
    assert not conflicting, conflicting


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_top_level_permissions_are_read_only(path: Path) -> None:
    data = load(path)
    assert "permissions" in data, f"{path.name}: no top-level permissions"
    perms = data["permissions"]
    assert isinstance(perms, dict), f"{path.name}: permissions must be a mapping, not {perms!r}"
    assert all(value in {"read", "none"} for value in perms.values()), perms


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_has_a_concurrency_group(path: Path) -> None:
    data = load(path)
    concurrency = data.get("concurrency")
    assert isinstance(concurrency, dict), f"{path.name}: no top-level concurrency mapping"
    assert concurrency.get("group"), f"{path.name}: concurrency without a group"


def assumes_aws_role(job: dict[str, Any]) -> bool:
    return any(
        "aws-actions/configure-aws-credentials" in str(s.get("uses", "")) for s in steps(job)
    )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_id_token_write_only_on_jobs_that_assume_a_role(path: Path) -> None:
    data = load(path)
    assert "id-token" not in data["permissions"], f"{path.name}: id-token at workflow level"
    for name, job in data["jobs"].items():
        perms = job.get("permissions", {})
        wants_token = isinstance(perms, dict) and perms.get("id-token") == "write"
        assert wants_token == assumes_aws_role(job), (
            f"{path.name}:{name}: id-token: write must go with (and only with) an OIDC role"
        )
        if wants_token:
            extra = {k: v for k, v in perms.items() if k not in {"id-token", "contents"}}
            assert not extra, f"{path.name}:{name}: more than id-token + contents: {extra}"
            assert perms.get("contents") in {"read", None}, perms


def test_no_static_aws_keys_anywhere() -> None:
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8").lower()
        for needle in ("aws-access-key-id", "aws-secret-access-key", "aws_secret_access_key"):
            assert needle not in text, f"{path.name} mentions {needle}"
        for job in jobs(path).values():
            for step in steps(job):
                if "configure-aws-credentials" in str(step.get("uses", "")):
                    assert step.get("with", {}).get("role-to-assume"), step


def test_deploy_job_runs_in_an_environment_after_ci() -> None:
    deploy_jobs = jobs(WORKFLOW_DIR / "deploy.yml")
    role_jobs = {name: job for name, job in deploy_jobs.items() if assumes_aws_role(job)}
    assert role_jobs, "deploy.yml assumes no AWS role"
    for name, job in role_jobs.items():
        assert job.get("environment"), f"deploy.yml:{name}: no environment (approval gate)"
        assert "ci" in job.get("needs", []) or job.get("needs") == "ci", f"{name} does not need ci"
    assert deploy_jobs["ci"]["uses"] == "./.github/workflows/ci.yml"
    assert "workflow_call" in load(WORKFLOW_DIR / "ci.yml")["on"]


def test_deploy_concurrency_never_cancels_a_rollout() -> None:
    concurrency = load(WORKFLOW_DIR / "deploy.yml")["concurrency"]
    assert concurrency.get("cancel-in-progress") is False
    assert "${{" not in concurrency["group"], "one fixed group for every deploy"


def make_targets(job: dict[str, Any]) -> list[str]:
    return [m["target"] for s in steps(job) if "run" in s for m in MAKE_TARGET.finditer(s["run"])]


def test_deploy_pushes_the_tested_image_then_gates_deploys_verifies() -> None:
    job = jobs(WORKFLOW_DIR / "deploy.yml")["release"]
    targets = make_targets(job)
    # No `make image` here: the image is the one CI built and tested, checked by its ID.
    # First the release toolchain alone (finlex-release, requirements/release.lock).
    # verify-record runs verify's checks, then writes the verification record.
    assert targets == [
        "release-venv",
        "image-load",
        "push",
        "scan-gate",
        "deploy",
        "verify-record",
    ]
    credentials_at = next(
        i for i, s in enumerate(steps(job)) if "configure-aws-credentials" in str(s.get("uses"))
    )
    makes = [i for i, s in enumerate(steps(job)) if "make" in str(s.get("run", ""))]
    assert makes[0] < credentials_at < makes[1]  # installed before the job holds credentials


def test_deploy_receives_the_image_ci_tested_by_id() -> None:
    deploy = jobs(WORKFLOW_DIR / "deploy.yml")
    assert deploy["ci"]["with"]["release-tag"] == "${{ github.sha }}"
    job = deploy["release"]
    download = [s for s in steps(job) if "actions/download-artifact" in str(s.get("uses", ""))]
    assert len(download) == 1
    assert download[0]["with"]["name"] == "finlex-image"
    load = next(s for s in steps(job) if "make image-load" in str(s.get("run", "")))
    assert 'IMAGE_ID="$TESTED_IMAGE_ID"' in load["run"]
    assert load["env"]["TESTED_IMAGE_ID"] == "${{ needs.ci.outputs.image-id }}"
    push = next(s for s in steps(job) if "make push" in str(s.get("run", "")))
    assert "KEEP_EXISTING=1" in push["run"], "a re-run must deploy the tag ECR holds"
    # The push sends only the image CI tested, and records it as tested.
    assert 'IMAGE_ID="$TESTED_IMAGE_ID"' in push["run"]
    assert push["env"]["TESTED_IMAGE_ID"] == "${{ needs.ci.outputs.image-id }}"

    ci = _load_ci()
    assert ci["on"]["workflow_call"]["outputs"]["image-id"]["value"] == (
        "${{ jobs.test.outputs.image-id }}"
    )
    test_job = ci["jobs"]["test"]
    assert test_job["outputs"]["image-id"] == "${{ steps.save.outputs.image-id }}"
    save = next(s for s in steps(test_job) if s.get("id") == "save")
    assert "make --silent image-save" in save["run"]
    assert 'TAG="$FINLEX_IMAGE_TAG"' in save["run"]
    assert '>> "$GITHUB_OUTPUT"' in save["run"]
    upload = next(
        s
        for s in steps(test_job)
        if "upload-artifact" in str(s.get("uses", "")) and s["with"]["name"] == "finlex-image"
    )
    assert upload["with"]["path"] == "finlex-image.tar"
    assert test_job["env"]["FINLEX_IMAGE_TAG"] == "${{ inputs.release-tag || 'ci' }}"


SKIP_STAGING = "vars.FINLEX_SKIP_STAGING == 'true'"


def test_deploy_goes_to_staging_then_production_promotes_that_digest() -> None:
    """Issue 18: one digest, verified in staging, promoted to production behind its
    reviewers; FINLEX_SKIP_STAGING keeps the one-environment path (production first)."""
    deploy = jobs(WORKFLOW_DIR / "deploy.yml")
    # `release` deploys to the first environment, `deploy` promotes to production.
    first, production = deploy["release"], deploy["deploy"]
    first_environment = f"${{{{ {SKIP_STAGING} && 'production' || 'staging' }}}}"
    assert first["environment"] == first_environment
    assert first["env"]["DEPLOY_ENVIRONMENT"] == first_environment  # whose record it writes
    record = next(s for s in steps(first) if "verify-record" in str(s.get("run", "")))
    assert record["id"] == "record"
    assert record["run"].startswith("make --silent verify-record ")
    assert "PASSED=probe" in record["run"]
    assert record["run"].endswith('>> "$GITHUB_OUTPUT"')
    assert first["outputs"]["digest"] == "${{ steps.record.outputs.digest }}"

    assert production["if"] == "vars.FINLEX_SKIP_STAGING != 'true'"
    assert production["environment"] == "production"
    assert "release" in production["needs"]
    assert production["env"]["DIGEST"] == "${{ needs.release.outputs.digest }}"
    assert production["env"]["DEPLOY_ENVIRONMENT"] == "production"
    assert production["env"]["PROMOTE_FROM"] == "staging"
    # Nothing is built, loaded or pushed for production: the digest staging verified.
    assert make_targets(production) == ["release-venv", "promote", "verify-record"]
    uses = [str(s.get("uses", "")) for s in steps(production)]
    assert not any("download-artifact" in use for use in uses)
    promote = next(s for s in steps(production) if "make promote" in str(s.get("run", "")))
    assert 'DIGEST="$DIGEST"' in promote["run"]
    assert 'PROBE_URL="$URL"' in promote["run"]


def _load_ci() -> dict[str, Any]:
    return load(WORKFLOW_DIR / "ci.yml")


def test_ci_is_the_readme_entry_point_plus_only_what_needs_github() -> None:
    """One definition of CI: ci.yml runs .ci/run, which runs `make test`; no second step list."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "`.ci/run`" in readme or "[`.ci/run`]" in readme
    test_job = _load_ci()["jobs"]["test"]
    runs = [s["run"] for s in steps(test_job) if "run" in s]
    assert runs[0] == "bash .ci/run", runs
    for block in runs[1:]:
        # GitHub-only: the live dependency scan, hand the image to the deploy job, or
        # announce a skipped SonarQube scan.
        assert re.fullmatch(r'make scan|make --silent image-save .*|echo "::notice .*', block), (
            block
        )
    every_run = " ".join(run_blocks(WORKFLOW_DIR / "ci.yml"))
    for duplicate in ("make test", "make lint", "make checkov", "make tf-check", "docker build"):
        assert duplicate not in every_run, f"ci.yml repeats {duplicate!r}; .ci/run does it"
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert script.rstrip().endswith("make test")
    assert script.count("make --no-print-directory image ") == 1, "the image is built once"


def test_ci_runs_the_container_tests_for_real_on_the_image_it_built() -> None:
    test_job = _load_ci()["jobs"]["test"]
    assert str(test_job.get("env", {}).get("CI")).lower() == "true", "prereqs must fail, not skip"
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    pull = script.index('pull -q "$pinned"')
    build = script.index("make --no-print-directory image ")
    handed = script.index('export FINLEX_TEST_IMAGE="finlex:${FINLEX_IMAGE_TAG:-ci}"')
    make_test = script.rindex("make test")
    assert pull < build < handed < make_test
    fixture = (REPO / "tests" / "container" / "test_image.py").read_text(encoding="utf-8")
    assert 'os.environ.get("FINLEX_TEST_IMAGE"' in fixture


def test_ci_sonarqube_step_is_conditional_and_announces_a_skip() -> None:
    test_job = _load_ci()["jobs"]["test"]
    scan = [s for s in steps(test_job) if "sonarqube-scan-action" in str(s.get("uses", ""))]
    assert len(scan) == 1
    assert "env.SONAR_CONFIGURED == 'true'" in scan[0]["if"]
    # the secret goes to the scan step only (an expression, not a credential)
    assert scan[0]["env"]["SONAR_TOKEN"] == "${{ secrets.SONAR_TOKEN }}"  # noqa: S105
    assert "sonar.qualitygate.wait=true" in scan[0]["with"]["args"]
    notice = [s for s in steps(test_job) if "::notice" in str(s.get("run", ""))]
    assert len(notice) == 1
    assert "env.SONAR_CONFIGURED != 'true'" in notice[0]["if"]
    assert "secrets.SONAR_TOKEN" in test_job["env"]["SONAR_CONFIGURED"]
    assert "vars.SONAR_HOST_URL" in test_job["env"]["SONAR_CONFIGURED"]


def test_terraform_plan_on_pull_requests_apply_on_main() -> None:
    tf = jobs(WORKFLOW_DIR / "terraform.yml")
    # Pull requests and main both plan (main's plan is the one applied); the schedule is drift's.
    assert tf["plan"]["if"] == f"github.event_name != 'schedule' && {SKIP_STAGING}"
    for env in ("staging", "production"):
        assert tf[f"plan-{env}"]["if"] == (
            "github.event_name != 'schedule' && vars.FINLEX_SKIP_STAGING != 'true'"
        )
        assert "refs/heads/main" in tf[f"apply-{env}"]["if"]
    assert "refs/heads/main" in tf["apply"]["if"]
    plan_runs = " ".join(s.get("run", "") for s in steps(tf["plan"]))
    assert "make tf-plan" in plan_runs
    assert "GITHUB_STEP_SUMMARY" in plan_runs
    assert "make tf-apply" in " ".join(s.get("run", "") for s in steps(tf["apply"]))
    roles = {
        name: next(
            s["with"]["role-to-assume"]
            for s in steps(job)
            if "configure-aws-credentials" in str(s.get("uses"))
        )
        for name, job in tf.items()
    }
    for suffix in ("", "-staging", "-production"):
        assert roles[f"plan{suffix}"] != roles[f"apply{suffix}"], "plan and apply: separate roles"


def makefile_targets() -> set[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^([a-z][\w.-]*)\s*:(?!=)", text, re.MULTILINE)}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_stay_thin_every_make_target_exists(path: Path) -> None:
    defined = makefile_targets()
    for block in run_blocks(path):
        for m in MAKE_TARGET.finditer(block):
            assert m["target"] in defined, (
                f"{path.name}: `make {m['target']}` is not in the Makefile"
            )
        lines = [ln for ln in block.splitlines() if ln.strip()]
        assert len(lines) <= 3, f"{path.name}: a run block this long belongs in the Makefile"


# --- Terraform in CI ---------------------------------------------------------------


def test_ci_gives_dot_ci_run_terraform_pinned_unwrapped_and_recent_enough() -> None:
    test_job = _load_ci()["jobs"]["test"]
    names = [str(s.get("uses", "")) or str(s.get("run", "")) for s in steps(test_job)]
    setup = [i for i, name in enumerate(names) if name.startswith("hashicorp/setup-terraform@")]
    assert len(setup) == 1, names
    assert setup[0] < names.index("bash .ci/run"), "Terraform first, then .ci/run"
    step = steps(test_job)[setup[0]]
    assert SHA.match(step["uses"].split("@", 1)[1]), step["uses"]
    # The wrapper would turn Terraform's own output into the action's; the tests read the former.
    assert step["with"]["terraform_wrapper"] is False
    version = str(step["with"]["terraform_version"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"an exact version, not {version!r}"
    assert doctor.version_tuple(version)[:2] >= doctor.MIN_TERRAFORM


def test_workflows_run_terraform_only_through_make() -> None:
    for path in WORKFLOWS:
        for block in run_blocks(path):
            assert not re.search(r"(^|[\s;&|])terraform\s", block), f"{path.name}: {block}"


def test_every_init_the_workflows_reach_takes_the_lock_read_only() -> None:
    make = require_tool("make")
    targets = sorted(
        {
            m["target"]
            for path in WORKFLOWS
            for b in run_blocks(path)
            for m in MAKE_TARGET.finditer(b)
        }
    )
    inits = []
    for target in targets:
        dry = subprocess.run(
            [make, "--no-print-directory", "-n", target],
            cwd=REPO,
            env={**os.environ, "TF_BACKEND_HCL": "x", "TF_TFVARS": "x", "IMAGE_ID": "x"},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        inits += [line for line in dry.stdout.splitlines() if re.search(r"\binit\b.*-input", line)]
    assert inits, f"no terraform init behind {targets}"
    assert all("-lockfile=readonly" in line for line in inits), inits
