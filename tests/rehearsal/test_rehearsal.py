"""`make rehearse` inside the test command: infra/ applied for real on an emulated AWS.

One full rehearsal (every example, autoscaling on and off, the bootstrap
applied) and three rehearsals of deliberately broken copies of infra/, each of
which must fail at the step that catches its defect, naming the resource.

Without the Terraform CLI, or without both a provider mirror and the registry,
it skips saying why; under CI=true it fails instead (tests/tf_offline.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prereq import docker_client, require
from tf_offline import require_terraform_and_mirror

pytestmark = [pytest.mark.slow, pytest.mark.rehearsal]

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TEST_IMAGE = "finlex-test:rehearsal"


def _machine_has_terraform() -> None:
    require_terraform_and_mirror("the rehearsal")


@pytest.fixture(scope="module")
def image() -> str:
    """The image the test command built (FINLEX_TEST_IMAGE), else a build of our own."""
    _machine_has_terraform()
    docker = docker_client()
    require(shutil.which(docker) is not None, f"{docker} (a Docker client) is not on PATH")
    prebuilt = os.environ.get("FINLEX_TEST_IMAGE")
    if prebuilt:
        return prebuilt
    engine = subprocess.run([docker, "info"], capture_output=True, check=False)
    require(engine.returncode == 0, "no Docker engine answers `docker info`")
    command = ["make", "--no-print-directory", "image", f"DOCKER={docker}"]
    command += ["IMAGE=" + TEST_IMAGE.split(":")[0], "TAG=" + TEST_IMAGE.split(":")[1]]
    if HOST_CA_BUNDLE.exists():
        command.append(f"CA_BUNDLE={HOST_CA_BUNDLE}")
    build = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    return TEST_IMAGE


def rehearse(image: str, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "rehearse", "--image", image, "--docker", docker_client()]
    command += ["--workdir", str(workdir), *args]
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    print(result.stdout[-6000:], result.stderr[-3000:])
    return result


def summary(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.split("rehearsal summary", 1)[-1]


@pytest.fixture(scope="module")
def full(image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    result = rehearse(image, tmp_path_factory.mktemp("rehearsal"))
    assert result.returncode == 0, summary(result)
    return summary(result)


# --- the full rehearsal ----------------------------------------------------------


def test_every_step_passed(full: str) -> None:
    assert "✘" not in full
    assert "rehearsal passed" in full


@pytest.mark.parametrize("example", sorted(p.stem for p in (INFRA / "examples").glob("*.tfvars")))
@pytest.mark.parametrize("autoscaling", ["true", "false"])
def test_root_applied_from_each_example(full: str, example: str, autoscaling: str) -> None:
    assert re.search(rf"✔ root: apply {example}, autoscaling {autoscaling}\b", full)


def test_autoscaling_flips_keep_the_service(full: str) -> None:
    """Every apply after the first flips autoscaling from its saved plan, no hand step."""
    applies = re.findall(r"✔ root: apply \S+, autoscaling (\w+) .*?\s(service: [^;]+);", full)
    flags = [flag for flag, _ in applies]
    assert len(flags) >= 4, applies  # on, off, on, off over the two examples
    assert flags == ["true", "false"] * (len(flags) // 2), applies
    assert applies[0][1] == "service: created"
    for _flag, service in applies[1:]:
        assert re.fullmatch(r"service: 0 replaced \((no-op|update)\)", service), applies
    assert "state mv" not in full


def test_bootstrap_applied_and_root_on_the_s3_backend(full: str) -> None:
    assert re.search(r"✔ bootstrap: apply .*\d+ created", full)
    assert re.search(r"✔ root: init on the s3 backend .*s3://\S+, use_lockfile", full)


def test_release_tool_deployed_and_rolled_back_under_the_deploy_role(full: str) -> None:
    assert re.search(r"✔ release: under the deploy role .*rolled back to finlex:\d+", full)


def test_every_terraform_step_after_the_first_apply_runs_under_a_pipeline_role(full: str) -> None:
    applies = re.findall(r"✔ root: apply \S+, autoscaling \w+ \(([^)]+)\)", full)
    assert applies[0] == "administrator", applies
    assert set(applies[1:]) == {"plan role, then apply role"}, applies
    assert re.search(r"✔ roles: sessions from the root's outputs .*plan: arn:aws:iam::", full)
    assert re.search(
        r"✔ destroy .*\d+ destroyed under the apply role, then \d+ \(module.pipeline_roles\) "
        r"by the administrator",
        full,
    )


@pytest.mark.parametrize(
    ("role", "action", "arn"),
    [
        ("plan", "s3:GetObject", r"arn:aws:s3:::finlex-tfstate-\S+/finlex/terraform\.tfstate"),
        ("apply", "cloudwatch:PutMetricAlarm", r"arn:aws:cloudwatch:\S+:alarm:finlex-cpu-high"),
        ("deploy", "ecs:DescribeTaskDefinition", r"\*"),
    ],
)
def test_a_broken_copy_of_each_role_fails_naming_the_action_and_arn(
    full: str, role: str, action: str, arn: str
) -> None:
    assert re.search(
        rf"✔ broken copy: {role} role without \S+ .*failed as it must: {action} on {arn} denied",
        full,
    )


@pytest.mark.parametrize("role", ["plan", "apply", "deploy"])
def test_each_role_made_calls_none_denied_and_every_grant_called_or_listed(
    full: str, role: str
) -> None:
    line = re.search(rf"^\s+{role} role: (\d+) calls, (\d+) distinct actions, (\d+) denied.*$",
                     full, re.MULTILINE)  # fmt: skip
    assert line, full
    calls, actions, denied = (int(group) for group in line.groups())
    assert calls > 0, line.group(0)
    assert actions > 0, line.group(0)
    assert denied == 0, line.group(0)
    assert "not listed" not in line.group(0)
    assert re.search(r"✔ roles: 0 denied, every grant called or listed .*every grant", full)


def test_a_secret_is_resolved_into_the_task_definition_and_read_as_ecs_reads_it(
    full: str,
) -> None:
    assert re.search(
        r"✔ secret: resolved into the task definition .*FINLEX_API_KEY <- "
        r"arn:aws:ssm:us-east-1:\d{12}:parameter/finlex/api-key in finlex:\d+, finlex:\d+; "
        r"the execution role reads it \(gate: ReadSecretParameters; "
        r"boundary: ReadTheServiceSecrets\), not /finlex/\S+; "
        r"the value in no state, plan or log \(\d+ searched\)",
        full,
    ), full


def test_plan_after_deploy_is_empty(full: str) -> None:
    assert re.search(r"✔ plan after deploy is empty .*exit 0", full)


def test_replacements_plan_in_the_order_the_code_claims(full: str) -> None:
    # The resources that claim create_before_destroy plan it; the service, whose
    # name ECS keeps unique, plans delete-then-create and does not claim it.
    assert "aws_lb_target_group.this: create then delete" in full
    assert "aws_ecs_task_definition.this: create then delete" in full
    assert "aws_security_group.tasks: create then delete" in full
    assert "module.ecs_cluster.aws_ecs_service.this: delete then create" in full
    assert re.search(r"✔ create_before_destroy: apply .*replaced", full)


def test_only_the_reviewed_plan_file_applies_and_drift_is_reported(full: str) -> None:
    # The four proofs of what terraform.yml's apply and drift jobs run (tools/tfplan.py).
    for pattern in (
        r"✔ saved plan: a changed file is refused .*exit 3, nothing applied: "
        r"tfplan: reviewed\.tfplan has changed since it was planned",
        r"✔ saved plan: the reviewed file applies .*tfplan: applied reviewed\.tfplan "
        r".*log retention 60 days, as reviewed",
        r"✔ saved plan: a stale plan is refused .*exit 4, nothing applied: "
        r"tfplan: other\.tfplan is stale",
        r"✔ drift: an out-of-band change is reported .*exit 0, then .* exit 1, "
        r"tfplan: drift: .*module\.ecs_cluster\.aws_cloudwatch_log_group\.this",
    ):
        assert re.search(pattern, full), pattern


def test_staging_applied_beside_production_on_its_own_state_object(full: str) -> None:
    for pattern in (
        r"✔ root: init on the s3 backend .*s3://\S+/finlex/terraform\.tfstate",
        r"✔ staging: init on its own state object .*s3://\S+/finlex-staging/terraform\.tfstate",
        r"✔ staging: apply quickstart-default-vpc \(administrator\) .*\d+ created.*"
        r"cluster finlex-staging, shared repository finlex",
        r"✔ staging: roles from its outputs .*plan: arn:aws:iam::\d+:role/finlex-staging-github-",
        r"✔ staging: plan under its plan role is empty .*exit 0",
        r"✔ staging: destroy .*\d+ destroyed under staging's apply role, then \d+ "
        r"\(module\.pipeline_roles\) by the administrator",
    ):
        assert re.search(pattern, full), pattern


def test_one_digest_goes_through_staging_into_production_and_the_refusals_are_lines(
    full: str,
) -> None:
    """deploy.yml's two jobs, each under its environment's deploy role, and what promote refuses."""
    record = r"/finlex/{}/verified/[0-9a-f]{{64}}"
    for pattern in (
        r"✔ promote: staging deploys the pushed digest .*finlex:rehearsal-1 = sha256:[0-9a-f]{64}: "
        r"finlex-staging/finlex-staging runs it by digest on finlex-staging:\d+; status exit 0",
        r"✔ promote: staging verifies it and writes its record .*"
        + record.format("staging")
        + r" \(staging's deploy role\): commit \w+",
        r"✔ promote: production promotes it from staging .*promoted sha256:[0-9a-f]{64} from "
        r"staging to production; finlex/finlex runs it by digest on finlex:\d+",
        r"✔ promote: production verifies it, verified lists it .*"
        + record.format("production")
        + r"; verified --environment production: \S+ sha256:",
        r"✔ promote: a digest staging never verified is refused .*exit 1, production unchanged on "
        r"finlex:\d+: finlex-release promote: \S+ has no staging verification record",
        r"✔ promote: a record of another digest is refused .*exit 1, production unchanged on "
        r"finlex:\d+: finlex-release promote: the staging record \S+ is of digest sha256:",
        r"✔ broken copy: production's deploy role without ReadVerificationRecordsToPromote .*"
        r"failed as it must: ssm:GetParameter on arn:aws:ssm:\S+:parameter"
        + record.format("staging")
        + " denied",
    ):
        assert re.search(pattern, full), pattern


# Each cross-environment call the rehearsal makes, as its line names it.
CROSS_DENIALS = [
    ("staging's plan role", "read production's state", "s3:GetObject",
     r"arn:aws:s3:::finlex-tfstate-\S+/finlex/terraform\.tfstate"),
    ("staging's plan role", "describe production's service", "ecs:DescribeServices",
     r"arn:aws:ecs:\S+:service/finlex/finlex"),
    ("staging's apply role", "write production's state", "s3:PutObject",
     r"arn:aws:s3:::\S+/finlex/terraform\.tfstate"),
    ("staging's apply role", "scale production's service", "ecs:UpdateService",
     r"arn:aws:ecs:\S+:service/finlex/finlex"),
    ("staging's apply role", "change production's target group",
     "elasticloadbalancing:ModifyTargetGroup",
     r"arn:aws:elasticloadbalancing:\S+:targetgroup/finle\S+"),
    ("staging's apply role", r"change production's record api\.example\.com",
     "route53:ChangeResourceRecordSets", r"arn:aws:route53:::hostedzone/\S+"),
    ("staging's apply role", "change production's alarm", "cloudwatch:PutMetricAlarm",
     r"arn:aws:cloudwatch:\S+:alarm:finlex-cpu-high"),
    ("staging's apply role", "change production's log group", "logs:PutRetentionPolicy",
     r"arn:aws:logs:\S+:log-group:/ecs/finlex"),
    ("staging's apply role", "change production's deploy role", "iam:PutRolePolicy",
     r"arn:aws:iam::\d+:role/finlex-github-deploy"),
    ("staging's apply role", "delete the shared image repository", "ecr:DeleteRepository",
     r"arn:aws:ecr:\S+:repository/finlex"),
    ("staging's deploy role", "describe production's service", "ecs:DescribeServices",
     r"arn:aws:ecs:\S+:service/finlex/finlex"),
    ("staging's deploy role", "deploy to production's service", "ecs:UpdateService",
     r"arn:aws:ecs:\S+:service/finlex/finlex"),
    ("staging's deploy role", "pass production's task role", "iam:PassRole",
     r"arn:aws:iam::\d+:role/finlex-(task|execution)-\S+"),
    ("staging's deploy role", "write production's verification record", "ssm:PutParameter",
     r"arn:aws:ssm:\S+:parameter/finlex/production/verified/0{64}"),
    ("production's deploy role", "push an image", "ecr:PutImage",
     r"arn:aws:ecr:\S+:repository/finlex"),
]  # fmt: skip


@pytest.mark.parametrize(("who", "what", "action", "arn"), CROSS_DENIALS)
def test_stagings_roles_are_denied_on_productions_resources_each_as_a_line(
    full: str, who: str, what: str, action: str, arn: str
) -> None:
    assert re.search(r"✔ environments: staging's roles on production's, denied +[\d.]+ s  "
                     rf"{len(CROSS_DENIALS)} calls", full)  # fmt: skip
    assert re.search(rf"^\s+{who}: {what}: {action} on {arn} denied$", full, re.MULTILINE)


def test_destroy_leaves_only_the_bootstrap(full: str) -> None:
    assert re.search(r"✔ destroy .*\d+ destroyed", full)
    assert re.search(r"✔ nothing left but the bootstrap .*only the state bucket", full)


# --- broken copies fail the rehearsal, naming the resource -------------------------


def broken_copy(tmp_path: Path, breaks: list[tuple[str, str, str]]) -> Path:
    copy = tmp_path / "infra"
    # The committed .terraform.lock.hcl comes along: every init is -lockfile=readonly.
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    for path, old, new in breaks:
        target = copy / path
        text = target.read_text()
        assert old in text, f"{old!r} is not in {path}: update this test"
        target.write_text(text.replace(old, new, 1))
    return copy


def quick(image: str, tmp_path: Path, infra: Path, *checks: str) -> str:
    """One example, autoscaling on, the state bucket made by API, no staging; the failed summary."""
    result = rehearse(
        image,
        tmp_path / "work",
        "--infra",
        str(infra),
        "--examples",
        "quickstart-default-vpc",
        "--autoscaling",
        "true",
        "--bucket-by-api",
        "--production-only",
        *(["--checks", *checks] if checks else []),
    )
    assert result.returncode == 1, summary(result)
    return summary(result)


def test_a_wrong_attribute_reference_fails_validate(image: str, tmp_path: Path) -> None:
    infra = broken_copy(
        tmp_path,
        [
            (
                "modules/ecs_cluster/resources.tf",
                "aws_lb_target_group.this.arn_suffix",
                "aws_lb_target_group.this.arn_sufix",
            )
        ],
    )
    failed = quick(image, tmp_path, infra)
    assert re.search(r"✘ validate", failed)
    assert "aws_lb_target_group.this" in failed
    assert "arn_sufix" in failed


@pytest.fixture(scope="module")
def broken_policy_and_ignore_changes(image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One rehearsal of a copy with two defects; the checks after the applies each report.

    - the deploy policy without elasticloadbalancing:DescribeTargetHealth, which
      `finlex-release status` needs (deploys still succeed, so the service drifts);
    - `task_definition` taken out of the service's ignore_changes.
    """
    tmp_path = tmp_path_factory.mktemp("broken")
    infra = broken_copy(
        tmp_path,
        [
            (
                "modules/pipeline_roles/resources.tf",
                '["elasticloadbalancing:DescribeTargetHealth"]',
                '["elasticloadbalancing:DescribeLoadBalancers"]',
            ),
            (
                "modules/ecs_cluster/resources.tf",
                "ignore_changes = [task_definition, desired_count]",
                "ignore_changes = [desired_count]",
            ),
        ],
    )
    return quick(image, tmp_path, infra, "release", "plan")


def test_a_policy_without_an_action_the_tool_needs_fails_the_release(
    broken_policy_and_ignore_changes: str,
) -> None:
    failed = broken_policy_and_ignore_changes
    release = next(line for line in failed.splitlines() if "release: under the deploy" in line)
    assert "✘" in release
    assert "under the deploy role" in release
    assert "elasticloadbalancing:DescribeTargetHealth" in release


def test_an_ignore_changes_entry_removed_makes_the_plan_after_deploy_non_empty(
    broken_policy_and_ignore_changes: str,
) -> None:
    failed = broken_policy_and_ignore_changes
    plan = next(line for line in failed.splitlines() if "plan after deploy" in line)
    assert "✘" in plan
    assert "module.ecs_cluster.aws_ecs_service.this" in plan
