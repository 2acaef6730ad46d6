"""modules/ecs_cluster: the ALB answers a request for any Host but the
service's name with a fixed 404 before it reaches a task, and refuses the
requests a desync could hide in (Transfer-Encoding beside Content-Length
among them) with its strictest desync mitigation.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.terraform.hcl import ECS, expr, one_block, resources

RULE = "aws_lb_listener_rule.service_host"


@pytest.fixture(scope="module")
def found() -> dict[str, Any]:
    return resources(ECS)


def test_the_https_listener_answers_404_by_default(found: dict[str, Any]) -> None:
    action = one_block(found["aws_lb_listener.https"], "default_action")
    assert action["type"] == "fixed-response"
    assert "target_group_arn" not in action
    response = one_block(action, "fixed_response")
    assert str(response["status_code"]) == "404"
    assert response["content_type"] == "text/plain"


def test_only_the_service_name_is_forwarded_to_the_tasks(found: dict[str, Any]) -> None:
    rule = found[RULE]
    assert expr(rule["listener_arn"]) == "aws_lb_listener.https.arn"
    action = one_block(rule, "action")
    assert action["type"] == "forward"
    assert expr(action["target_group_arn"]) == "aws_lb_target_group.this.arn"
    condition = one_block(rule, "condition")
    assert set(condition) == {"host_header"}, "a rule with any other condition lets less through"
    assert one_block(condition, "host_header")["values"] == ["${var.domain_name}"]
    assert expr(found["aws_route53_record.alb"]["name"]) == "var.domain_name"


def test_no_other_route_reaches_the_target_group(found: dict[str, Any]) -> None:
    """The rule is the target group's only way in: no other listener or rule
    forwards (health checks go to the targets directly, not through one)."""
    forwarding = [
        address
        for address, body in found.items()
        if address.startswith(("aws_lb_listener.", "aws_lb_listener_rule."))
        and "aws_lb_target_group.this.arn" in json.dumps(body)
    ]
    assert forwarding == [RULE]


def test_the_service_waits_for_the_rule(found: dict[str, Any]) -> None:
    """ECS refuses a service whose target group no listener or rule uses."""
    assert f"${{{RULE}}}" in found["aws_ecs_service.this"]["depends_on"]


def test_desync_mitigation_is_strictest(found: dict[str, Any]) -> None:
    assert found["aws_lb.this"]["desync_mitigation_mode"] == "strictest"
