"""Two environments' roles in one account: staging's refused on production's, through the gate.

modules/pipeline_roles is applied twice to the emulated account with the real
Terraform and provider, as infra/environments makes it: production (prefix
finlex, its deploy role without push) and staging (prefix finlex-staging,
reading production's repository and OIDC provider). boto3 then assumes
staging's plan, apply and deploy roles and production's deploy role, and makes
each call against production's state, service, target group, record, alarm,
log group and roles, and against the shared repository: the IAM gate answers,
enforcing, and each probe checks the decision and the authorization that
decided, with its ARN. Controls: the same calls on staging's own resources
are allowed, so a denial is the scope's doing, not a broken role.

The emulator patches moto process-wide, so it runs in a subprocess of its
own (as in test_gate.py); the subprocess prints what each probe got.
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
repo = "arn:aws:ecr:REGION:ACCOUNT:repository/finlex"

def stack(name, extra):
    return {
        "github_repository": "acme/finlex",
        "ecr_repository_arn": repo,
        "ecs_service_arn": f"arn:aws:ecs:REGION:ACCOUNT:service/{name}/{name}",
        "task_definition_family": name,
        "task_role_arn": f"arn:aws:iam::ACCOUNT:role/{name}-task-1",
        "execution_role_arn": f"arn:aws:iam::ACCOUNT:role/{name}-execution-1",
        "state_bucket_name": "BUCKET",
        "vpc_id": vpc,
        "route53_zone_id": zone,
        "name_prefix": name,
        **extra,
    }

# As environments/production.tfvars and staging.tfvars make them.
stacks = {
    "production": stack("finlex", {
        "domain_name": "api.example.com", "push_images": False,
        "plan_environment": "production-plan", "state_key": "finlex/terraform.tfstate"}),
    "staging": stack("finlex-staging", {
        "domain_name": "staging.api.example.com", "shared_ecr_repository_arn": repo,
        "deploy_environment": "staging", "apply_environment": "staging-infrastructure",
        "plan_environment": "staging-plan", "state_key": "finlex-staging/terraform.tfstate"}),
}
blocks = []
for env, inputs in stacks.items():
    lines = "\n".join(f"  {k} = {json.dumps(v)}" for k, v in inputs.items())
    if env == "staging":  # the account's one OIDC provider, production's, by its ARN
        lines += "\n  create_oidc_provider = false"
        lines += "\n  depends_on = [module.production]"
    blocks.append(f'module "{env}" {{\n  source = {json.dumps(module)}\n{lines}\n}}\n')
(work / "main.tf").write_text(
    'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    'provider "aws" {\n  region = "REGION"\n}\n' + "".join(blocks)
)
(work / "emulator_override.tf").write_text(provider_override(e.url))
env = {"TF_CLI_CONFIG_FILE": cli, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1",
       "AWS_ACCESS_KEY_ID": emulator.ADMIN_KEY, "AWS_SECRET_ACCESS_KEY": emulator.ADMIN_KEY}
tf = Terraform(work, work / "terraform.log", env, terraform)
tf.run("init", "-input=false", "-no-color")
tf.run("apply", "-auto-approve", "-input=false", "-no-color")

# What the probes act on, made by the administrator: each environment's target
# group (same five-character name prefix), tagged with its stack's Project.
elb = admin("elbv2")
groups = {}
for env, name, project in [("production", "finleabc", "finlex"),
                           ("staging", "finlestg", "finlex-staging")]:
    groups[env] = elb.create_target_group(
        Name=name, Protocol="HTTP", Port=5000, VpcId=vpc, TargetType="ip",
        Tags=[{"Key": "Project", "Value": project}])["TargetGroups"][0]["TargetGroupArn"]
admin("ecr").create_repository(repositoryName="finlex")
trusts = {}
for role in admin("iam").list_roles()["Roles"]:
    doc = role["AssumeRolePolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    trusts[role["RoleName"]] = doc["Statement"][0]["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"]

def session(role):
    creds = admin("sts").assume_role(
        RoleArn=f"arn:aws:iam::ACCOUNT:role/{role}", RoleSessionName="probe")["Credentials"]
    return lambda service: boto3.client(
        service, endpoint_url=e.url, region_name="REGION",
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], config=Config(retries={"total_max_attempts": 1}))

s_plan = session("finlex-staging-github-terraform-plan")
s_apply = session("finlex-staging-github-terraform-apply")
s_deploy = session("finlex-staging-github-deploy")
p_deploy = session("finlex-github-deploy")
p_apply = session("finlex-github-terraform-apply")

results = {"_trusts": trusts}

def record(name, client, method, **kwargs):
    before = len(e.gate.records())
    outcome = {}
    try:
        getattr(client, method)(**kwargs)
        outcome["ok"] = True
    except ClientError as error:
        outcome.update(ok=False, code=error.response["Error"]["Code"])
    made = e.gate.records()[before:]
    outcome["decisions"] = [
        [a.action, a.resource, a.decision.value if a.decision else None, a.statement]
        for r in made for a in r.authorizations
    ]
    results[name] = outcome

def record_set(name, who, domain):
    record(name, who("route53"), "change_resource_record_sets", HostedZoneId=zone, ChangeBatch={
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": domain, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})

alarm = dict(MetricName="CPUUtilization", Namespace="AWS/ECS", Statistic="Average", Period=60,
             EvaluationPeriods=1, Threshold=99.0, ComparisonOperator="GreaterThanThreshold")
manifest = json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
def revision(family, owner):
    return dict(family=family, taskRoleArn=f"arn:aws:iam::ACCOUNT:role/{owner}-task-1",
                executionRoleArn=f"arn:aws:iam::ACCOUNT:role/{owner}-execution-1",
                networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
                memory="512", containerDefinitions=[{"name": "finlex", "image": "finlex:1"}])

with e.gate.enforced():
    record("staging plan: read production's state", s_plan("s3"), "get_object",
           Bucket="BUCKET", Key="finlex/terraform.tfstate")
    record("staging plan: describe production's service", s_plan("ecs"), "describe_services",
           cluster="finlex", services=["finlex"])
    record("staging apply: write production's state", s_apply("s3"), "put_object",
           Bucket="BUCKET", Key="finlex/terraform.tfstate", Body=b"{}")
    record("staging apply: take production's state lock", s_apply("s3"), "put_object",
           Bucket="BUCKET", Key="finlex/terraform.tfstate.tflock", Body=b"{}")
    record("staging apply: change production's service", s_apply("ecs"), "update_service",
           cluster="finlex", service="finlex", desiredCount=3)
    record("staging apply: change production's target group", s_apply("elbv2"),
           "modify_target_group", TargetGroupArn=groups["production"],
           HealthCheckIntervalSeconds=30)
    record("staging apply: delete production's target group", s_apply("elbv2"),
           "delete_target_group", TargetGroupArn=groups["production"])
    record_set("staging apply: production's record", s_apply, "api.example.com")
    record("staging apply: production's alarm", s_apply("cloudwatch"), "put_metric_alarm",
           AlarmName="finlex-cpu-high", **alarm)
    record("staging apply: production's log group", s_apply("logs"), "put_retention_policy",
           logGroupName="/ecs/finlex", retentionInDays=1)
    record("staging apply: production's deploy role", s_apply("iam"), "put_role_policy",
           RoleName="finlex-github-deploy", PolicyName="x",
           PolicyDocument='{"Version": "2012-10-17", "Statement": []}')
    record("staging apply: the shared repository's policy", s_apply("ecr"),
           "delete_lifecycle_policy", repositoryName="finlex")
    record("staging deploy: deploy to production's service", s_deploy("ecs"), "update_service",
           cluster="finlex", service="finlex", taskDefinition="finlex:1")
    record("staging deploy: describe production's service", s_deploy("ecs"), "describe_services",
           cluster="finlex", services=["finlex"])
    record("staging deploy: pass production's roles", s_deploy("ecs"),
           "register_task_definition", **revision("finlex-staging", "finlex"))
    record("production deploy: push an image", p_deploy("ecr"), "put_image",
           repositoryName="finlex", imageTag="p1", imageManifest=manifest)
    record("production deploy: start a layer upload", p_deploy("ecr"), "initiate_layer_upload",
           repositoryName="finlex")
    record("production apply: change staging's target group", p_apply("elbv2"),
           "modify_target_group", TargetGroupArn=groups["staging"],
           HealthCheckIntervalSeconds=30)
    # Controls: the same kinds of calls on staging's own resources.
    record("staging apply: change its own target group", s_apply("elbv2"),
           "modify_target_group", TargetGroupArn=groups["staging"],
           HealthCheckIntervalSeconds=30)
    record_set("staging apply: its own record", s_apply, "staging.api.example.com")
    record("staging apply: write its own state", s_apply("s3"), "put_object",
           Bucket="BUCKET", Key="finlex-staging/terraform.tfstate", Body=b"{}")
    record("staging deploy: push an image", s_deploy("ecr"), "put_image",
           repositoryName="finlex", imageTag="s1", imageManifest=manifest)
    record("staging deploy: pass its own roles", s_deploy("ecs"), "register_task_definition",
           **revision("finlex-staging", "finlex-staging"))
    record("production deploy: read a manifest", p_deploy("ecr"), "batch_get_image",
           repositoryName="finlex", imageIds=[{"imageTag": "s1"}])
e.stop()
print(json.dumps(results))
"""
for name, value in {"BUCKET": BUCKET, "ACCOUNT": ACCOUNT, "REGION": REGION}.items():
    SCRIPT = SCRIPT.replace(name, value)


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    terraform, mirror = require_terraform_and_mirror("test_environments_gate")
    work = tmp_path_factory.mktemp("environments")
    cli = cli_config(work, mirror)
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'tools'}"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, terraform, str(cli), str(work), str(MODULE)],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


IMPLICIT, EXPLICIT, ALLOWED = "implicitly denied", "explicitly denied", "allowed"
STATE = f"arn:aws:s3:::{BUCKET}/finlex/terraform.tfstate"
SERVICE = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/finlex/finlex"
TARGET_GROUP = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/"
REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/finlex"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"
LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT}"

# probe -> (decision, action of the authorization that decided, start of its resource)
DENIALS = {
    "staging plan: read production's state": (IMPLICIT, "s3:GetObject", STATE),
    "staging plan: describe production's service": (IMPLICIT, "ecs:DescribeServices", SERVICE),
    "staging apply: write production's state": (IMPLICIT, "s3:PutObject", STATE),
    "staging apply: take production's state lock": (IMPLICIT, "s3:PutObject", f"{STATE}.tflock"),
    "staging apply: change production's service": (IMPLICIT, "ecs:UpdateService", SERVICE),
    "staging apply: change production's target group": (
        EXPLICIT, "elasticloadbalancing:ModifyTargetGroup", f"{TARGET_GROUP}finleabc/"),
    "staging apply: delete production's target group": (
        EXPLICIT, "elasticloadbalancing:DeleteTargetGroup", f"{TARGET_GROUP}finleabc/"),
    "staging apply: production's record": (
        IMPLICIT, "route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/"),
    "staging apply: production's alarm": (
        IMPLICIT, "cloudwatch:PutMetricAlarm",
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:finlex-cpu-high"),
    "staging apply: production's log group": (
        IMPLICIT, "logs:PutRetentionPolicy", f"{LOGS}:log-group:/ecs/finlex"),
    "staging apply: production's deploy role": (
        IMPLICIT, "iam:PutRolePolicy", f"{ROLE}finlex-github-deploy"),
    "staging apply: the shared repository's policy": (
        IMPLICIT, "ecr:DeleteLifecyclePolicy", REPOSITORY),
    "staging deploy: deploy to production's service": (IMPLICIT, "ecs:UpdateService", SERVICE),
    "staging deploy: describe production's service": (IMPLICIT, "ecs:DescribeServices", SERVICE),
    "staging deploy: pass production's roles": (IMPLICIT, "iam:PassRole", f"{ROLE}finlex-task-1"),
    "production deploy: push an image": (IMPLICIT, "ecr:PutImage", REPOSITORY),
    "production deploy: start a layer upload": (IMPLICIT, "ecr:InitiateLayerUpload", REPOSITORY),
    "production apply: change staging's target group": (
        EXPLICIT, "elasticloadbalancing:ModifyTargetGroup", f"{TARGET_GROUP}finlestg/"),
}  # fmt: skip
# probe -> (action, the statement that allows it)
CONTROLS = {
    "staging apply: change its own target group": (
        "elasticloadbalancing:ModifyTargetGroup", "ElbFinlexLoadBalancer"),
    "staging apply: its own record": (
        "route53:ChangeResourceRecordSets", "Route53ServiceRecordsOnly"),
    "staging apply: write its own state": ("s3:PutObject", "StateWrite"),
    "staging deploy: push an image": ("ecr:PutImage", "EcrPushToTheRepository"),
    "staging deploy: pass its own roles": ("iam:PassRole", "PassFinlexTaskRolesToEcsTasksOnly"),
    "production deploy: read a manifest": ("ecr:BatchGetImage", "EcrFinlexRepository"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(DENIALS))
def test_each_call_across_environments_is_denied_naming_action_and_arn(
    probes: dict[str, Any], name: str
) -> None:
    decision, action, resource = DENIALS[name]
    outcome = probes[name]
    assert outcome["ok"] is False, name
    assert outcome["code"] in {"AccessDenied", "AccessDeniedException"}, outcome
    denied = [d for d in outcome["decisions"] if d[2] != ALLOWED]
    assert denied, outcome["decisions"]
    assert denied[0][0] == action, denied
    assert denied[0][1].startswith(resource), denied
    assert denied[0][2] == decision, denied
    if decision == EXPLICIT:
        assert denied[0][3] == "DenyTargetGroupsOfOtherStacks", denied


@pytest.mark.parametrize("name", list(CONTROLS))
def test_the_same_kind_of_call_on_its_own_environment_is_allowed(
    probes: dict[str, Any], name: str
) -> None:
    action, statement = CONTROLS[name]
    decisions = [d for d in probes[name]["decisions"] if d[0] == action]
    assert decisions, probes[name]
    assert all(d[2] == ALLOWED for d in decisions), decisions
    assert decisions[0][3] == statement, decisions


@pytest.mark.parametrize(
    ("role", "subject"),
    [
        ("finlex-github-deploy", "environment:production"),
        ("finlex-github-terraform-apply", "environment:infrastructure"),
        ("finlex-github-terraform-plan", "environment:production-plan"),
        ("finlex-staging-github-deploy", "environment:staging"),
        ("finlex-staging-github-terraform-apply", "environment:staging-infrastructure"),
        ("finlex-staging-github-terraform-plan", "environment:staging-plan"),
    ],
)
def test_each_role_trusts_its_own_github_environment_only(
    probes: dict[str, Any], role: str, subject: str
) -> None:
    assert probes["_trusts"][role] == f"repo:acme/finlex:{subject}"
