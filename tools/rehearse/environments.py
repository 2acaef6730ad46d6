"""Staging beside production in one emulated account: what keeps the two apart.

infra/ holds two environments as one root with a var file and a state object
each (infra/environments). The rehearsal applies production from its var file
and staging from its own, each into its own S3 key and its own Terraform data
directory, then sends staging's plan, apply and deploy roles at production's
resources and production's deploy role at the shared repository's push: each
call must be denied by the IAM gate, naming the action and the ARN, and each
denial becomes one line of the rehearsal's output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from finlex_release.record import RECORD_PATH
from iamsim.evaluate import Decision
from rehearse.account import Session, client, session_client
from rehearse.emulator import ACCOUNT_ID, REGION, Emulator

ENVIRONMENTS = "environments"
_SETTING = r'^{0}\s*=\s*"([^"]*)"'


class ProbeError(Exception):
    """A probe was not denied as it must be; the message says which and what happened."""


def setting(var_file: Path, name: str) -> str:
    """A string setting of a var file (environments/<env>.tfvars), read as Terraform would."""
    found = re.search(_SETTING.format(re.escape(name)), var_file.read_text(), re.MULTILINE)
    if found is None:
        raise LookupError(f"{var_file.name} sets no {name}")
    return found.group(1)


def var_file(infra: Path, environment: str) -> Path:
    return infra / ENVIRONMENTS / f"{environment}.tfvars"


def backend_file(infra: Path, environment: str) -> Path:
    return infra / ENVIRONMENTS / f"{environment}.backend.hcl"


@dataclass(frozen=True)
class Production:
    """Production's resources the probes aim at, found by the administrator."""

    state_bucket: str
    state_key: str
    cluster: str
    service: str
    target_group_arn: str
    domain: str
    zone_id: str
    repository: str
    deploy_role: str
    task_role_arn: str
    execution_role_arn: str
    log_group: str


def find_production(
    url: str, outputs: Mapping[str, Any], state_bucket: str, state_key: str, zone_id: str
) -> Production:
    """Production's names and ARNs, from its root outputs and the account."""

    def out(name: str) -> str:
        return str(outputs[name]["value"])

    elb = client(url, "elbv2")
    service = client(url, "ecs").describe_services(
        cluster=out("ecs_cluster_name"), services=[out("ecs_service_name")]
    )["services"][0]
    target_group = str(service["loadBalancers"][0]["targetGroupArn"])
    elb.describe_target_groups(TargetGroupArns=[target_group])  # it exists
    domain = out("service_url").removeprefix("https://").rstrip("/")
    return Production(
        state_bucket=state_bucket,
        state_key=state_key,
        cluster=out("ecs_cluster_name"),
        service=out("ecs_service_name"),
        target_group_arn=target_group,
        domain=domain,
        zone_id=zone_id,
        repository=out("ecr_repository_name"),
        deploy_role=out("github_deploy_role_arn"),
        task_role_arn=out("task_role_arn"),
        execution_role_arn=out("task_execution_role_arn"),
        log_group=out("log_group_name"),
    )


@dataclass(frozen=True)
class Probe:
    """One call a role must not make: who, what, and the action the gate must deny."""

    who: str  # e.g. "staging's apply role"
    job: str  # the session's job: plan, apply or deploy
    what: str  # what the call would do, for the line
    action: str  # the action the denial must name
    call: Callable[[Callable[[str], Any]], Any] = field(repr=False)


def probes(prod: Production, staging_name: str) -> list[Probe]:
    """Staging's roles on production's service, state, record, alarms, roles and verification
    records; production's push."""
    arn_ecs = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}"
    staging = "staging's {} role"
    alarm = {
        "AlarmName": f"{prod.service}-cpu-high",
        "MetricName": "CPUUtilization",
        "Namespace": "AWS/ECS",
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 99.0,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    record = {
        "Changes": [
            {
                "Action": "UPSERT",
                "ResourceRecordSet": {
                    "Name": prod.domain,
                    "Type": "TXT",
                    "TTL": 60,
                    "ResourceRecords": [{"Value": '"staging was here"'}],
                },
            }
        ]
    }
    media_type = "application/vnd.docker.distribution.manifest.v2+json"
    manifest = json.dumps({"schemaVersion": 2, "mediaType": media_type})
    revision = {
        "family": staging_name,
        "taskRoleArn": prod.task_role_arn,
        "executionRoleArn": prod.execution_role_arn,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "finlex", "image": "finlex:probe"}],
    }
    state = {"Bucket": prod.state_bucket, "Key": prod.state_key}
    # A verification record in production's name: what `promote --to production` would trust.
    verified = {
        "Name": RECORD_PATH.format(environment="production") + "0" * 64,
        "Value": "{}",
        "Type": "String",
        "Overwrite": True,
    }
    service = {"cluster": prod.cluster, "services": [prod.service]}
    return [
        Probe(staging.format("plan"), "plan", "read production's state", "s3:GetObject",
              lambda c: c("s3").get_object(**state)),
        Probe(staging.format("plan"), "plan", "describe production's service",
              "ecs:DescribeServices", lambda c: c("ecs").describe_services(**service)),
        Probe(staging.format("apply"), "apply", "write production's state", "s3:PutObject",
              lambda c: c("s3").put_object(**state, Body=b"{}")),
        Probe(staging.format("apply"), "apply", "scale production's service",
              "ecs:UpdateService",
              lambda c: c("ecs").update_service(
                  cluster=prod.cluster, service=prod.service, desiredCount=2)),
        Probe(staging.format("apply"), "apply", "change production's target group",
              "elasticloadbalancing:ModifyTargetGroup",
              lambda c: c("elbv2").modify_target_group(
                  TargetGroupArn=prod.target_group_arn, HealthCheckIntervalSeconds=30)),
        Probe(staging.format("apply"), "apply", f"change production's record {prod.domain}",
              "route53:ChangeResourceRecordSets",
              lambda c: c("route53").change_resource_record_sets(
                  HostedZoneId=prod.zone_id, ChangeBatch=record)),
        Probe(staging.format("apply"), "apply", "change production's alarm",
              "cloudwatch:PutMetricAlarm", lambda c: c("cloudwatch").put_metric_alarm(**alarm)),
        Probe(staging.format("apply"), "apply", "change production's log group",
              "logs:PutRetentionPolicy",
              lambda c: c("logs").put_retention_policy(
                  logGroupName=prod.log_group, retentionInDays=1)),
        Probe(staging.format("apply"), "apply", "change production's deploy role",
              "iam:PutRolePolicy",
              lambda c: c("iam").put_role_policy(
                  RoleName=prod.deploy_role.rsplit("/", 1)[-1], PolicyName="probe",
                  PolicyDocument='{"Version": "2012-10-17", "Statement": []}')),
        Probe(staging.format("apply"), "apply", "delete the shared image repository",
              "ecr:DeleteRepository",
              lambda c: c("ecr").delete_repository(repositoryName=prod.repository)),
        Probe(staging.format("deploy"), "deploy", "describe production's service",
              "ecs:DescribeServices", lambda c: c("ecs").describe_services(**service)),
        Probe(staging.format("deploy"), "deploy", "deploy to production's service",
              "ecs:UpdateService",
              lambda c: c("ecs").update_service(
                  cluster=prod.cluster, service=prod.service,
                  taskDefinition=f"{arn_ecs}:task-definition/{prod.service}:1")),
        Probe(staging.format("deploy"), "deploy", "pass production's task role",
              "iam:PassRole", lambda c: c("ecs").register_task_definition(**revision)),
        Probe(staging.format("deploy"), "deploy", "write production's verification record",
              "ssm:PutParameter", lambda c: c("ssm").put_parameter(**verified)),
        Probe("production's deploy role", "production-deploy", "push an image",
              "ecr:PutImage",
              lambda c: c("ecr").put_image(
                  repositoryName=prod.repository, imageTag="probe", imageManifest=manifest)),
    ]  # fmt: skip


def _session_client(url: str, session: Session) -> Callable[[str], Any]:
    return lambda service: session_client(url, service, session)


def run_probe(account: Emulator, session: Session, probe: Probe) -> str:
    """The probe's call under `session`: one line if the gate denied its action, else ProbeError."""
    before = len(account.gate.records())
    try:
        probe.call(_session_client(account.url, session))
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
    else:
        raise ProbeError(f"{probe.who} could {probe.what}: the call succeeded")
    made = account.gate.records()[before:]
    denied = [
        a.resource
        for record in made
        if record.principal == session.role_arn and record.denied
        for a in record.authorizations
        if a.action == probe.action
        and a.decision in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY)
    ]
    if not denied:
        raise ProbeError(f"{probe.who} could not {probe.what}, but not for {probe.action}: {code}")
    return f"{probe.who}: {probe.what}: {probe.action} on {denied[0]} denied"
