"""What the traffic rehearsal runs, read from Terraform: the task, the target group, the service.

The copy cannot drift from infra/ because it is not a copy: `from_terraform`
applies the task definition to the emulated account (real Terraform, the real
provider, tools/rehearse's emulator) and reads back the container definition
that ECS would run, then reads the target group's, the load balancer's and the
service's settings from a plan of the whole root. Nothing here knows a default.

`Spec.scaled` shortens every duration by one factor, so that seven scenarios fit
in a few minutes: the health check's interval, the deregistration delay, the
stop timeout and the app's own timeouts shrink together, and every relation
between them (the pre-stop delay above interval x unhealthy threshold, the stop
timeout above pre-stop plus graceful bound) keeps holding.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

# Settings of the app, in whole seconds, that are durations: scaled with the rest.
DURATION_ENV = ("FINLEX_GRACEFUL_TIMEOUT", "FINLEX_KEEPALIVE_TIMEOUT", "FINLEX_PRESTOP_DELAY")
EXAMPLE = "quickstart-default-vpc"
TASK_DEFINITION = "module.ecs_cluster.aws_ecs_task_definition.this"
TARGET_GROUP = "module.ecs_cluster.aws_lb_target_group.this"
LOAD_BALANCER = "module.ecs_cluster.aws_lb.this"
SERVICE = "module.ecs_cluster.aws_ecs_service.this"
HOST_RULE = "module.ecs_cluster.aws_lb_listener_rule.service_host"
LISTENER = "module.ecs_cluster.aws_lb_listener.https"


class SpecError(Exception):
    """Terraform did not give what the rehearsal needs; the message says what."""


@dataclass(frozen=True)
class HealthCheck:
    """The target group's health check (what the load balancer asks)."""

    path: str
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: str


@dataclass(frozen=True)
class Container:
    """The container definition ECS would run."""

    port: int
    user: str
    read_only: bool
    environment: dict[str, str]
    health_command: list[str]
    health_interval: float
    health_timeout: float
    health_retries: int
    health_start_period: float
    stop_timeout: float
    cpu_units: int
    memory_mib: int


@dataclass(frozen=True)
class Service:
    """The ECS service's deployment settings."""

    desired_count: int
    minimum_healthy_percent: int
    maximum_percent: int
    circuit_breaker: bool
    rollback: bool
    grace_period: float


@dataclass(frozen=True)
class Spec:
    container: Container
    health_check: HealthCheck
    deregistration_delay: float
    idle_timeout: float
    service: Service
    # The listener forwards these Host names to the target group; any other
    # Host gets the listener's fixed response with this status.
    host_names: list[str]
    other_host_status: int
    time_scale: float = 1.0

    @property
    def prestop_delay(self) -> float:
        return float(self.container.environment.get("FINLEX_PRESTOP_DELAY", "0"))

    @property
    def detection(self) -> float:
        """Seconds the load balancer needs to see a dead target: interval x unhealthy threshold."""
        return self.health_check.interval * self.health_check.unhealthy_threshold

    @property
    def breaker_threshold(self) -> int:
        """Failed tasks after which the circuit breaker gives up: half the desired
        count, at least 3 and at most 200 (ECS's rule)."""
        return min(200, max(3, math.ceil(self.service.desired_count / 2)))

    def scaled(self, factor: float) -> Spec:
        """Every duration times `factor`; the app's settings stay whole seconds (rounded up)."""
        if not 0 < factor <= 1:
            raise SpecError(f"time scale {factor} is not in (0, 1]")
        env = dict(self.container.environment)
        for name in DURATION_ENV:
            if name in env:
                env[name] = str(math.ceil(int(env[name]) * factor))
        container = replace(
            self.container,
            environment=env,
            health_interval=self.container.health_interval * factor,
            health_timeout=self.container.health_timeout * factor,
            health_start_period=self.container.health_start_period * factor,
            stop_timeout=math.ceil(self.container.stop_timeout * factor),
        )
        check = replace(
            self.health_check,
            interval=self.health_check.interval * factor,
            timeout=self.health_check.timeout * factor,
        )
        return replace(
            self,
            container=container,
            health_check=check,
            deregistration_delay=self.deregistration_delay * factor,
            idle_timeout=self.idle_timeout * factor,
            service=replace(self.service, grace_period=self.service.grace_period * factor),
            time_scale=self.time_scale * factor,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Spec:
        return cls(
            container=Container(**data["container"]),
            health_check=HealthCheck(**data["health_check"]),
            deregistration_delay=data["deregistration_delay"],
            idle_timeout=data["idle_timeout"],
            service=Service(**data["service"]),
            host_names=list(data["host_names"]),
            other_host_status=int(data["other_host_status"]),
            time_scale=data["time_scale"],
        )


def container_of(definitions: list[dict[str, Any]]) -> Container:
    """The one container of the task definition, as ECS registered it."""
    if len(definitions) != 1:
        raise SpecError(f"the task definition has {len(definitions)} containers; expected 1")
    (c,) = definitions
    check = c.get("healthCheck") or {}
    command = list(check.get("command", []))
    if command[:1] == ["CMD"]:
        command = command[1:]
    else:
        raise SpecError(f"the container health check {command!r} is not in CMD form")
    return Container(
        port=int(c["portMappings"][0]["containerPort"]),
        user=str(c.get("user", "")),
        read_only=bool(c.get("readonlyRootFilesystem", False)),
        environment={e["name"]: e["value"] for e in c.get("environment", [])},
        health_command=command,
        health_interval=float(check["interval"]),
        health_timeout=float(check["timeout"]),
        health_retries=int(check["retries"]),
        health_start_period=float(check.get("startPeriod", 0)),
        stop_timeout=float(c.get("stopTimeout", 30)),
        cpu_units=int(c.get("cpu", 0)),
        memory_mib=int(c.get("memory", 0)),
    )


def from_plan(
    planned: Mapping[str, Any], definitions: list[dict[str, Any]], task: Mapping[str, Any]
) -> Spec:
    """A Spec from `terraform show -json` of a plan, the registered container
    definitions and the task definition resource's own values (cpu, memory)."""
    after = {change["address"]: change["change"]["after"] for change in planned["resource_changes"]}
    missing = [
        a for a in (TARGET_GROUP, LOAD_BALANCER, SERVICE, HOST_RULE, LISTENER) if a not in after
    ]
    if missing:
        raise SpecError(f"the plan has no {', '.join(missing)}")
    group, balancer, service = after[TARGET_GROUP], after[LOAD_BALANCER], after[SERVICE]
    (check,) = group["health_check"]
    breaker = (service.get("deployment_circuit_breaker") or [{}])[0]
    container = container_of(definitions)
    container = replace(
        container,
        cpu_units=container.cpu_units or int(task["cpu"]),
        memory_mib=container.memory_mib or int(task["memory"]),
    )
    (condition,) = after[HOST_RULE]["condition"]
    (default,) = after[LISTENER]["default_action"]
    if default["type"] != "fixed-response":
        raise SpecError(f"the HTTPS listener's default action is {default['type']}")
    return Spec(
        container=container,
        health_check=HealthCheck(
            path=check["path"],
            interval=float(check["interval"]),
            timeout=float(check["timeout"]),
            healthy_threshold=int(check["healthy_threshold"]),
            unhealthy_threshold=int(check["unhealthy_threshold"]),
            matcher=str(check["matcher"]),
        ),
        deregistration_delay=float(group["deregistration_delay"]),
        idle_timeout=float(balancer["idle_timeout"]),
        service=Service(
            desired_count=int(service["desired_count"]),
            minimum_healthy_percent=int(service["deployment_minimum_healthy_percent"]),
            maximum_percent=int(service["deployment_maximum_percent"]),
            circuit_breaker=bool(breaker.get("enable", False)),
            rollback=bool(breaker.get("rollback", False)),
            grace_period=float(service.get("health_check_grace_period_seconds") or 0),
        ),
        host_names=list(condition["host_header"][0]["values"]),
        other_host_status=int(default["fixed_response"][0]["status_code"]),
    )


def from_terraform(infra: Path, example: str = EXAMPLE) -> Spec:
    """Apply the task definition of `infra` with `examples/<example>.tfvars` to
    the emulated account, plan the rest, and read the Spec from both (~20 s)."""
    from rehearse import account, emulator
    from rehearse.terraform import (
        INIT,
        Terraform,
        automation_env,
        cli_config,
        credentials,
        find_mirror,
        find_terraform,
        working_copy,
    )

    binary = find_terraform()
    emulated = emulator.start()
    try:
        with tempfile.TemporaryDirectory(prefix="finlex-traffic-spec-") as temp:
            work = Path(temp)
            copy = working_copy(infra, work / "infra", emulated.url)
            # The state of this throw-away apply stays in the temporary folder.
            (copy / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
            config = cli_config(find_mirror(binary), work / "terraform.rc")
            env = {**automation_env(config), **credentials(None)}
            tf = Terraform(copy, work / "terraform.log", env, binary)
            zone = account.hosted_zone(emulated.url, "example.com")
            variables = [
                f"-var-file={copy / 'examples' / f'{example}.tfvars'}",
                f"-var=hosted_zone_id={zone}",
            ]
            tf.run(*INIT)
            tf.run(
                "apply", "-auto-approve", "-input=false", "-no-color", "-lock=false",
                f"-target={TASK_DEFINITION}", *variables,
            )  # fmt: skip
            task = _task_definition(tf.json("show"))
            plan = ["plan", "-input=false", "-no-color", "-lock=false", *variables]
            tf.run(*plan, "-out=all.tfplan")
            planned = tf.json("show", "all.tfplan")
            return from_plan(planned, json.loads(task["container_definitions"]), task)
    finally:
        emulated.stop()


def _task_definition(state: Mapping[str, Any]) -> dict[str, Any]:
    for module in state["values"]["root_module"].get("child_modules", []):
        for resource in module.get("resources", []):
            if resource["address"] == TASK_DEFINITION:
                return dict(resource["values"])
    raise SpecError(f"the state has no {TASK_DEFINITION} after the targeted apply")
