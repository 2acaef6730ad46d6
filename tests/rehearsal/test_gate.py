"""The IAM gate: the pipeline's roles, as Terraform makes them, refused where they must be.

infra/modules/pipeline_roles is applied with the real Terraform and provider to
the emulated account (as the bootstrap's administrator would), so the roles
carry exactly the policies Terraform renders, inline and attached. Then boto3
assumes the apply role and the plan role through STS and makes the denial
probes of issue 16: each call is answered by the gate, enforcing, and each
probe checks the exact decision, the denied authorization, and that the
error names the action and the resource ARN, as AWS's does.

The emulator patches moto process-wide, so it runs in a subprocess of its
own (as in test_emulator.py); the subprocess prints what each probe got.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tf_offline import cli_config, require_terraform_and_mirror

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "infra" / "modules" / "pipeline_roles"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = f"finlex-tfstate-{ACCOUNT}-{REGION}"
DOMAIN = "api.example.com"

pytestmark = [pytest.mark.slow, pytest.mark.rehearsal]

SCRIPT = r"""
import json, sys
from pathlib import Path
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from rehearse import account, emulator
from rehearse.terraform import Terraform, provider_override

terraform, cli, work, module = sys.argv[1:5]
work = Path(work)
e = emulator.start()
admin = lambda service: account.client(e.url, service)
zone = account.hosted_zone(e.url, "example.com")
vpc = admin("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
account.bucket(e.url, "BUCKET")

# The pipeline's roles, as the administrator applies them (the bootstrap's step).
inputs = {
    "github_repository": "acme/finlex",
    "ecr_repository_arn": "arn:aws:ecr:REGION:ACCOUNT:repository/finlex",
    "ecs_service_arn": "arn:aws:ecs:REGION:ACCOUNT:service/finlex/finlex",
    "task_definition_family": "finlex",
    "task_role_arn": "arn:aws:iam::ACCOUNT:role/finlex-task",
    "execution_role_arn": "arn:aws:iam::ACCOUNT:role/finlex-execution",
    "state_bucket_name": "BUCKET",
    "vpc_id": vpc,
    "route53_zone_id": zone,
    "domain_name": "DOMAIN",
}
lines = "\n".join(f"  {k} = {json.dumps(v)}" for k, v in inputs.items())
(work / "main.tf").write_text(
    'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    f'provider "aws" {{\n  region = "REGION"\n}}\n'
    f'module "pipeline_roles" {{\n  source = {json.dumps(module)}\n{lines}\n}}\n'
)
(work / "emulator_override.tf").write_text(provider_override(e.url))
env = {"TF_CLI_CONFIG_FILE": cli, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1",
       "AWS_ACCESS_KEY_ID": emulator.ADMIN_KEY, "AWS_SECRET_ACCESS_KEY": emulator.ADMIN_KEY}
tf = Terraform(work, work / "terraform.log", env, terraform)
tf.run("init", "-input=false", "-no-color")
tf.run("apply", "-auto-approve", "-input=false", "-no-color")

# What the probes act on, made by the administrator.
kms = admin("kms")
keys = {}
for name, tags in [("untagged", []), ("other", [{"TagKey": "Project", "TagValue": "other"}]),
                   ("finlex", [{"TagKey": "Project", "TagValue": "finlex"}])]:
    keys[name] = kms.create_key(Tags=tags)["KeyMetadata"]["KeyId"]  # moto: no ARN in deletions
boundary = "arn:aws:iam::ACCOUNT:policy/finlex-service-role-boundary"
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
roles = {}
for name, extra in [("finlex-task", {"PermissionsBoundary": boundary}),
                    ("finlex-execution", {"PermissionsBoundary": boundary}), ("other-app", {})]:
    roles[name] = admin("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=trust, **extra)["Role"]["Arn"]
admin("ecs").create_cluster(clusterName="finlex")

def session(role):
    creds = admin("sts").assume_role(
        RoleArn=f"arn:aws:iam::ACCOUNT:role/{role}", RoleSessionName="probe")["Credentials"]
    return lambda service: boto3.client(
        service, endpoint_url=e.url, region_name="REGION",
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], config=Config(retries={"total_max_attempts": 1}))

apply, plan = session("finlex-github-terraform-apply"), session("finlex-github-terraform-plan")
policy = kms.get_key_policy(KeyId=keys["finlex"], PolicyName="default")["Policy"]

def record(name, client, method, **kwargs):
    before = len(e.gate.records())
    outcome = {}
    try:
        getattr(client, method)(**kwargs)
        outcome["ok"] = True
    except ClientError as error:
        outcome.update(ok=False, code=error.response["Error"]["Code"],
                       status=error.response["ResponseMetadata"]["HTTPStatusCode"],
                       message=error.response["Error"].get("Message", ""))
    made = e.gate.records()[before:]
    outcome["principal"] = [r.principal for r in made]
    outcome["decisions"] = [
        [a.action, a.resource, a.decision.value if a.decision else None, a.policy, a.statement,
         dict(a.context)]
        for r in made for a in r.authorizations
    ]
    outcome["gate_message"] = "".join(r.message for r in made)
    results[name] = outcome

def record_set(name, ttl_type, who):
    record(name, who("route53"), "change_resource_record_sets", HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": ttl_type[0], "Type": ttl_type[1], "TTL": 60,
            "ResourceRecords": [{"Value": ttl_type[2]}]}}]})

def task_definition(who, task_role):
    return dict(family="finlex", taskRoleArn=task_role, executionRoleArn=roles["finlex-execution"],
                networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
                containerDefinitions=[{"name": "finlex", "image": "finlex:1"}],
                tags=[{"key": "Project", "value": "finlex"}])

results = {}
results["_before_log"] = len(e.gate.records())
e.gate.log_to(work / "gate.jsonl")
state, lock = "finlex/terraform.tfstate", "finlex/terraform.tfstate.tflock"
with e.gate.enforced():
    # the apply role
    record("kms policy, untagged key", apply("kms"), "put_key_policy",
           KeyId=keys["untagged"], PolicyName="default", Policy=policy)
    record("kms deletion, another project's key", apply("kms"), "schedule_key_deletion",
           KeyId=keys["other"], PendingWindowInDays=7)
    record("kms policy, finlex key", apply("kms"), "put_key_policy",
           KeyId=keys["finlex"], PolicyName="default", Policy=policy)
    record("kms deletion, finlex key", apply("kms"), "schedule_key_deletion",
           KeyId=keys["finlex"], PendingWindowInDays=7)
    record_set("record of another name", ("www.example.com", "A", "192.0.2.1"), apply)
    record_set("record of the service's name, TXT", ("DOMAIN", "TXT", '"x"'), apply)
    record_set("record of the service's name", ("DOMAIN", "A", "192.0.2.1"), apply)
    record("pass a role outside the prefix", apply("ecs"), "register_task_definition",
           **task_definition(apply, roles["other-app"]))
    record("pass a finlex role to another service", apply("ecs"), "create_service",
           cluster="finlex", serviceName="finlex", taskDefinition="finlex", desiredCount=0,
           role=roles["finlex-task"])
    record("pass the finlex roles to ECS tasks", apply("ecs"), "register_task_definition",
           **task_definition(apply, roles["finlex-task"]))
    record("create a role outside the prefix", apply("iam"), "create_role",
           RoleName="other-app-2", AssumeRolePolicyDocument=trust, PermissionsBoundary=boundary)
    record("create a role without the boundary", apply("iam"), "create_role",
           RoleName="finlex-extra", AssumeRolePolicyDocument=trust)
    record("create a pipeline role", apply("iam"), "create_role",
           RoleName="finlex-github-deploy", AssumeRolePolicyDocument=trust,
           PermissionsBoundary=boundary)
    record("create a role with the boundary", apply("iam"), "create_role",
           RoleName="finlex-extra", AssumeRolePolicyDocument=trust, PermissionsBoundary=boundary)
    record("write another project's state", apply("s3"), "put_object",
           Bucket="BUCKET", Key="other/terraform.tfstate", Body=b"{}")
    for name, key in [("write finlex's state", state), ("take the state lock", lock)]:
        record(name, apply("s3"), "put_object", Bucket="BUCKET", Key=key, Body=b"{}")
    # the plan role: it reads the state; every write is refused
    record("plan: read the state", plan("s3"), "get_object", Bucket="BUCKET", Key=state)
    writes = [
        ("s3", "put_object", dict(Bucket="BUCKET", Key=state, Body=b"{}")),
        ("s3", "put_object", dict(Bucket="BUCKET", Key=lock, Body=b"{}")),
        ("s3", "delete_object", dict(Bucket="BUCKET", Key=lock)),
        ("kms", "put_key_policy", dict(KeyId=keys["finlex"], PolicyName="default", Policy=policy)),
        ("kms", "create_key", dict(Tags=[{"TagKey": "Project", "TagValue": "finlex"}])),
        ("route53", "change_resource_record_sets", dict(HostedZoneId=zone, ChangeBatch={
            "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {"Name": "DOMAIN", "Type": "A",
            "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})),
        ("iam", "create_role", dict(RoleName="finlex-plan-made", AssumeRolePolicyDocument=trust,
                                    PermissionsBoundary=boundary)),
        ("iam", "put_role_policy",
         dict(RoleName="finlex-task", PolicyName="x", PolicyDocument=trust)),
        ("ecs", "register_task_definition", task_definition(plan, roles["finlex-task"])),
        ("ecs", "create_cluster", dict(clusterName="finlex-2")),
        ("ecr", "create_repository", dict(repositoryName="finlex-2")),
        ("ec2", "create_security_group", dict(GroupName="finlex-2", Description="x", VpcId=vpc)),
        ("elbv2", "create_target_group", dict(Name="finle-2", Protocol="HTTP", Port=80, VpcId=vpc)),
        ("logs", "create_log_group", dict(logGroupName="/ecs/finlex-2")),
        ("sns", "create_topic", dict(Name="finlex-2")),
        ("cloudwatch", "put_metric_alarm", dict(AlarmName="finlex-2", MetricName="m",
            Namespace="n", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold")),
        ("acm", "request_certificate", dict(DomainName="DOMAIN", ValidationMethod="DNS")),
        ("application-autoscaling", "register_scalable_target", dict(ServiceNamespace="ecs",
            ResourceId="service/finlex/finlex", ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=1, MaxCapacity=2)),
    ]
    for service, method, kwargs in writes:
        record(f"plan: {service} {method} {kwargs.get('Key', '')}".strip(), plan(service), method,
               **kwargs)
    # what the table does not know, an administrator, a key AWS never issued
    record("unknown operation", apply("ecs"), "list_account_settings")
    record("administrator", admin("kms"), "put_key_policy",
           KeyId=keys["other"], PolicyName="default", Policy=policy)
    record("unknown key", account.client(e.url, "ecs", "AKIANOTISSUED0000000", "x"),
           "list_clusters")
# not enforcing: the call goes through, and the record still says what AWS would do
record("not enforcing", apply("kms"), "put_key_policy",
       KeyId=keys["untagged"], PolicyName="default", Policy=policy)
results["_summaries"] = [s.line() for s in e.gate.summaries()]

# What the request table asks of the account, answered from moto's backends.
tagged = [{"Key": "Project", "Value": "finlex"}]
spec = lambda kind: [{"ResourceType": kind, "Tags": tagged}]
facts, arns = e.gate.facts, {}
arns["kms key"] = kms.describe_key(KeyId=keys["finlex"])["KeyMetadata"]["Arn"]
kms.create_alias(AliasName="alias/finlex-facts", TargetKeyId=keys["finlex"])
arns["acm certificate"] = admin("acm").request_certificate(
    DomainName="DOMAIN", Tags=tagged)["CertificateArn"]
group = admin("ec2").create_security_group(
    GroupName="finlex-facts", Description="x", VpcId=vpc, TagSpecifications=spec("security-group"))
arns["ec2 security group"] = f"arn:aws:ec2:REGION:ACCOUNT:security-group/{group['GroupId']}"
rule = admin("ec2").authorize_security_group_ingress(
    GroupId=group["GroupId"], TagSpecifications=spec("security-group-rule"),
    IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                    "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])["SecurityGroupRules"][0]
arns["ec2 security group rule"] = (
    f"arn:aws:ec2:REGION:ACCOUNT:security-group-rule/{rule['SecurityGroupRuleId']}")
arns["ecs cluster"] = admin("ecs").create_cluster(clusterName="finlex-facts",
    tags=[{"key": "Project", "value": "finlex"}])["cluster"]["clusterArn"]
arns["ecr repository"] = admin("ecr").create_repository(
    repositoryName="finlex-facts", tags=tagged)["repository"]["repositoryArn"]
admin("logs").create_log_group(logGroupName="/ecs/finlex-facts", tags={"Project": "finlex"})
arns["logs log group"] = "arn:aws:logs:REGION:ACCOUNT:log-group:/ecs/finlex-facts"
arns["elb target group"] = admin("elbv2").create_target_group(
    Name="finle-facts", Protocol="HTTP", Port=80, VpcId=vpc, Tags=tagged
)["TargetGroups"][0]["TargetGroupArn"]
arns["sns topic"] = admin("sns").create_topic(Name="finlex-facts", Tags=tagged)["TopicArn"]
admin("cloudwatch").put_metric_alarm(
    AlarmName="finlex-facts", MetricName="m", Namespace="n", Statistic="Sum", Period=60,
    EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold", Tags=tagged)
arns["cloudwatch alarm"] = "arn:aws:cloudwatch:REGION:ACCOUNT:alarm:finlex-facts"
admin("iam").tag_role(RoleName="finlex-task", Tags=tagged)
arns["iam role"] = roles["finlex-task"]
arns["iam policy"] = admin("iam").create_policy(
    PolicyName="finlex-facts", PolicyDocument=trust.replace("sts:AssumeRole", "s3:ListBucket")
    .replace('"Principal": {"Service": "ecs-tasks.amazonaws.com"}, ', '"Resource": "*", '),
    Tags=tagged)["Policy"]["Arn"]
admin("s3").create_bucket(Bucket="finlex-facts")
admin("s3").put_bucket_encryption(Bucket="finlex-facts", ServerSideEncryptionConfiguration={
    "Rules": [{"ApplyServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": keys["finlex"]}}]})
admin("s3").put_object(Bucket="finlex-facts", Key="k", Body=b"x")
target = dict(ServiceNamespace="dynamodb", ResourceId="table/finlex",  # moto: ECS needs a service
              ScalableDimension="dynamodb:table:ReadCapacityUnits")
admin("application-autoscaling").register_scalable_target(**target, MinCapacity=1, MaxCapacity=2)
results["_facts"] = {
    "tags": {kind: facts.tags(arn) for kind, arn in arns.items()},
    "untagged": facts.tags(kms.describe_key(KeyId=keys["untagged"])["KeyMetadata"]["Arn"]),
    "no such key": facts.tags("arn:aws:kms:REGION:ACCOUNT:key/no-such-key"),
    "key by alias": facts.key_arn("alias/finlex-facts", "REGION", "ACCOUNT") == arns["kms key"],
    "alias target": facts.alias_target("arn:aws:kms:REGION:ACCOUNT:alias/finlex-facts")
        == arns["kms key"],
    "group vpc": facts.security_group_vpc(group["GroupId"]) == vpc,
    "boundary": facts.permissions_boundary("finlex-task"),
    "no boundary": facts.permissions_boundary("other-app"),
    "bucket key": facts.bucket_key("finlex-facts") == arns["kms key"],
    "object key": facts.object_key("finlex-facts", "k") == arns["kms key"],
    "no bucket key": facts.bucket_key("BUCKET"),
    "scalable target": (facts.scalable_target_arn(*target.values()) or "").startswith(
        "arn:aws:application-autoscaling:REGION:ACCOUNT:scalable-target/"),
    "next revision": facts.next_revision("finlex"),
    "first revision": facts.next_revision("finlex-new"),
}
results["_refused"] = [r.refused for r in e.gate.records() if r.principal.endswith("-apply")]
results["_logged"] = len((work / "gate.jsonl").read_text().splitlines())
results["_recorded"] = len(e.gate.records()) - results["_before_log"]
e.stop()
print(json.dumps(results))
"""
for name, value in {
    "BUCKET": BUCKET,
    "ACCOUNT": ACCOUNT,
    "REGION": REGION,
    "DOMAIN": DOMAIN,
}.items():
    SCRIPT = SCRIPT.replace(name, value)


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    terraform, mirror = require_terraform_and_mirror("test_gate")
    work = tmp_path_factory.mktemp("gate")
    cli = cli_config(work, mirror)
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'tools'}"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, terraform, str(cli), str(work), str(MODULE)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


ROLE = f"arn:aws:iam::{ACCOUNT}:role/finlex-github-terraform-apply"
PLAN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/finlex-github-terraform-plan"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/finlex-github-terraform-apply/probe"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
ZONE = "arn:aws:route53:::hostedzone/"
STATE = f"arn:aws:s3:::{BUCKET}/"
IMPLICIT, EXPLICIT, ALLOWED = "implicitly denied", "explicitly denied", "allowed"

# probe -> (decision of the call, the authorization that decided, the start of its resource)
DENIALS = {
    "kms policy, untagged key": (IMPLICIT, "kms:PutKeyPolicy", KEY),
    "kms deletion, another project's key": (IMPLICIT, "kms:ScheduleKeyDeletion", KEY),
    "record of another name": (IMPLICIT, "route53:ChangeResourceRecordSets", ZONE),
    "record of the service's name, TXT": (IMPLICIT, "route53:ChangeResourceRecordSets", ZONE),
    "pass a role outside the prefix": (
        IMPLICIT, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/other-app"
    ),
    "pass a finlex role to another service": (
        IMPLICIT, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/finlex-task"
    ),
    "create a role outside the prefix": (
        IMPLICIT, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/other-app-2"
    ),
    "create a role without the boundary": (
        IMPLICIT, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/finlex-extra"
    ),
    "create a pipeline role": (
        EXPLICIT, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/finlex-github-deploy"
    ),
    "write another project's state": (IMPLICIT, "s3:PutObject", f"{STATE}other/terraform.tfstate"),
}  # fmt: skip
# probe -> the statement that allows it: the narrow one, with its condition, not a broad one
ALLOWED_BY = {
    "kms policy, finlex key": "KmsManageFinlexKeys",
    "kms deletion, finlex key": "KmsManageFinlexKeys",
    "record of the service's name": "Route53ServiceRecordsOnly",
    "pass the finlex roles to ECS tasks": "EcsTaskDefinitionsNoResourceLevel",
    "create a role with the boundary": "IamServiceRolesWithTheBoundaryOnly",
    "write finlex's state": "StateWrite",
    "take the state lock": "StateLockFile",
    "plan: read the state": "StateRead",
}
LOCK_KEY = "finlex/terraform.tfstate.tflock"
LOCK = f"{STATE}{LOCK_KEY}"


def denied_authorization(outcome: dict[str, Any]) -> list[Any]:
    """[action, resource, decision, policy, statement] of the first authorization denied."""
    return list(next(d for d in outcome["decisions"] if d[2] != ALLOWED))


@pytest.mark.parametrize("name", list(DENIALS))
def test_the_apply_role_is_refused(probes: dict[str, Any], name: str) -> None:
    decision, action, resource = DENIALS[name]
    outcome = probes[name]
    assert outcome["ok"] is False
    assert outcome["principal"] == [ROLE]
    denied_action, denied_resource, denied_decision = denied_authorization(outcome)[:3]
    assert (denied_action, denied_decision) == (action, decision)
    assert denied_resource.startswith(resource)
    # What Terraform prints: AWS's message, naming the caller, the action and the ARN.
    named = f"User: {SESSION} is not authorized to perform: {action} on resource: {denied_resource}"
    assert outcome["message"].startswith(named)
    if decision == EXPLICIT:
        assert outcome["message"].endswith("with an explicit deny in an identity-based policy")
    else:
        assert outcome["message"].endswith(
            f"because no identity-based policy allows the {action} action"
        )


def test_an_explicit_deny_names_its_policy_and_statement(probes: dict[str, Any]) -> None:
    policy, statement = denied_authorization(probes["create a pipeline role"])[3:5]
    assert (policy, statement) == (
        "finlex-github-terraform-apply/finlex-terraform-apply",
        "DenyThePipelineRoles",
    )


@pytest.mark.parametrize(
    ("name", "code", "status"),
    [
        ("kms policy, untagged key", "AccessDeniedException", 400),  # JSON protocol
        ("pass a role outside the prefix", "AccessDeniedException", 400),
        ("create a role outside the prefix", "AccessDenied", 403),  # query protocol
        ("write another project's state", "AccessDenied", 403),  # S3
        ("record of another name", "AccessDenied", 403),  # Route 53 (REST-XML)
        ("plan: ec2 create_security_group", "UnauthorizedOperation", 403),  # EC2
        ("plan: sns create_topic", "AuthorizationError", 403),
        ("plan: cloudwatch put_metric_alarm", "AccessDenied", 400),  # JSON, query-compatible
    ],
)
def test_each_protocol_answers_as_aws_does(
    probes: dict[str, Any], name: str, code: str, status: int
) -> None:
    assert (probes[name]["code"], probes[name]["status"]) == (code, status)


@pytest.mark.parametrize("name", list(ALLOWED_BY))
def test_the_same_calls_on_finlex_resources_are_allowed(probes: dict[str, Any], name: str) -> None:
    outcome = probes[name]
    assert outcome["ok"] is True, outcome.get("message")
    assert {d[2] for d in outcome["decisions"]} == {ALLOWED}
    assert outcome["decisions"][0][4] == ALLOWED_BY[name]


def test_passing_the_finlex_roles_checks_each_toward_ecs_tasks(probes: dict[str, Any]) -> None:
    passed = probes["pass the finlex roles to ECS tasks"]["decisions"]
    assert [(d[1].rsplit("/", 1)[-1], d[4]) for d in passed if d[0] == "iam:PassRole"] == [
        ("finlex-task", "PassFinlexRolesToEcsTasksOnly"),
        ("finlex-execution", "PassFinlexRolesToEcsTasksOnly"),
    ]


def test_under_the_plan_role_every_write_is_refused(probes: dict[str, Any]) -> None:
    writes = {
        name: o for name, o in probes.items() if name.startswith("plan: ") and "read" not in name
    }
    assert len(writes) == 18  # one or more writes of each service the pipeline changes
    for name, outcome in writes.items():
        assert outcome["ok"] is False, name
        assert outcome["principal"] == [PLAN_ROLE], name
        action, resource, decision = denied_authorization(outcome)[:3]
        assert decision == IMPLICIT, name
        assert f"{action} on resource: {resource}" in outcome["message"], name


@pytest.mark.parametrize(
    ("name", "action"),
    [
        (f"plan: s3 put_object {LOCK_KEY}", "s3:PutObject"),
        (f"plan: s3 delete_object {LOCK_KEY}", "s3:DeleteObject"),
    ],
)
def test_the_plan_role_cannot_take_the_state_lock(
    probes: dict[str, Any], name: str, action: str
) -> None:
    assert denied_authorization(probes[name])[:3] == [action, LOCK, IMPLICIT]


def test_an_operation_the_table_does_not_know_is_refused_and_counted(
    probes: dict[str, Any],
) -> None:
    outcome = probes["unknown operation"]
    assert (outcome["ok"], outcome["code"]) == (False, "AccessDeniedException")
    assert outcome["decisions"] == []
    assert outcome["message"] == (
        f"User: {SESSION} is not authorized to perform: ecs:ListAccountSettings: "
        "ecs:ListAccountSettings is not in the request table (tools/iamsim/requests.py): "
        "its authorization is unknown"
    )


def test_the_administrator_is_recorded_and_never_denied(probes: dict[str, Any]) -> None:
    outcome = probes["administrator"]
    assert outcome["ok"] is True
    assert outcome["principal"] == ["administrator"]
    (action, _, decision, _, _, context), *_ = outcome["decisions"]
    assert (action, decision) == ("kms:PutKeyPolicy", None)  # recorded, not evaluated
    # with the context a role's call would have: the rehearsal's record of what Terraform did
    assert context["aws:ResourceTag/Project"] == "other"


def test_a_key_aws_never_issued_is_refused_as_aws_does(probes: dict[str, Any]) -> None:
    outcome = probes["unknown key"]
    assert (outcome["code"], outcome["status"]) == ("UnrecognizedClientException", 400)
    assert outcome["principal"] == ["unknown key AKIANOTISSUED0000000"]


def test_when_not_enforcing_a_denial_is_recorded_but_not_answered(probes: dict[str, Any]) -> None:
    outcome = probes["not enforcing"]
    assert outcome["ok"] is True
    action, _, decision = denied_authorization(outcome)[:3]
    assert (action, decision) == ("kms:PutKeyPolicy", IMPLICIT)
    assert probes["_refused"][-1] is False
    assert probes["_refused"].count(True) == len(DENIALS) + 1  # and the unknown operation


def test_the_record_sums_up_each_role(probes: dict[str, Any]) -> None:
    lines = {line.split(": ", 1)[0]: line for line in probes["_summaries"]}
    apply_calls = len(ALLOWED_BY) - 1 + len(DENIALS) + 2  # + unknown operation, not enforcing
    plan_calls = len([n for n in probes if n.startswith("plan: ")])
    assert lines[ROLE].startswith(f"{ROLE}: {apply_calls} calls, ")
    assert lines[ROLE].endswith(
        f" {len(DENIALS) + 1} denied, 1 unknown operations (ecs:ListAccountSettings)"
    )
    assert lines[PLAN_ROLE].startswith(f"{PLAN_ROLE}: {plan_calls} calls, ")
    assert lines[PLAN_ROLE].endswith(f" {plan_calls - 1} denied, 0 unknown operations")
    assert "administrator" in lines


def test_every_record_goes_to_the_log(probes: dict[str, Any]) -> None:
    assert probes["_logged"] == probes["_recorded"] > len(DENIALS)


FACT_KINDS = [
    "kms key",
    "acm certificate",
    "ec2 security group",
    "ec2 security group rule",
    "ecs cluster",
    "ecr repository",
    "logs log group",
    "elb target group",
    "sns topic",
    "cloudwatch alarm",
    "iam role",
    "iam policy",
]


@pytest.mark.parametrize("kind", FACT_KINDS)
def test_the_gate_reads_each_kind_of_resource_tag_from_moto(
    probes: dict[str, Any], kind: str
) -> None:
    assert probes["_facts"]["tags"][kind] == {"Project": "finlex"}


def test_the_gate_answers_the_tables_other_questions_from_moto(probes: dict[str, Any]) -> None:
    facts = probes["_facts"]
    assert (facts["untagged"], facts["no such key"]) == ({}, {})
    assert facts["key by alias"] is facts["alias target"] is facts["group vpc"] is True
    assert facts["boundary"] == f"arn:aws:iam::{ACCOUNT}:policy/finlex-service-role-boundary"
    assert facts["no boundary"] is None
    assert facts["bucket key"] is facts["object key"] is facts["scalable target"] is True
    assert facts["no bucket key"] is None
    # the probe registered finlex:1 (the plan role's registration was refused)
    assert (facts["next revision"], facts["first revision"]) == (2, 1)
