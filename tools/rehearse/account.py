"""What the rehearsal puts into the emulated account, and what it finds there.

A real account has a hosted zone, and for the private-subnet example a VPC
with subnets and a prefix list, before finlex is applied: they are made here.
After ``terraform destroy``, `leftovers` lists everything that is still there
apart from those and the bootstrap, so that "nothing is left" is a reading.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from rehearse.emulator import ADMIN_KEY, REGION


def client(url: str, service: str, key: str = ADMIN_KEY, secret: str = ADMIN_KEY) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


@dataclass(frozen=True)
class Network:
    """The private-subnet example's VPC, as its tfvars expect it."""

    vpc_id: str
    alb_subnet_ids: list[str]
    task_subnet_ids: list[str]
    prefix_list_id: str


def hosted_zone(url: str, domain: str) -> str:
    route53 = client(url, "route53")
    zone = route53.create_hosted_zone(Name=domain, CallerReference=f"rehearsal-{domain}")
    return str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]


def private_network(url: str) -> Network:
    ec2 = client(url, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets: dict[str, list[str]] = {"alb": [], "task": []}
    for index, (kind, zone) in enumerate(
        [("alb", "a"), ("alb", "b"), ("task", "a"), ("task", "b")]
    ):
        subnet = ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=f"{REGION}{zone}"
        )
        subnets[kind].append(subnet["Subnet"]["SubnetId"])
    prefix_list = ec2.create_managed_prefix_list(
        PrefixListName="rehearsal-s3", MaxEntries=4, AddressFamily="IPv4"
    )["PrefixList"]["PrefixListId"]
    return Network(vpc, subnets["alb"], subnets["task"], prefix_list)


def bucket(url: str, name: str) -> None:
    client(url, "s3").create_bucket(Bucket=name)


def secret_parameter(url: str, name: str) -> tuple[str, str]:
    """(ARN, value) of a new SecureString parameter, as an operator adds a secret.

    The value is random and lives in the account only: the rehearsal passes the
    ARN to Terraform, and looks for the value where it must never appear.
    """
    value = secrets.token_urlsafe(24)
    ssm = client(url, "ssm")
    ssm.put_parameter(Name=name, Value=value, Type="SecureString")
    return str(ssm.get_parameter(Name=name)["Parameter"]["ARN"]), value


def task_definition(url: str, revision: str) -> dict[str, Any]:
    """The task definition ECS holds for `revision` (family:revision or ARN)."""
    found = client(url, "ecs").describe_task_definition(taskDefinition=revision)
    return dict(found["taskDefinition"])


def permissions_boundary(url: str, role_name: str) -> dict[str, Any] | None:
    """The policy document of a role's permissions boundary, at its default version."""
    iam = client(url, "iam")
    boundary = iam.get_role(RoleName=role_name)["Role"].get("PermissionsBoundary")
    if not boundary:
        return None
    arn = str(boundary["PermissionsBoundaryArn"])
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return _document(
        iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    )


def leftovers(url: str, keep_buckets: set[str], keep_users: set[str]) -> list[str]:
    """Everything finlex's Terraform could have created that still exists."""
    found: list[str] = []
    ecr = client(url, "ecr")
    found += [f"ECR {r['repositoryName']}" for r in ecr.describe_repositories()["repositories"]]
    ecs = client(url, "ecs")
    for arn in ecs.list_clusters()["clusterArns"]:
        cluster = ecs.describe_clusters(clusters=[arn])["clusters"][0]
        if cluster["status"] == "ACTIVE":
            found.append(f"ECS cluster {cluster['clusterName']}")
        services = ecs.list_services(cluster=arn)["serviceArns"]
        if services:
            described = ecs.describe_services(cluster=arn, services=services)["services"]
            found += [
                f"ECS service {service['serviceName']} ({service['status']})"
                for service in described
                if service["status"] != "INACTIVE"  # deleted: what AWS lists no more
            ]
    elb = client(url, "elbv2")
    found += [
        f"ALB {lb['LoadBalancerName']}" for lb in elb.describe_load_balancers()["LoadBalancers"]
    ]
    found += [
        f"target group {tg['TargetGroupName']}"
        for tg in elb.describe_target_groups()["TargetGroups"]
    ]
    ec2 = client(url, "ec2")
    for group in ec2.describe_security_groups()["SecurityGroups"]:
        if group["GroupName"] != "default":
            found.append(f"security group {group['GroupName']}")
    iam = client(url, "iam")
    found += [f"IAM role {role['RoleName']}" for role in iam.list_roles()["Roles"]]
    found += [
        f"IAM user {user['UserName']}"
        for user in iam.list_users()["Users"]
        if user["UserName"] not in keep_users
    ]
    found += [
        f"OIDC provider {p['Arn']}"
        for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    ]
    logs = client(url, "logs")
    found += [f"log group {g['logGroupName']}" for g in logs.describe_log_groups()["logGroups"]]
    acm = client(url, "acm")
    found += [
        f"certificate {c['DomainName']}" for c in acm.list_certificates()["CertificateSummaryList"]
    ]
    route53 = client(url, "route53")
    for zone in route53.list_hosted_zones()["HostedZones"]:
        records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
        found += [
            f"DNS {record['Type']} {record['Name']}"
            for record in records
            if record["Type"] not in {"NS", "SOA"}
        ]
    scaling = client(url, "application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    found += [f"scalable target {t['ResourceId']}" for t in targets]
    cloudwatch = client(url, "cloudwatch")
    found += [f"alarm {a['AlarmName']}" for a in cloudwatch.describe_alarms()["MetricAlarms"]]
    found += [
        f"dashboard {d['DashboardName']}" for d in cloudwatch.list_dashboards()["DashboardEntries"]
    ]
    sns = client(url, "sns")
    found += [f"SNS topic {t['TopicArn']}" for t in sns.list_topics()["Topics"]]
    kms = client(url, "kms")
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] != "PendingDeletion":
            found.append(f"KMS key {key['KeyId']} ({meta['KeyState']})")
    s3 = client(url, "s3")
    found += [
        f"S3 bucket {b['Name']}"
        for b in s3.list_buckets()["Buckets"]
        if b["Name"] not in keep_buckets
    ]
    return found


def running_revision(url: str, cluster: str, service: str) -> str:
    """family:revision of the task definition the service runs."""
    described = client(url, "ecs").describe_services(cluster=cluster, services=[service])
    return str(described["services"][0]["taskDefinition"]).rsplit("/", 1)[-1]


def active_task_definitions(url: str, family: str) -> list[str]:
    ecs = client(url, "ecs")
    arns = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]
    return [str(arn).rsplit("/", 1)[-1] for arn in arns]


@dataclass(frozen=True)
class Session:
    """Temporary credentials of one of the pipeline's roles, as its job holds them."""

    role_arn: str
    access_key: str
    secret_key: str
    token: str

    def env(self) -> dict[str, str]:
        """The environment a process (Terraform, finlex-release) takes them from."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_SESSION_TOKEN": self.token,
        }


def session_client(url: str, service: str, session: Session) -> Any:
    """A boto3 client of `service` with `session`'s credentials, trying each call once."""
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=session.access_key,
        aws_secret_access_key=session.secret_key,
        aws_session_token=session.token,
        config=Config(retries={"total_max_attempts": 1}),
    )


def assume(url: str, role_arn: str, session_name: str) -> Session:
    """A session of `role_arn`, as GitHub's OIDC exchange gives a job one.

    The emulator has no GitHub token to trade: the administrator assumes the
    role instead. What the session may do is the role's own policies either way.
    """
    issued = client(url, "sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)
    credentials = issued["Credentials"]
    return Session(
        role_arn,
        str(credentials["AccessKeyId"]),
        str(credentials["SecretAccessKey"]),
        str(credentials["SessionToken"]),
    )


@dataclass(frozen=True)
class _RolePolicy:
    """One of a role's policies: inline (`name`) or attached (`arn` at `version`)."""

    document: dict[str, Any]
    name: str | None = None
    arn: str | None = None
    version: str | None = None


def _role_policies(iam: Any, role_name: str) -> Iterator[_RolePolicy]:
    """The role's inline policies, then its attached ones at their default version."""
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        got = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        yield _RolePolicy(_document(got), name=str(name))
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        arn = str(attached["PolicyArn"])
        version = str(iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"])
        got = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        yield _RolePolicy(_document(got["Document"]), arn=arn, version=version)


def role_statements(url: str, role_name: str) -> dict[str, list[str]]:
    """Sid -> actions of every Allow statement of the role's inline and attached policies."""
    found: dict[str, list[str]] = {}
    for policy in _role_policies(client(url, "iam"), role_name):
        for statement in policy.document["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else list(actions)
            found.setdefault(str(statement.get("Sid", "")), []).extend(actions)
    return found


@contextmanager
def without_statement(url: str, role_name: str, sid: str) -> Iterator[str]:
    """A broken copy of the role meanwhile: the policy that holds `sid` loses it.

    Made in the account itself, on the policy Terraform wrote; restored on
    exit. Yields the policy's name (inline) or ARN (managed).
    """
    iam = client(url, "iam")
    for policy in _role_policies(iam, role_name):
        statements = policy.document["Statement"]
        kept = [statement for statement in statements if statement.get("Sid") != sid]
        if len(kept) == len(statements):
            continue
        broken = json.dumps({**policy.document, "Statement": kept})
        if policy.name is not None:
            iam.put_role_policy(RoleName=role_name, PolicyName=policy.name, PolicyDocument=broken)
            try:
                yield policy.name
            finally:
                original = json.dumps(policy.document)
                iam.put_role_policy(
                    RoleName=role_name, PolicyName=policy.name, PolicyDocument=original
                )
            return
        arn = str(policy.arn)
        new = iam.create_policy_version(PolicyArn=arn, PolicyDocument=broken, SetAsDefault=True)
        try:
            yield arn
        finally:
            iam.set_default_policy_version(PolicyArn=arn, VersionId=policy.version)
            iam.delete_policy_version(PolicyArn=arn, VersionId=new["PolicyVersion"]["VersionId"])
        return
    raise LookupError(f"no statement {sid!r} in the policies of role {role_name}")


def _document(document: Any) -> dict[str, Any]:
    """A policy document as boto3 returns it (decoded, or a JSON string) as a dict."""
    found: dict[str, Any] = json.loads(document) if isinstance(document, str) else document
    statements = found["Statement"]
    return {**found, "Statement": statements if isinstance(statements, list) else [statements]}
