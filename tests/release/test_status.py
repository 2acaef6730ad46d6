"""status: the service's revision, images, deployment alarms, deployments and target health."""

from __future__ import annotations

import re

import boto3

from finlex_release.errors import Exit
from support.release_fakes import (
    ALARMS,
    REGION,
    clients_with,
    controller,
)


def test_status_shows_image_deployments_and_target_health(stack, run) -> None:
    result = run("status", "--cluster", "finlex", "--service", "finlex", "--require-healthy")
    assert result.code == 0, result.err
    assert f"container finlex: {stack.image.uri}:1.0.0" in result.out
    assert "PRIMARY" in result.out
    assert "target group finlex: 10.0.1.10:5000 healthy" in result.out


def test_status_require_healthy_fails_without_targets(stack, run) -> None:
    boto3.client("elbv2", region_name=REGION).deregister_targets(
        TargetGroupArn=stack.target_group, Targets=[{"Id": "10.0.1.10", "Port": 5000}]
    )
    result = run("status", "--cluster", "finlex", "--service", "finlex", "--require-healthy")
    assert result.code == Exit.FAILED
    assert "no load balancer targets registered" in result.err


def test_status_shows_the_deployment_alarms(stack, run) -> None:
    ecs = controller(["COMPLETED"], alarms=ALARMS)
    result = run("status", "--cluster", "finlex", "--service", "finlex", clients=clients_with(ecs))
    assert result.code == 0, result.err
    (line,) = [line for line in result.out.splitlines() if "deployment alarms:" in line]
    shown = re.fullmatch(r"  deployment alarms: (.+) \(enabled: (\w+), rollback: (\w+)\)", line)
    assert shown, line
    assert shown[1].split(", ") == ALARMS["alarmNames"]
    assert (shown[2], shown[3]) == ("yes", "yes")


def test_status_without_deployment_alarms_says_nothing_of_them(stack, run) -> None:
    result = run("status", "--cluster", "finlex", "--service", "finlex")
    assert result.code == 0, result.err
    assert "deployment alarms" not in result.out
