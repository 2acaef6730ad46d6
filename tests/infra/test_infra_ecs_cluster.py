"""modules/ecs_cluster: everything the seed lists, in the detail of issue 3."""

from __future__ import annotations

import json

import pytest

from support.terraform.hcl import (
    ECS,
    default_of,
    expr,
    labelled,
    lifecycle,
    locals_of,
    one_block,
    resources,
)

SERVICE = "aws_ecs_service.this"


@pytest.fixture(scope="module")
def found():
    return resources(ECS)


@pytest.fixture(scope="module")
def container():
    (definition,) = locals_of(ECS)["container_definitions"]
    return definition


def test_everything_the_seed_lists(found) -> None:
    types = {address.split(".")[0] for address in found}
    for rtype in (
        "aws_lb",  # Application Load Balancer
        "aws_lb_listener",  # ... Listener
        "aws_lb_target_group",  # ... Target Group
        "aws_security_group",  # Security Group
        "aws_route53_record",  # Route53 Record
        "aws_ecs_cluster",
        "aws_ecs_task_definition",
        "aws_ecs_service",
    ):
        assert rtype in types, f"{rtype} is missing"


# --- HTTPS and the load balancer ---------------------------------------------------


def test_certificate_is_dns_validated_in_the_zone(found) -> None:
    certificate = found["aws_acm_certificate.this"]
    assert certificate["validation_method"] == "DNS"
    assert expr(certificate["domain_name"]) == "var.domain_name"
    record = found["aws_route53_record.certificate_validation"]
    assert expr(record["zone_id"]) == "var.hosted_zone_id"
    assert "aws_acm_certificate.this.domain_validation_options" in expr(record["for_each"])
    validation = found["aws_acm_certificate_validation.this"]
    assert "aws_route53_record.certificate_validation" in expr(
        validation["validation_record_fqdns"]
    )


def test_https_listener_tls13_uses_the_validated_certificate(found) -> None:
    https = found["aws_lb_listener.https"]
    assert https["port"] == 443
    assert https["protocol"] == "HTTPS"
    assert expr(https["ssl_policy"]) == "var.ssl_policy"
    assert default_of(ECS, "ssl_policy").startswith("ELBSecurityPolicy-TLS13-")
    assert expr(https["certificate_arn"]) == "aws_acm_certificate_validation.this.certificate_arn"
    # Forwarding is the service_host rule's (tests/infra/test_alb_host_rule.py).
    assert one_block(https, "default_action")["type"] == "fixed-response"


def test_http_listener_redirects_to_https(found) -> None:
    http = found["aws_lb_listener.http"]
    assert http["port"] == 80
    assert http["protocol"] == "HTTP"
    action = one_block(http, "default_action")
    assert action["type"] == "redirect"
    redirect = one_block(action, "redirect")
    assert redirect["protocol"] == "HTTPS"
    assert str(redirect["port"]) == "443"
    assert redirect["status_code"] == "HTTP_301"


def test_route53_alias_to_the_alb(found) -> None:
    record = found["aws_route53_record.alb"]
    assert record["type"] == "A"
    assert expr(record["name"]) == "var.domain_name"
    alias = one_block(record, "alias")
    assert expr(alias["name"]) == "aws_lb.this.dns_name"
    assert expr(alias["zone_id"]) == "aws_lb.this.zone_id"


def test_alb_hardening(found) -> None:
    alb = found["aws_lb.this"]
    assert alb["load_balancer_type"] == "application"
    assert alb["drop_invalid_header_fields"] is True
    assert expr(alb["enable_deletion_protection"]) == "var.alb_deletion_protection"
    assert default_of(ECS, "alb_deletion_protection") is True
    # Optional access logs: a dynamic block driven by a nullable bucket.
    (dynamic,) = alb["dynamic"]
    assert "access_logs" in dynamic
    assert "var.access_logs_bucket == null" in expr(dynamic["access_logs"]["for_each"])
    assert default_of(ECS, "access_logs_bucket") is None


# --- target group ------------------------------------------------------------------


def test_target_group(found) -> None:
    group = found["aws_lb_target_group.this"]
    assert group["target_type"] == "ip"
    assert expr(group["port"]) == "var.container_port"
    assert expr(group["deregistration_delay"]) == "var.deregistration_delay"
    assert default_of(ECS, "deregistration_delay") <= 30
    check = one_block(group, "health_check")
    assert check["enabled"] is True
    assert expr(check["path"]) == "var.health_check_path"
    assert check["matcher"] == "200"
    assert expr(check["interval"]) == "var.health_check_interval"
    assert expr(check["healthy_threshold"]) == "var.healthy_threshold"
    assert expr(check["unhealthy_threshold"]) == "var.unhealthy_threshold"
    assert expr(check["timeout"]) == "var.health_check_timeout"
    # Tuned, not the ALB defaults (30 s interval, 5 healthy, 2 unhealthy).
    assert default_of(ECS, "health_check_interval") < 30
    assert default_of(ECS, "healthy_threshold") < 5
    assert default_of(ECS, "health_check_timeout") < default_of(ECS, "health_check_interval")
    # Replaced before the old one goes; the prefix avoids name clashes.
    assert "name_prefix" in group
    assert "name" not in group
    assert lifecycle(group)["create_before_destroy"] is True


# --- security groups -----------------------------------------------------------------


def _rules(found, kind):
    return {
        address: body
        for address, body in found.items()
        if address.startswith(f"aws_vpc_security_group_{kind}_rule.")
    }


def test_alb_ingress_80_and_443_from_allowed_cidrs(found) -> None:
    ingress = _rules(found, "ingress")
    alb_rules = {
        (rule["from_port"], rule["to_port"]): rule
        for rule in ingress.values()
        if expr(rule["security_group_id"]) == "aws_security_group.alb.id"
    }
    assert set(alb_rules) == {(80, 80), (443, 443)}
    for rule in alb_rules.values():
        assert expr(rule["for_each"]) == "toset(var.allowed_ingress_cidrs)"
        assert expr(rule["cidr_ipv4"]) == "each.value"
        assert rule["ip_protocol"] == "tcp"
    assert default_of(ECS, "allowed_ingress_cidrs") == ["0.0.0.0/0"]


def test_task_ingress_only_from_the_alb_on_the_container_port(found) -> None:
    task_rules = [
        rule
        for rule in _rules(found, "ingress").values()
        if expr(rule["security_group_id"]) == "aws_security_group.tasks.id"
    ]
    assert len(task_rules) == 1
    (rule,) = task_rules
    assert expr(rule["referenced_security_group_id"]) == "aws_security_group.alb.id"
    assert expr(rule["from_port"]) == "var.container_port"
    assert expr(rule["to_port"]) == "var.container_port"
    assert "cidr_ipv4" not in rule


def test_egress_is_limited(found) -> None:
    egress = _rules(found, "egress")
    assert egress, "egress rules are missing"
    for address, rule in egress.items():
        assert rule["ip_protocol"] == "tcp", f"{address} allows every protocol"
        if expr(rule["security_group_id"]) == "aws_security_group.alb.id":
            # The ALB talks to the tasks only.
            assert expr(rule["referenced_security_group_id"]) == "aws_security_group.tasks.id"
            assert expr(rule["from_port"]) == "var.container_port"
        else:
            # Tasks: HTTPS out only (ECR, S3, CloudWatch Logs).
            assert expr(rule["security_group_id"]) == "aws_security_group.tasks.id"
            assert (rule["from_port"], rule["to_port"]) == (443, 443), address
    # No inline rules that would fight the separate rule resources.
    for name in ("alb", "tasks"):
        group = found[f"aws_security_group.{name}"]
        assert "ingress" not in group
        assert "egress" not in group


def test_every_security_group_and_rule_has_a_description(found) -> None:
    for address, body in found.items():
        if address.startswith(("aws_security_group.", "aws_vpc_security_group_")):
            assert str(body.get("description", "")).strip(), f"{address} has no description"


# --- cluster and logs ------------------------------------------------------------------


def test_container_insights_on(found) -> None:
    (setting,) = found["aws_ecs_cluster.this"]["setting"]
    assert setting["name"] == "containerInsights"
    assert expr(setting["value"]) == "var.container_insights"
    assert default_of(ECS, "container_insights") in {"enabled", "enhanced"}


def test_log_group_for_awslogs(found, container) -> None:
    group = found["aws_cloudwatch_log_group.this"]
    assert expr(group["retention_in_days"]) == "var.log_retention_days"
    assert default_of(ECS, "log_retention_days") == 30
    logging = container["logConfiguration"]
    assert logging["logDriver"] == "awslogs"
    assert expr(logging["options"]["awslogs-group"]) == "aws_cloudwatch_log_group.this.name"


# --- task definition ------------------------------------------------------------------


def test_task_definition_fargate_awsvpc(found) -> None:
    task = found["aws_ecs_task_definition.this"]
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["network_mode"] == "awsvpc"
    assert "var.cpu" in expr(task["cpu"])
    assert "var.memory" in expr(task["memory"])
    assert expr(task["container_definitions"]) == "jsonencode(local.container_definitions)"
    assert expr(task["execution_role_arn"]) == "aws_iam_role.execution.arn"
    assert expr(task["task_role_arn"]) == "aws_iam_role.task.arn"
    assert default_of(ECS, "cpu") == 256
    assert default_of(ECS, "memory") == 512


def test_execution_role_least_privilege(found) -> None:
    data = resources(ECS, "data")
    policy = data["aws_iam_policy_document.execution"]
    actions = set()
    for statement in policy["statement"]:
        assert statement.get("effect", "Allow") == "Allow"
        for action in statement["actions"]:
            actions.add(action)
            if statement["resources"] == ["*"]:
                # Only the token call, which has no resource-level permissions.
                assert action == "ecr:GetAuthorizationToken", f"{action} on *"
    assert actions == {
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    attached = found["aws_iam_role_policy.execution"]
    assert expr(attached["role"]) == "aws_iam_role.execution.id"
    # No managed policies (AmazonECSTaskExecutionRolePolicy allows every repository).
    assert not any(a.startswith("aws_iam_role_policy_attachment.") for a in found)


def test_task_role_is_separate_and_assumable_only_by_ecs_tasks(found) -> None:
    assert found["aws_iam_role.task"] is not found["aws_iam_role.execution"]
    trust = resources(ECS, "data")["aws_iam_policy_document.ecs_tasks_assume"]
    (statement,) = trust["statement"]
    (principal,) = statement["principals"]
    assert principal["identifiers"] == ["ecs-tasks.amazonaws.com"]
    variables = {condition["variable"] for condition in statement["condition"]}
    assert {"aws:SourceAccount", "aws:SourceArn"} <= variables
    for name in ("task", "execution"):
        role = found[f"aws_iam_role.{name}"]
        assumed = expr(role["assume_role_policy"])
        assert assumed == "data.aws_iam_policy_document.ecs_tasks_assume.json"


def test_container_hardening(container, found) -> None:
    assert container["readonlyRootFilesystem"] is True
    user = default_of(ECS, "container_user")
    assert expr(container["user"]) == "var.container_user"
    assert not user.startswith("0"), "the container must not run as root"
    # One writable volume, at /tmp, backed by a task volume.
    (mount,) = container["mountPoints"]
    assert mount["containerPath"] == "/tmp"
    assert mount["readOnly"] is False
    (volume,) = found["aws_ecs_task_definition.this"]["volume"]
    assert volume["name"] == mount["sourceVolume"]
    assert "privileged" not in container


def test_container_health_check_without_curl(container) -> None:
    check = container["healthCheck"]
    command = check["command"]
    assert command[0] == "CMD"
    assert "curl" not in json.dumps(command)
    assert "wget" not in json.dumps(command)
    assert check["startPeriod"] > 0


def test_image_is_repository_url_plus_tag_variable(container) -> None:
    assert container["image"] == "${var.image_repository_url}:${var.image_tag}"


def test_environment_sets_workers_and_graceful_timeout() -> None:
    environment = expr(locals_of(ECS)["container_environment"])
    for name, source in (
        ("FINLEX_PORT", "var.container_port"),
        ("FINLEX_WORKERS", "local.workers"),
        ("FINLEX_GRACEFUL_TIMEOUT", "var.graceful_timeout"),
    ):
        assert f"{name} = tostring({source})" in environment
    # Workers come from the task's cpu, never from os.cpu_count() inside the task.
    assert "var.cpu" in expr(locals_of(ECS)["workers"])


# --- service --------------------------------------------------------------------------


def test_service_lifecycle_seed(found) -> None:
    rules = lifecycle(found[SERVICE])
    # ECS keeps service names unique in a cluster: with a fixed name, a
    # create-before-destroy replacement can never succeed (the rehearsal plans it).
    assert "create_before_destroy" not in rules
    assert expr(found[SERVICE]["name"]) == "var.name"
    assert "task_definition" in rules["ignore_changes"]


def test_service_deployment_settings(found) -> None:
    service = found[SERVICE]
    assert service["launch_type"] == "FARGATE"
    breaker = one_block(service, "deployment_circuit_breaker")
    assert breaker == {"enable": True, "rollback": True}
    # Zero-downtime rolling deploys: never below the desired count.
    assert service["deployment_minimum_healthy_percent"] == 100
    assert service["deployment_maximum_percent"] == 200
    assert expr(service["health_check_grace_period_seconds"]) == "var.health_check_grace_period"
    assert default_of(ECS, "health_check_grace_period") >= 30
    assert service["enable_execute_command"] is False
    network = one_block(service, "network_configuration")
    assert expr(network["subnets"]) == "var.task_subnet_ids"
    assert expr(network["assign_public_ip"]) == "var.assign_public_ip"
    balancer = one_block(service, "load_balancer")
    assert expr(balancer["container_port"]) == "var.container_port"
    assert expr(balancer["target_group_arn"]) == "aws_lb_target_group.this.arn"


def test_tasks_spread_over_two_azs(found) -> None:
    service = found[SERVICE]
    assert service["availability_zone_rebalancing"] == "ENABLED"
    (precondition,) = lifecycle(service)["precondition"]
    assert expr(precondition["condition"]) == "length(local.task_azs) >= 2"
    assert "availability_zone" in expr(locals_of(ECS)["task_azs"])
    assert default_of(ECS, "desired_count") >= 2
    assert default_of(ECS, "autoscaling_min_capacity") >= 2


def test_autoscaling_target_tracking_on_cpu_and_requests(found) -> None:
    target = found["aws_appautoscaling_target.this"]
    scaling = locals_of(ECS)
    assert expr(target["min_capacity"]) == "local.scaling_min_capacity"
    assert expr(target["max_capacity"]) == "local.scaling_max_capacity"
    assert expr(scaling["scaling_min_capacity"]).startswith(
        "var.autoscaling_enabled ? var.autoscaling_min_capacity :"
    )
    assert expr(scaling["scaling_max_capacity"]).startswith(
        "var.autoscaling_enabled ? var.autoscaling_max_capacity :"
    )
    assert target["scalable_dimension"] == "ecs:service:DesiredCount"
    assert target["resource_id"] == (
        "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
    )
    metrics = {}
    for name in ("cpu", "requests"):
        policy = found[f"aws_appautoscaling_policy.{name}"]
        assert policy["policy_type"] == "TargetTrackingScaling"
        configuration = one_block(policy, "target_tracking_scaling_policy_configuration")
        spec = one_block(configuration, "predefined_metric_specification")
        metrics[spec["predefined_metric_type"]] = spec
    assert set(metrics) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    label = expr(metrics["ALBRequestCountPerTarget"]["resource_label"])
    assert "aws_lb.this.arn_suffix" in label
    assert "aws_lb_target_group.this.arn_suffix" in label
    assert default_of(ECS, "autoscaling_min_capacity") == 2
    assert default_of(ECS, "autoscaling_max_capacity") == 6


# --- network inputs and outputs ----------------------------------------------------------


def test_network_is_an_input() -> None:
    variables = labelled(ECS, "variable")
    for name in ("vpc_id", "alb_subnet_ids", "task_subnet_ids", "assign_public_ip"):
        assert name in variables


def test_outputs_for_the_pipeline() -> None:
    outputs = labelled(ECS, "output")
    for name, value in (
        ("cluster_name", "aws_ecs_cluster.this.name"),
        ("service_name", "aws_ecs_service.this.name"),
        ("service_arn", "aws_ecs_service.this.id"),
        ("task_execution_role_arn", "aws_iam_role.execution.arn"),
        ("task_role_arn", "aws_iam_role.task.arn"),
        ("task_definition_family", "aws_ecs_task_definition.this.family"),
        ("alb_dns_name", "aws_lb.this.dns_name"),
    ):
        assert expr(outputs[name]["value"]) == value
