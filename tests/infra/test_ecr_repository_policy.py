"""The ECR repository policy as the real provider renders it, evaluated as IAM would.

A plan of modules/ecr alone (no AWS call) gives the policy JSON; tools/iamsim
then decides each request the way AWS does for an account's own principals:
identity policies allow, the repository policy's Deny statements take away.
Every role below is granted `ecr:*` by its identity policy, so whatever is
denied is denied by the repository policy alone. Needs the Terraform CLI and a
provider mirror, like the rehearsal; without them it skips with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from iamsim.evaluate import Decision, Request, evaluate
from infra_hcl import ECR, INFRA, expr, labelled
from rehearse.terraform import cli_config
from tf_offline import require_terraform_and_mirror

ACCOUNT = "123456789012"
REPOSITORY = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/finlex"
DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/finlex-github-deploy"
EXECUTION = f"arn:aws:iam::{ACCOUNT}:role/finlex-execution-20261206"
APPLY = f"arn:aws:iam::{ACCOUNT}:role/finlex-github-terraform-apply"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/Administrator"
INSPECTOR = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/inspector2.amazonaws.com/"
    "AWSServiceRoleForAmazonInspector2"
)
PUSH = ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]
EVERYTHING = {"ecr-all": {"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}}

ROOT = """
provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}}

resource "terraform_data" "arn" {{
  input = "{repository}"
}}

module "ecr" {{
  source              = "{source}"
  name                = "finlex"
  push_principal_arns = {push}
  pull_principal_arns = {pull}
  read_principal_arns = {read}
  scan_type           = "{scan_type}"
}}
"""


def planned(
    tmp_path: Path, push: list[str], pull: list[str], scan_type: str, read: list[str] | None = None
) -> dict[str, Any]:
    """The planned resources of module.ecr, by type (terraform show -json)."""
    terraform, mirror = require_terraform_and_mirror("test_ecr_repository_policy")
    root = ROOT.format(
        source=ECR, push=json.dumps(push), pull=json.dumps(pull), scan_type=scan_type,
        repository=REPOSITORY, read=json.dumps(read or []),
    )  # fmt: skip
    (tmp_path / "main.tf").write_text(root)
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config(mirror, tmp_path / "terraform.rc")),
        "CHECKPOINT_DISABLE": "1",
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [terraform, f"-chdir={tmp_path}", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("init", "-input=false", "-no-color", "-backend=false")
    run("plan", "-input=false", "-no-color", "-refresh=false", "-out=plan.bin")
    plan = json.loads(run("show", "-json", "plan.bin"))
    return {
        change["type"]: change["change"]["after"]
        for change in plan["resource_changes"]
        if change["address"].startswith("module.ecr.")
    }


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    found = planned(tmp_path_factory.mktemp("basic"), [DEPLOY], [EXECUTION], "BASIC")
    assert "aws_ecr_registry_scanning_configuration" not in found  # basic: account untouched
    return dict(json.loads(found["aws_ecr_repository_policy"]["policy"]))


def decide(policy: dict[str, Any], principal: str, action: str) -> Decision:
    request = Request(principal=principal, action=action, resource=REPOSITORY)
    return evaluate(request, EVERYTHING, policy).decision


def test_one_environment_keeps_exact_principal_conditions(policy: dict[str, Any]) -> None:
    """ArnNotLike only where a name has a wildcard: a production-alone policy is unchanged."""
    assert {key for st in policy["Statement"] for key in st["Condition"]} == {"ArnNotEquals"}


@pytest.mark.parametrize("action", PUSH)
def test_only_the_deploy_role_pushes(policy: dict[str, Any], action: str) -> None:
    assert decide(policy, DEPLOY, action) is Decision.ALLOWED
    for other in (EXECUTION, APPLY, ADMIN):
        assert decide(policy, other, action) is Decision.EXPLICIT_DENY, other


def test_only_the_execution_role_pulls(policy: dict[str, Any]) -> None:
    assert decide(policy, EXECUTION, "ecr:GetDownloadUrlForLayer") is Decision.ALLOWED
    assert decide(policy, EXECUTION, "ecr:BatchGetImage") is Decision.ALLOWED
    for other in (DEPLOY, APPLY, ADMIN, INSPECTOR):
        assert decide(policy, other, "ecr:GetDownloadUrlForLayer") is Decision.EXPLICIT_DENY


def test_the_deploy_role_reads_manifests_and_no_one_else(policy: dict[str, Any]) -> None:
    """image-exists compares a tag's manifest with the local build: BatchGetImage."""
    assert decide(policy, DEPLOY, "ecr:BatchGetImage") is Decision.ALLOWED
    assert decide(policy, APPLY, "ecr:BatchGetImage") is Decision.EXPLICIT_DENY


@pytest.mark.parametrize(
    "action",
    ["ecr:DescribeImages", "ecr:DescribeImageScanFindings", "ecr:SetRepositoryPolicy",
     "ecr:BatchCheckLayerAvailability", "ecr:DeleteRepository"],
)  # fmt: skip
def test_management_stays_with_identity_policies(policy: dict[str, Any], action: str) -> None:
    """No lock-out: the policy takes away pushes and pulls only."""
    for principal in (DEPLOY, APPLY, ADMIN):
        assert decide(policy, principal, action) is Decision.ALLOWED


def test_enhanced_scanning_lets_inspector_read_and_scans_this_repository(tmp_path: Path) -> None:
    found = planned(tmp_path, [DEPLOY], [EXECUTION], "ENHANCED")
    enhanced = dict(json.loads(found["aws_ecr_repository_policy"]["policy"]))
    assert decide(enhanced, INSPECTOR, "ecr:GetDownloadUrlForLayer") is Decision.ALLOWED
    assert decide(enhanced, INSPECTOR, "ecr:PutImage") is Decision.EXPLICIT_DENY
    scanning = found["aws_ecr_registry_scanning_configuration"]
    assert scanning["scan_type"] == "ENHANCED"
    (rule,) = scanning["rule"]
    assert rule["scan_frequency"] == "CONTINUOUS_SCAN"
    assert rule["repository_filter"] == [{"filter": "finlex", "filter_type": "WILDCARD"}]


def test_no_principals_no_policy(tmp_path: Path) -> None:
    assert "aws_ecr_repository_policy" not in planned(tmp_path, [], [], "BASIC")


def test_the_root_names_the_deploy_and_execution_roles() -> None:
    call = labelled(INFRA, "module")["ecr"]
    assert call["push_principal_arns"] == (
        "${concat(var.deploy_role_pushes_images ? [module.pipeline_roles.deploy_role_arn] : [], "
        "local.peer_deployers)}"
    )
    assert call["pull_principal_arns"] == (
        "${concat([module.ecs_cluster.task_execution_role_arn], local.peer_executions)}"
    )
    assert call["read_principal_arns"] == (
        "${var.deploy_role_pushes_images ? [] : [module.pipeline_roles.deploy_role_arn]}"
    )
    assert expr(call["scan_type"]) == "var.ecr_scan_type"


# --- two environments: production's stack shares the repository with staging's ---------

STAGING_DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/finlex-staging-github-deploy"
STAGING_EXECUTION = f"arn:aws:iam::{ACCOUNT}:role/finlex-staging-execution-20261206"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """As the root renders it for production behind staging (environments/production.tfvars)."""
    found = planned(
        tmp_path_factory.mktemp("shared"),
        push=[STAGING_DEPLOY],
        pull=[EXECUTION, f"arn:aws:iam::{ACCOUNT}:role/finlex-staging-execution-*"],
        scan_type="BASIC",
        read=[DEPLOY],
    )
    return dict(json.loads(found["aws_ecr_repository_policy"]["policy"]))


@pytest.mark.parametrize("action", PUSH)
def test_behind_staging_only_stagings_deploy_role_pushes(
    shared: dict[str, Any], action: str
) -> None:
    assert decide(shared, STAGING_DEPLOY, action) is Decision.ALLOWED
    for other in (DEPLOY, EXECUTION, STAGING_EXECUTION, APPLY, ADMIN):
        assert decide(shared, other, action) is Decision.EXPLICIT_DENY, other


def test_behind_staging_productions_deploy_role_still_reads_manifests(
    shared: dict[str, Any],
) -> None:
    assert decide(shared, DEPLOY, "ecr:BatchGetImage") is Decision.ALLOWED
    assert decide(shared, DEPLOY, "ecr:GetDownloadUrlForLayer") is Decision.EXPLICIT_DENY


def test_both_environments_tasks_pull_and_nothing_else_of_staging(shared: dict[str, Any]) -> None:
    for puller in (EXECUTION, STAGING_EXECUTION):
        assert decide(shared, puller, "ecr:GetDownloadUrlForLayer") is Decision.ALLOWED
    # The wildcard covers the execution role's generated suffix, not other staging roles.
    assert decide(shared, STAGING_DEPLOY, "ecr:GetDownloadUrlForLayer") is Decision.EXPLICIT_DENY
    (pull,) = [st for st in shared["Statement"] if st["Sid"] == "DenyPullExceptTheTasks"]
    assert list(pull["Condition"]) == ["ArnNotLike"]
