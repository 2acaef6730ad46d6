"""The plan role's read policy is what `terraform plan` of infra/ really calls.

infra/ is applied for real against a local moto server (the hashicorp/aws
provider from a filesystem mirror, a local backend instead of S3), then
planned again with the provider's debug log on: every AWS call of that
refresh is logged with its service and operation. Each call must be allowed
by the read policy the plan role gets (`finlex-terraform-read`), and each read
it grants beyond the calls seen must be one listed below with its reason.

What this copy of infra/ changes, and why:
- backend "local" and the provider's endpoints (override file): no AWS;
- `wait_for_steady_state = false`: moto never starts tasks;
- moto learns Application Auto Scaling's tag calls (the rehearsal emulator's
  patch): the scalable target exists in both autoscaling modes, and without
  ListTagsForResource the provider retries for 15 minutes;
- when the mirror holds provider 5.x only: the version constraints are set to
  it and `data.aws_region.*.region` (6.x) reads `.name`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import tfmirror
from rehearse import emulator
from tf_offline import cli_config, free_port, require_terraform_and_mirror

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
ACCOUNT = "123456789012"
ZONE_ID = "Z0123456789ABCDEFGHIJ"

# rpc.service of the provider's debug log -> IAM action prefix
SERVICE_PREFIX = {
    "ACM": "acm",
    "Application Auto Scaling": "application-autoscaling",
    "CloudWatch": "cloudwatch",
    "CloudWatch Logs": "logs",
    "EC2": "ec2",
    "ECR": "ecr",
    "ECS": "ecs",
    "Elastic Load Balancing v2": "elasticloadbalancing",
    "IAM": "iam",
    "KMS": "kms",
    "Route 53": "route53",
    "SNS": "sns",
    "STS": "sts",
}
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}

# Reads the policy grants that this run cannot show, each with its reason.
NOT_SEEN_HERE = {
    "ec2:DescribeNetworkInterfaces": "apply waits on it when it deletes a security group",
    "route53:GetChange": "apply waits on it after it changes a record",
    "cloudwatch:DescribeAlarms": "the service's alarms (once infra/ defines them)",
    "cloudwatch:ListTagsForResource": "the service's alarms (once infra/ defines them)",
    "cloudwatch:GetDashboard": "the service's dashboard (once infra/ defines it)",
    "sns:GetTopicAttributes": "the alarm topic (once infra/ defines it)",
    "sns:ListTagsForResource": "the alarm topic (once infra/ defines it)",
    "sns:ListSubscriptionsByTopic": "the alarm topic (once infra/ defines it)",
    "sns:GetSubscriptionAttributes": "the alarm topic's subscriptions (once infra/ defines them)",
}

OVERRIDE = """terraform {
  backend "local" {}
}

provider "aws" {
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true

  endpoints {
%s
  }
}

module "ecs_cluster" {
  wait_for_steady_state = false
}
"""
ENDPOINTS = (
    "acm", "applicationautoscaling", "cloudwatch", "ec2", "ecr", "ecs", "elbv2", "iam", "logs",
    "route53", "kms", "sns", "sts",
)  # fmt: skip
TFVARS = f"""aws_region              = "us-east-1"
domain_name             = "api.example.com"
hosted_zone_id          = "{ZONE_ID}"
image_tag               = "1.0.1"
assign_public_ip        = true
alb_deletion_protection = false
github_repository       = "example-org/finlex"
state_bucket_name       = "finlex-tfstate-{ACCOUNT}-us-east-1"
"""


def copy_infra(target: Path, provider_version: str) -> None:
    for path in INFRA.rglob("*.tf"):
        relative = path.relative_to(INFRA)
        if relative.parts[0] in {"bootstrap", ".terraform"}:
            continue
        text = path.read_text(encoding="utf-8")
        if provider_version.startswith("5."):
            text = re.sub(
                r'(source\s*=\s*"hashicorp/aws"\s*\n\s*version\s*=\s*)"[^"]*"',
                rf'\g<1>"{provider_version}"',
                text,
            )
            text = re.sub(r"(data\.aws_region\.\w+)\.region\b", r"\1.name", text)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text, encoding="utf-8")


def calls(debug_log: str) -> set[str]:
    """IAM actions of every AWS request in a provider debug log."""
    found = set()
    for entry in re.split(r"\n(?=\d{4}-\d\d-\d\dT)", debug_log):
        if "HTTP Request Sent" not in entry:
            continue
        method = re.search(r"\brpc\.method=([A-Za-z0-9]+)", entry)
        service = re.search(r'\brpc\.service=(?:"([^"]+)"|([A-Za-z0-9]+))', entry)
        assert method, entry[:300]
        assert service, entry[:300]
        name = service.group(1) or service.group(2)
        assert name in SERVICE_PREFIX, f"unknown service {name!r} in the provider's log"
        found.add(f"{SERVICE_PREFIX[name]}:{method.group(1)}")
    return found


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], dict[str, Any]]:
    terraform, mirror = require_terraform_and_mirror("test_plan_role_reads")
    import boto3
    import moto.settings
    from moto.route53.models import HostedZoneIdentifier
    from moto.server import ThreadedMotoServer
    from moto.utilities.id_generator import moto_id_manager

    versions = tfmirror.versions(mirror)
    assert versions, f"no hashicorp/aws plugin in {mirror}"
    work = tmp_path_factory.mktemp("plan_role_reads")
    cli = cli_config(work, mirror)
    root = work / "infra"
    copy_infra(root, versions[-1])
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    lines = "\n".join(f'    {name} = "{endpoint}"' for name in ENDPOINTS)
    (root / "zz_moto_override.tf").write_text(OVERRIDE % lines, encoding="utf-8")
    (root / "moto.tfvars").write_text(TFVARS, encoding="utf-8")

    emulator._patch_autoscaling()  # only adds the tag calls moto lacks
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 0)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            # Route 53 zone IDs start with Z, and infra/ validates that; moto's do not.
            moto_id_manager.set_custom_id(
                HostedZoneIdentifier(ACCOUNT, "example.com.", None), ZONE_ID
            )
            boto3.client(
                "route53", endpoint_url=endpoint, region_name="us-east-1",
                aws_access_key_id="test", aws_secret_access_key="test",  # noqa: S106 (moto's)
            ).create_hosted_zone(Name="example.com", CallerReference="plan-role-reads")  # fmt: skip
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": str(work),
                "TF_CLI_CONFIG_FILE": str(cli),
                "CHECKPOINT_DISABLE": "1",
                "TF_IN_AUTOMATION": "1",
            }

            def run(*args: str, log: bool = False) -> subprocess.CompletedProcess[str]:
                result = subprocess.run(
                    [terraform, *args], cwd=root, capture_output=True, text=True,
                    env={**env, "TF_LOG": "debug"} if log else env, timeout=900, check=False,
                )  # fmt: skip
                assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
                return result

            run("init", "-input=false", "-no-color")
            run("apply", "-input=false", "-no-color", "-auto-approve", "-var-file=moto.tfvars")
            plan = run("plan", "-input=false", "-no-color", "-var-file=moto.tfvars", log=True)
            state = json.loads(run("show", "-json").stdout)
        finally:
            server.stop()
            shutil.rmtree(root / ".terraform", ignore_errors=True)
    return calls(plan.stderr), state


def read_policy(state: dict[str, Any]) -> set[str]:
    for child in state["values"]["root_module"]["child_modules"]:
        for resource in child["resources"]:
            if (
                resource["address"]
                == "module.pipeline_roles.data.aws_iam_policy_document.terraform_read"
            ):
                document = json.loads(resource["values"]["json"])
                return {
                    action
                    for statement in document["Statement"]
                    for action in (
                        statement["Action"]
                        if isinstance(statement["Action"], list)
                        else [statement["Action"]]
                    )
                }
    raise AssertionError("the read policy is not in the state")


@pytest.mark.slow
def test_the_plan_refreshed_the_whole_configuration(
    observed: tuple[set[str], dict[str, Any]],
) -> None:
    seen, _state = observed
    for service in ("acm", "ec2", "ecr", "ecs", "elasticloadbalancing", "iam", "logs", "route53"):
        assert any(call.startswith(f"{service}:") for call in seen), (service, sorted(seen))


@pytest.mark.slow
def test_every_read_of_the_plan_is_allowed(observed: tuple[set[str], dict[str, Any]]) -> None:
    seen, state = observed
    missing = seen - NEEDS_NO_PERMISSION - read_policy(state)
    assert not missing, (
        f"terraform plan calls these, the read policy does not allow them: {missing}"
    )


@pytest.mark.slow
def test_every_read_granted_is_seen_or_explained(observed: tuple[set[str], dict[str, Any]]) -> None:
    seen, state = observed
    unexplained = read_policy(state) - seen - set(NOT_SEEN_HERE)
    assert not unexplained, f"granted, never called by the plan, no reason given: {unexplained}"


def test_the_log_parser_maps_services_to_iam_prefixes() -> None:
    log = (
        "2026-01-01T00:00:00.000Z [DEBUG] provider: HTTP Request Sent: rpc.method=GetRole"
        " rpc.service=IAM rpc.system=aws\n"
        '2026-01-01T00:00:01.000Z [DEBUG] provider: HTTP Request Sent: rpc.service="Route 53"\n'
        "http.request.body=\n<xml/>\n rpc.method=ListResourceRecordSets\n"
        "2026-01-01T00:00:02.000Z [DEBUG] provider: HTTP Response Received: rpc.method=Other"
        " rpc.service=EC2\n"
    )
    assert calls(log) == {"iam:GetRole", "route53:ListResourceRecordSets"}
