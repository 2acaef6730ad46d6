"""Secrets: the task definition names ARNs, the execution role reads exactly those.

modules/ecs_cluster's task definition and execution role are applied with the
real Terraform and provider to the emulated account (a targeted apply: no load
balancer is needed for them). The account holds an SSM parameter and a Secrets
Manager secret, each with a value that must never leave it. Then:

- the task definition ECS holds names each secret by its ARN, as `valueFrom`;
- the execution role, assumed through STS, reads exactly those ARNs through
  the emulator's IAM gate (ssm:GetParameters, secretsmanager:GetSecretValue),
  as the ECS agent does when a task starts, and is denied on a parameter and a
  secret next to them;
- its kms:Decrypt on the customer key holds only through SSM or Secrets
  Manager (kms:ViaService), evaluated by tools/iamsim against the policy
  Terraform wrote: the gate does not model the decryption SSM makes for the
  caller, so this part is an evaluation of the document, not of a call;
- neither value appears in the plan, the state, Terraform's log or the gate's;
- with no secrets, the role has no statement on SSM, Secrets Manager or KMS.

The emulator patches moto process-wide, so it runs in a subprocess (as in
test_gate.py), which prints one JSON line of findings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rehearse import emulator
from support.emulated import run_script
from support.terraform.cli import cli_config, require_terraform_and_mirror

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "infra" / "modules" / "ecs_cluster"
ACCOUNT = emulator.ACCOUNT_ID
REGION = emulator.REGION

pytestmark = [pytest.mark.slow, pytest.mark.rehearsal]

SCRIPT = r"""
import json, sys
from pathlib import Path
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from iamsim.evaluate import Request, evaluate
from rehearse import account, emulator
from rehearse.terraform import Terraform, automation_env, credentials, provider_override

terraform, cli, work, module = sys.argv[1:5]
work = Path(work)
VALUES = {"parameter": "rehearsal-parameter-value-7f3a", "secret": "rehearsal-secret-value-91c2"}
e = emulator.start()
admin = lambda service: account.client(e.url, service)
key = admin("kms").create_key(Description="finlex secrets")["KeyMetadata"]["Arn"]
other_key = admin("kms").create_key(Description="another")["KeyMetadata"]["Arn"]
ssm, sm = admin("ssm"), admin("secretsmanager")
for name in ("/finlex/api-key", "/finlex/other"):
    ssm.put_parameter(Name=name, Value=VALUES["parameter"], Type="SecureString", KeyId=key)
parameter = ssm.get_parameter(Name="/finlex/api-key")["Parameter"]["ARN"]
other_parameter = ssm.get_parameter(Name="/finlex/other")["Parameter"]["ARN"]
secret = sm.create_secret(Name="finlex/db", SecretString=VALUES["secret"], KmsKeyId=key)["ARN"]
other_secret = sm.create_secret(Name="finlex/other", SecretString=VALUES["secret"])["ARN"]

(work / "main.tf").write_text('''
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
provider "aws" {
  region = "REGION"
}
variable "secrets" {
  type = map(string)
}
variable "secrets_kms_key_arn" {
  type = string
}
variable "permissions_boundary_arn" {
  type    = string
  default = null
}
module "ecs_cluster" {
  source               = "MODULE"
  name                 = "finlex"
  vpc_id               = "vpc-0123456789abcdef0"
  alb_subnet_ids       = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
  task_subnet_ids      = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
  domain_name          = "api.example.com"
  hosted_zone_id       = "Z0123456789ABCDEFGHIJ"
  image_repository_url = "ACCOUNT.dkr.ecr.REGION.amazonaws.com/finlex"
  image_repository_arn = "arn:aws:ecr:REGION:ACCOUNT:repository/finlex"
  image_tag            = "1.0.1"
  environment          = { FINLEX_GREETING = "plain" }
  secrets              = var.secrets
  secrets_kms_key_arn  = var.secrets_kms_key_arn
  permissions_boundary_arn = var.permissions_boundary_arn
}
'''.replace("MODULE", module).replace("REGION", "REGION").replace("ACCOUNT", "ACCOUNT"))
(work / "emulator_override.tf").write_text(provider_override(e.url))
env = {**automation_env(Path(cli)), **credentials(None)}
tf = Terraform(work, work / "terraform.log", env, terraform)
tf.run("init", "-input=false", "-no-color")
targets = ["-target=module.ecs_cluster.aws_iam_role_policy.execution",
           "-target=module.ecs_cluster.aws_ecs_task_definition.this"]
e.gate.log_to(work / "gate.jsonl")

def apply(secrets, key_arn):
    given = ["-var", f"secrets={json.dumps(secrets)}", "-var", f"secrets_kms_key_arn={key_arn}"]
    plan = tf.run("plan", "-input=false", "-no-color", "-out=plan.bin", *targets, *given)
    shown = tf.run("show", "-json", "plan.bin").stdout
    tf.run("apply", "-input=false", "-no-color", "plan.bin")
    state = tf.run("show", "-json").stdout
    return plan.stdout + shown + state

def execution_policy():
    iam = admin("iam")
    role = next(r["RoleName"] for r in iam.list_roles()["Roles"]
                if r["RoleName"].startswith("finlex-execution-"))
    document = iam.get_role_policy(RoleName=role, PolicyName="ecr-pull-and-logs")
    got = document["PolicyDocument"]
    return role, json.loads(got) if isinstance(got, str) else got

results = {"arns": {"parameter": parameter, "secret": secret, "key": key}}
mapped = {"FINLEX_API_KEY": parameter, "FINLEX_DB_PASSWORD": secret}
texts = apply(mapped, key)
family = admin("ecs").describe_task_definition(taskDefinition="finlex")["taskDefinition"]
results["container_secrets"] = family["containerDefinitions"][0].get("secrets")
results["container_environment"] = family["containerDefinitions"][0]["environment"]
role, policy = execution_policy()
results["statements"] = {s.get("Sid", ""): s for s in policy["Statement"]}

creds = admin("sts").assume_role(
    RoleArn=f"arn:aws:iam::ACCOUNT:role/{role}", RoleSessionName="ecs-agent")["Credentials"]
as_role = lambda service: boto3.client(
    service, endpoint_url=e.url, region_name="REGION",
    aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
    aws_session_token=creds["SessionToken"], config=Config(retries={"total_max_attempts": 1}))

def read(name, call):
    try:
        got = call()
        results["reads"][name] = "allowed"
        return got
    except ClientError as error:
        problem = error.response["Error"]
        results["reads"][name] = f"{problem['Code']}: {problem['Message']}"

results["reads"] = {}
with e.gate.enforced():
    get = lambda arn: as_role("ssm").get_parameters(Names=[arn], WithDecryption=True)
    got = read("parameter", lambda: get(parameter))
    value = got["Parameters"][0]["Value"] if got else None
    results["parameter_value_read"] = value == VALUES["parameter"]
    read("other parameter", lambda: get(other_parameter))
    got = read("secret", lambda: as_role("secretsmanager").get_secret_value(SecretId=secret))
    results["secret_value_read"] = bool(got) and got["SecretString"] == VALUES["secret"]
    read("other secret", lambda: as_role("secretsmanager").get_secret_value(SecretId=other_secret))

session = f"arn:aws:sts::ACCOUNT:assumed-role/{role}/ecs-agent"
def decrypt(resource, via):
    context = {"kms:ViaService": via} if via else {}
    request = Request(principal=session, action="kms:Decrypt", resource=resource, context=context)
    key_policy = admin("kms").get_key_policy(KeyId=resource, PolicyName="default")["Policy"]
    key_policy = json.loads(key_policy)
    return evaluate(request, {"execution": policy}, key_policy).decision.value
results["decrypt"] = {
    "through ssm": decrypt(key, "ssm.REGION.amazonaws.com"),
    "through secretsmanager": decrypt(key, "secretsmanager.REGION.amazonaws.com"),
    "directly": decrypt(key, None),
    "through s3": decrypt(key, "s3.REGION.amazonaws.com"),
    "another key through ssm": decrypt(other_key, "ssm.REGION.amazonaws.com"),
}

none_texts = apply({}, key)
_, bare = execution_policy()
results["bare_actions"] = sorted(a for s in bare["Statement"] for a in (
    [s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
family = admin("ecs").describe_task_definition(taskDefinition="finlex")["taskDefinition"]
results["bare_secrets"] = family["containerDefinitions"][0].get("secrets")

# Refused at plan time, one line each: a name that is also a plain variable or one of
# the app's settings, and, under the root's boundary, an ARN the boundary does not admit.
def refused(secrets, *extra):
    given = ["-var", f"secrets={json.dumps(secrets)}", "-var", f"secrets_kms_key_arn={key}"]
    done = tf.run("plan", "-input=false", "-no-color", *targets, *given, *extra, check=False)
    return [done.returncode, " ".join((done.stderr + done.stdout).replace("│", " ").split())]

boundary = "-var=permissions_boundary_arn=arn:aws:iam::ACCOUNT:policy/finlex-service-role-boundary"
elsewhere = parameter.replace("/finlex/", "/other/")
in_another_region = parameter.replace("REGION", "eu-west-1")
secret_outside = other_secret.replace(":secret:finlex/", ":secret:")
results["refused"] = {
    "also in environment": refused({"FINLEX_GREETING": parameter}),
    "a module setting": refused({"FINLEX_PORT": parameter}),
    "an app setting": refused({"FINLEX_THREADS": parameter}),
    "outside the prefix": refused({"FINLEX_API_KEY": elsewhere}, boundary),
    "another region": refused({"FINLEX_API_KEY": in_another_region}, boundary),
    "a secret outside": refused({"DB": secret_outside}, boundary),
    "under the prefix": refused(mapped, boundary),
    "outside, no boundary": refused({"FINLEX_API_KEY": elsewhere}),
}

logs = (work / "terraform.log").read_text() + (work / "gate.jsonl").read_text()
everything = texts + none_texts + logs
results["values_seen"] = [k for k, v in VALUES.items() if v in everything]
results["arn_in_plan"] = parameter in texts
print(json.dumps(results))
""".replace("REGION", REGION).replace("ACCOUNT", ACCOUNT)


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    terraform, mirror = require_terraform_and_mirror("test_secrets")
    work = tmp_path_factory.mktemp("secrets")
    cli = cli_config(work, mirror)
    return run_script(SCRIPT, terraform, str(cli), str(work), str(MODULE), timeout=600)


def test_the_task_definition_names_each_secret_by_its_arn(found: dict[str, Any]) -> None:
    arns = found["arns"]
    assert found["container_secrets"] == [
        {"name": "FINLEX_API_KEY", "valueFrom": arns["parameter"]},
        {"name": "FINLEX_DB_PASSWORD", "valueFrom": arns["secret"]},
    ]
    names = {item["name"] for item in found["container_environment"]}
    assert "FINLEX_GREETING" in names
    assert not names & {"FINLEX_API_KEY", "FINLEX_DB_PASSWORD"}


def test_the_execution_role_reads_exactly_those_arns(found: dict[str, Any]) -> None:
    arns = found["arns"]
    statements = found["statements"]
    assert statements["ReadSecretParameters"]["Action"] in (
        "ssm:GetParameters",
        ["ssm:GetParameters"],
    )
    assert statements["ReadSecretParameters"]["Resource"] in (
        arns["parameter"],
        [arns["parameter"]],
    )
    secrets = statements["ReadSecretsManagerSecrets"]
    assert secrets["Action"] in ("secretsmanager:GetSecretValue", ["secretsmanager:GetSecretValue"])
    assert secrets["Resource"] in (arns["secret"], [arns["secret"]])
    for statement in statements.values():
        resources = statement["Resource"]
        for resource in [resources] if isinstance(resources, str) else resources:
            if ":ssm:" in resource or ":secretsmanager:" in resource or ":kms:" in resource:
                assert "*" not in resource, statement


def test_the_gate_allows_the_agents_reads_and_denies_their_neighbours(
    found: dict[str, Any],
) -> None:
    reads = found["reads"]
    assert reads["parameter"] == "allowed"
    assert reads["secret"] == "allowed"  # noqa: S105 - a probe's name, not a password
    assert found["parameter_value_read"]
    assert found["secret_value_read"]
    for name, action in (("other parameter", "ssm:GetParameters"),
                         ("other secret", "secretsmanager:GetSecretValue")):  # fmt: skip
        assert reads[name].startswith("AccessDenied"), reads[name]
        assert action in reads[name], reads[name]
        assert "finlex/other" in reads[name], reads[name]


def test_the_customer_key_decrypts_only_through_the_secrets_services(
    found: dict[str, Any],
) -> None:
    decrypt = found["decrypt"]
    assert decrypt["through ssm"] == "allowed"
    assert decrypt["through secretsmanager"] == "allowed"
    assert decrypt["directly"] == "implicitly denied"
    assert decrypt["through s3"] == "implicitly denied"
    assert decrypt["another key through ssm"] == "implicitly denied"
    condition = found["statements"]["DecryptSecretsThroughTheirService"]["Condition"]
    assert condition == {
        "StringEquals": {
            "kms:ViaService": [
                f"secretsmanager.{REGION}.amazonaws.com",
                f"ssm.{REGION}.amazonaws.com",
            ]
        }
    }


def test_no_value_in_the_plan_the_state_or_a_log(found: dict[str, Any]) -> None:
    assert found["arn_in_plan"], "the plan should show the ARN (so the check reads real text)"
    assert found["values_seen"] == []


REFUSALS = {
    "also in environment": "must not also be plain variables of the container",
    "a module setting": "must not also be plain variables of the container",
    "an app setting": "must not be one of the app's settings",
    "outside the prefix": "With a permissions boundary, secrets must be in this region and account",
    "another region": "With a permissions boundary, secrets must be in this region and account",
    "a secret outside": "With a permissions boundary, secrets must be in this region and account",
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_plans_refuse_secrets_that_would_clash_or_be_unreadable(
    found: dict[str, Any], case: str
) -> None:
    code, output = found["refused"][case]
    assert code != 0, output
    assert REFUSALS[case] in output, output


def test_plans_accept_secrets_the_boundary_admits_or_without_one(found: dict[str, Any]) -> None:
    for case in ("under the prefix", "outside, no boundary"):
        code, output = found["refused"][case]
        assert code == 0, output


def test_without_secrets_the_role_reads_none(found: dict[str, Any]) -> None:
    actions = found["bare_actions"]
    assert not [a for a in actions if a.startswith(("ssm:", "secretsmanager:", "kms:"))], actions
    assert found["bare_secrets"] in (None, [])
