"""modules/monitoring through real Terraform and the real hashicorp/aws
provider, against moto: the rendered dashboard JSON, and the alarms, topic and
dashboard as CloudWatch and SNS hold them after `terraform apply`.

Needs the terraform CLI and a local filesystem mirror of hashicorp/aws (the
registry is not reachable here). The mirror is found through
FINLEX_TF_PROVIDER_MIRROR, or in Terraform's implied local mirror folders and
under /opt (tests/tf_offline.py); without either the tests skip and say why,
also under CI=true, as the rehearsal does."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from finlex_api.logs import ERROR_LOGGER
from infra_hcl import MONITORING
from tf_offline import cli_config, require_terraform_and_mirror

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
INPUTS = {
    "name": "finlex",
    "load_balancer_arn_suffix": "app/finlex/0123456789abcdef",
    "target_group_arn_suffix": "targetgroup/finle20261128/fedcba9876543210",
    "cluster_name": "finlex",
    "service_name": "finlex",
    "log_group_name": "/ecs/finlex",
    "alarm_emails": ["ops@example.com"],
}
# The CloudWatch metrics the dashboard may show, with the dimensions each is
# published under (AWS docs: "CloudWatch metrics for your Application Load
# Balancer", "Amazon ECS CloudWatch metrics", "Container Insights metrics").
LB_AND_TG = frozenset({"LoadBalancer", "TargetGroup"})
SERVICE = frozenset({"ClusterName", "ServiceName"})
KNOWN_METRICS = {
    ("AWS/ApplicationELB", "RequestCount"): LB_AND_TG,
    ("AWS/ApplicationELB", "TargetResponseTime"): LB_AND_TG,
    ("AWS/ApplicationELB", "HTTPCode_Target_4XX_Count"): LB_AND_TG,
    ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"): LB_AND_TG,
    ("AWS/ApplicationELB", "HealthyHostCount"): LB_AND_TG,
    ("AWS/ApplicationELB", "UnHealthyHostCount"): LB_AND_TG,
    ("AWS/ApplicationELB", "HTTPCode_ELB_4XX_Count"): frozenset({"LoadBalancer"}),
    ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"): frozenset({"LoadBalancer"}),
    ("AWS/ECS", "CPUUtilization"): SERVICE,
    ("AWS/ECS", "MemoryUtilization"): SERVICE,
    ("ECS/ContainerInsights", "RunningTaskCount"): SERVICE,
    ("ECS/ContainerInsights", "DesiredTaskCount"): SERVICE,
}
DIMENSION_VALUES = {
    "LoadBalancer": INPUTS["load_balancer_arn_suffix"],
    "TargetGroup": INPUTS["target_group_arn_suffix"],
    "ClusterName": INPUTS["cluster_name"],
    "ServiceName": INPUTS["service_name"],
}
SERVICES = ["sts", "iam", "kms", "sns", "cloudwatch"]
FAKE_KEY = "testing"  # moto accepts any credentials


@dataclass
class Harness:
    folder: Path
    env: dict[str, str]
    endpoint: str

    def run(self, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["terraform", *args, "-no-color"],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, timeout: int = 300) -> str:
        result = self.run(*args, timeout=timeout)
        assert result.returncode == 0, (
            f"terraform {args[0]} failed:\n{result.stdout}{result.stderr}"
        )
        return result.stdout

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=FAKE_KEY,
            aws_secret_access_key=FAKE_KEY,
        )


def _main_tf(endpoint: str) -> str:
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in SERVICES)
    inputs = "\n".join(f"  {key} = var.{key}" for key in INPUTS)
    variables = "\n".join(f'variable "{key}" {{}}' for key in INPUTS)
    return f"""
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}

provider "aws" {{
  region                      = "{REGION}"
  access_key                  = "{FAKE_KEY}"
  secret_key                  = "{FAKE_KEY}"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  endpoints {{
{endpoints}
  }}
}}

{variables}
variable "alarm_topic_kms_key_arn" {{ default = null }}

module "monitoring" {{
  source = "{MONITORING.as_posix()}"
{inputs}
  alarm_topic_kms_key_arn = var.alarm_topic_kms_key_arn
}}

output "deployment_alarm_names" {{ value = module.monitoring.deployment_alarm_names }}
output "alarm_names" {{ value = module.monitoring.alarm_names }}
output "alarm_topic_arn" {{ value = module.monitoring.alarm_topic_arn }}
output "dashboard_url" {{ value = module.monitoring.dashboard_url }}
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Iterator[Harness]:
    # Skips without Terraform or the provider; fails instead under CI=true (tests/tf_offline.py).
    _, mirror = require_terraform_and_mirror("test_monitoring_terraform")
    folder = tmp_path_factory.mktemp("monitoring")
    config = cli_config(folder, mirror)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto's backends are global to the process: an earlier test's emulated
    # account (tests/pipeline applies the same module) must not be this one's.
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    (folder / "main.tf").write_text(_main_tf(endpoint), encoding="utf-8")
    (folder / "terraform.tfvars.json").write_text(json.dumps(INPUTS), encoding="utf-8")
    try:
        built = Harness(folder, env, endpoint)
        built.ok("init", "-input=false", "-backend=false")
        yield built
    finally:
        server.stop()


@pytest.fixture(scope="module")
def plan(harness) -> dict[str, Any]:
    harness.ok("plan", "-input=false", "-out=monitoring.tfplan")
    return json.loads(harness.ok("show", "-json", "monitoring.tfplan"))


def _planned(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (module,) = plan["planned_values"]["root_module"]["child_modules"]
    return {
        resource["address"]: resource.get("values", {})
        for resource in module["resources"]
        if resource["mode"] == "managed"
    }


@pytest.fixture(scope="module")
def dashboard(plan) -> dict[str, Any]:
    body = _planned(plan)["module.monitoring.aws_cloudwatch_dashboard.this"]["dashboard_body"]
    assert isinstance(body, str), "the dashboard body must be known at plan time"
    parsed = json.loads(body)
    assert isinstance(parsed, dict)
    return parsed


@pytest.fixture(scope="module")
def applied(harness, plan) -> dict[str, Any]:
    harness.ok("apply", "-input=false", "monitoring.tfplan", timeout=600)
    outputs = json.loads(harness.ok("output", "-json"))
    return {key: value["value"] for key, value in outputs.items()}


def _metric_rows(dashboard: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    rows = []
    for widget in dashboard["widgets"]:
        if widget["type"] == "metric":
            rows += [
                (widget["properties"]["title"], row) for row in widget["properties"]["metrics"]
            ]
    return rows


def test_dashboard_metrics_exist_with_their_dimensions(dashboard) -> None:
    rows = _metric_rows(dashboard)
    assert len(rows) >= 12
    for title, row in rows:
        options = row[-1] if isinstance(row[-1], dict) else {}
        names = [item for item in row if not isinstance(item, dict)]
        namespace, metric, *pairs = names
        assert (namespace, metric) in KNOWN_METRICS, f"{title}: unknown metric {namespace} {metric}"
        dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
        assert frozenset(dimensions) == KNOWN_METRICS[(namespace, metric)], f"{title}: {row}"
        for key, value in dimensions.items():
            assert value == DIMENSION_VALUES[key], f"{title}: {key}={value}"
        assert set(options) <= {"label", "stat"}, f"{title}: {options}"


def test_dashboard_shows_what_the_issue_lists(dashboard) -> None:
    shown = set()
    for _title, row in _metric_rows(dashboard):
        options = row[-1] if isinstance(row[-1], dict) else {}
        shown.add((row[1], options.get("stat")))
    metrics = {metric for metric, _stat in shown}
    assert "RequestCount" in metrics
    assert {("TargetResponseTime", "p50"), ("TargetResponseTime", "p99")} <= shown
    assert {"HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count"} <= metrics
    assert {"HTTPCode_ELB_4XX_Count", "HTTPCode_ELB_5XX_Count"} <= metrics
    assert {"HealthyHostCount", "UnHealthyHostCount"} <= metrics
    assert {"RunningTaskCount", "DesiredTaskCount"} <= metrics
    assert {"CPUUtilization", "MemoryUtilization"} <= metrics
    types = [widget["type"] for widget in dashboard["widgets"]]
    assert types.count("alarm") == 1
    assert types.count("log") == 1
    for widget in dashboard["widgets"]:
        if "region" in widget["properties"]:
            assert widget["properties"]["region"] == REGION
        assert widget["x"] >= 0
        assert widget["x"] + widget["width"] <= 24, "the dashboard grid is 24 columns wide"


def test_dashboard_log_widget_queries_the_error_logger(dashboard) -> None:
    (widget,) = [widget for widget in dashboard["widgets"] if widget["type"] == "log"]
    query = widget["properties"]["query"]
    assert query.startswith(f"SOURCE '{INPUTS['log_group_name']}' | ")
    assert f'filter logger = "{ERROR_LOGGER}"' in query
    assert "sort @timestamp desc" in query


def test_dashboard_alarm_widget_names_every_alarm_that_exists(dashboard, applied, harness) -> None:
    (widget,) = [widget for widget in dashboard["widgets"] if widget["type"] == "alarm"]
    alarms = harness.client("cloudwatch").describe_alarms()["MetricAlarms"]
    existing = {alarm["AlarmArn"] for alarm in alarms}
    assert len(existing) == 7
    assert sorted(widget["properties"]["alarms"]) == sorted(existing)


def test_dashboard_as_cloudwatch_holds_it(applied, harness, dashboard) -> None:
    held = harness.client("cloudwatch").get_dashboard(DashboardName=INPUTS["name"])
    assert json.loads(held["DashboardBody"]) == dashboard
    assert applied["dashboard_url"] == (
        f"https://console.aws.amazon.com/cloudwatch/home?region={REGION}"
        f"#dashboards/dashboard/{INPUTS['name']}"
    )


# key -> (metric, or the metrics of the metric-math queries; statistic; threshold;
#         evaluation periods; datapoints to alarm; treat_missing_data)
EXPECTED_ALARMS = {
    "elb_5xx": ("HTTPCode_ELB_5XX_Count", "Sum", 10, 3, 2, "notBreaching"),
    "target_5xx_rate": (
        ("HTTPCode_Target_5XX_Count", "RequestCount"),
        "Sum",
        5,
        3,
        2,
        "notBreaching",
    ),
    "p99_latency": ("TargetResponseTime", "p99", 1, 3, 3, "notBreaching"),
    "unhealthy_hosts": ("UnHealthyHostCount", "Maximum", 0, 2, 2, "notBreaching"),
    "tasks_below_desired": (
        ("DesiredTaskCount", "RunningTaskCount"),
        "Average",
        0,
        5,
        5,
        "breaching",
    ),
    "cpu_high": ("CPUUtilization", "Average", 85, 5, 5, "notBreaching"),
    "memory_high": ("MemoryUtilization", "Maximum", 85, 5, 5, "notBreaching"),
}


@pytest.mark.parametrize("key", sorted(EXPECTED_ALARMS))
def test_alarm_as_cloudwatch_holds_it(applied, harness, key) -> None:
    metric, statistic, threshold, periods, datapoints, missing = EXPECTED_ALARMS[key]
    name = applied["alarm_names"][key]
    (alarm,) = harness.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    topic = applied["alarm_topic_arn"]
    assert alarm["AlarmActions"] == [topic]
    assert alarm["OKActions"] == [topic]
    assert alarm["Threshold"] == threshold
    assert alarm["EvaluationPeriods"] == periods
    assert alarm["DatapointsToAlarm"] == datapoints
    assert alarm["TreatMissingData"] == missing
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    if isinstance(metric, tuple):
        stats = {
            query["MetricStat"]["Metric"]["MetricName"]: query["MetricStat"]
            for query in alarm["Metrics"]
            if "MetricStat" in query
        }
        assert set(stats) == set(metric)
        for stat in stats.values():
            assert stat["Stat"] == statistic
            assert stat["Period"] == 60
        (expression,) = [query for query in alarm["Metrics"] if "Expression" in query]
        assert expression["ReturnData"] is True
    else:
        assert alarm["MetricName"] == metric
        assert alarm.get("ExtendedStatistic", alarm.get("Statistic")) == statistic
        assert alarm["Period"] == 60
        dimensions = {item["Name"]: item["Value"] for item in alarm["Dimensions"]}
        for dimension, value in dimensions.items():
            assert value == DIMENSION_VALUES[dimension]


def test_deployment_alarms_exist(applied, harness) -> None:
    names = applied["deployment_alarm_names"]
    assert names == ["finlex-target-5xx-rate", "finlex-p99-latency", "finlex-unhealthy-hosts"]
    found = harness.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    assert sorted(alarm["AlarmName"] for alarm in found) == sorted(names)


def test_topic_is_encrypted_with_the_created_key_and_has_the_subscription(applied, harness) -> None:
    sns = harness.client("sns")
    topic = applied["alarm_topic_arn"]
    assert topic == f"arn:aws:sns:{REGION}:{ACCOUNT}:finlex-alarms"
    key_id = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"]
    kms = harness.client("kms")
    key = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER"
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    services = [statement["Principal"].get("Service") for statement in policy["Statement"]]
    assert "cloudwatch.amazonaws.com" in services
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(item["Protocol"], item["Endpoint"]) for item in subscriptions] == [
        ("email", "ops@example.com")
    ]


def test_a_second_plan_changes_nothing(applied, harness) -> None:
    """What the provider wrote is what it reads back: no perpetual diff."""
    result = harness.run("plan", "-input=false", "-detailed-exitcode")
    assert result.returncode == 0, f"the plan after apply is not empty:\n{result.stdout}"


def test_a_given_key_replaces_the_created_one(harness, applied) -> None:
    given = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
    harness.ok(
        "plan",
        "-input=false",
        "-refresh=false",
        f"-var=alarm_topic_kms_key_arn={given}",
        "-out=given-key.tfplan",
    )
    changes = {
        change["address"]: change["change"]
        for change in json.loads(harness.ok("show", "-json", "given-key.tfplan"))[
            "resource_changes"
        ]
    }
    assert changes["module.monitoring.aws_kms_key.alarms[0]"]["actions"] == ["delete"]
    topic = changes["module.monitoring.aws_sns_topic.alarms"]
    assert topic["actions"] == ["update"]
    assert topic["after"]["kms_master_key_id"] == given


def test_aws_managed_key_is_rejected(harness) -> None:
    result = harness.run(
        "plan",
        "-input=false",
        "-refresh=false",
        f"-var=alarm_topic_kms_key_arn=arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/sns",
    )
    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert "Invalid value for variable" in message
    assert "alias/aws/sns does not admit CloudWatch alarms" in message
