"""status: the service's revision, images, deployment alarms, deployments and target health."""

from __future__ import annotations

import boto3
from release_fakes import (
    ALARMS,
    REGION,
    clients_with,
    controller,
)

from finlex_release.errors import Exit


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
    assert (
        "  deployment alarms: finlex-5xx-rate, finlex-p99 (enabled: yes, rollback: yes)\n"
        in result.out
    )


def test_status_without_deployment_alarms_says_nothing_of_them(stack, run) -> None:
    result = run("status", "--cluster", "finlex", "--service", "finlex")
    assert result.code == 0, result.err
    assert "deployment alarms" not in result.out
