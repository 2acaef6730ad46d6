"""The traffic rehearsal runs what Terraform renders: its spec is read from infra/, not copied.

The values are compared with the variables' own defaults in the HCL, so a
change to a default shows up in the rehearsal, and a spec that stopped reading
Terraform (a hard-coded copy) would drift from these tests.
"""

from __future__ import annotations

import math

import pytest
from traffic import spec as specs

from finlex_api import routes, settings
from infra_hcl import ECS, default_of


def test_the_spec_is_the_task_definition_and_target_group_terraform_renders(
    terraform_spec: specs.Spec,
) -> None:
    s = terraform_spec
    check = s.health_check
    assert check.path == default_of(ECS, "health_check_path") == routes.HEALTH_PATH
    assert check.interval == default_of(ECS, "health_check_interval")
    assert check.timeout == default_of(ECS, "health_check_timeout")
    assert check.healthy_threshold == default_of(ECS, "healthy_threshold")
    assert check.unhealthy_threshold == default_of(ECS, "unhealthy_threshold")
    assert s.deregistration_delay == default_of(ECS, "deregistration_delay")
    assert s.idle_timeout == default_of(ECS, "alb_idle_timeout")
    assert s.container.port == settings.Settings().port
    assert s.container.user == default_of(ECS, "container_user")
    assert s.container.stop_timeout == default_of(ECS, "stop_timeout")
    assert s.container.read_only
    assert s.container.health_command == ["bash", "/app/healthcheck.sh"]
    assert s.container.cpu_units == default_of(ECS, "cpu")
    assert s.service.desired_count == default_of(ECS, "desired_count")
    assert (s.service.minimum_healthy_percent, s.service.maximum_percent) == (100, 200)
    assert s.service.circuit_breaker
    assert s.service.rollback
    assert s.host_names == ["api.example.com"]  # the quick start's domain_name
    assert s.other_host_status == 404
    # The pre-stop delay is derived in Terraform (local.prestop_delay), not here.
    env = s.container.environment
    assert float(env["FINLEX_PRESTOP_DELAY"]) == s.detection + 5
    assert int(env["FINLEX_GRACEFUL_TIMEOUT"]) == default_of(ECS, "graceful_timeout")


@pytest.mark.parametrize("factor", [0.1, 0.2, 0.25, 0.5, 1.0])
def test_scaling_keeps_every_relation_the_infra_validates(
    terraform_spec: specs.Spec, factor: float
) -> None:
    s = terraform_spec.scaled(factor)
    env = s.container.environment
    prestop, graceful = s.prestop_delay, int(env["FINLEX_GRACEFUL_TIMEOUT"])
    assert prestop >= s.detection, "the task would stop serving before the checks see it"
    assert s.container.stop_timeout >= prestop + graceful
    assert int(env["FINLEX_KEEPALIVE_TIMEOUT"]) > s.idle_timeout
    assert s.deregistration_delay > 0
    assert s.time_scale == pytest.approx(factor)
    # The server takes the scaled environment as it is (whole seconds, in range).
    assert settings.load(env).prestop_delay == math.ceil(terraform_spec.prestop_delay * factor)


def test_a_scale_outside_zero_to_one_is_refused(terraform_spec: specs.Spec) -> None:
    with pytest.raises(specs.SpecError, match="not in"):
        terraform_spec.scaled(2)


def test_the_spec_survives_its_json(terraform_spec: specs.Spec) -> None:
    assert specs.Spec.from_json(terraform_spec.to_json()) == terraform_spec


def test_a_plan_without_the_target_group_names_what_is_missing() -> None:
    with pytest.raises(specs.SpecError, match="aws_lb_target_group"):
        specs.from_plan({"resource_changes": []}, [], {})
