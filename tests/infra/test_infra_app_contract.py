"""The infra agrees with the app. Each shared value has one home in application/
(routes.py: paths; settings.py: port, graceful bound, keep-alive; VERSION). Terraform,
the Dockerfile and the release tool cannot import Python, so they hold copies:
every copy is tied to its home by a test here (the release tool's default paths
in tests/release/test_verify.py), and fails when the two drift apart."""

from __future__ import annotations

import ast
import re

import pytest

from finlex_api import routes, settings
from support.terraform.hcl import (
    APPLICATION,
    ECS,
    INFRA,
    default_of,
    expr,
    labelled,
    locals_of,
    resources,
)

DOCKERFILE = INFRA.parent / "Dockerfile"
FARGATE_MAX_STOP_TIMEOUT = 120


@pytest.fixture(scope="module")
def container():
    (definition,) = locals_of(ECS)["container_definitions"]
    return definition


def _effective(variable: str):
    """The value the root configuration gives a module variable: the root's
    own variable default when it passes one through, else the module default."""
    call = labelled(INFRA, "module")["ecs_cluster"]
    if variable in call:
        passed = expr(call[variable])
        match = re.fullmatch(r"var\.(\w+)", passed)
        assert match, f"root passes {variable} = {passed}; cannot check it statically"
        return default_of(INFRA, match.group(1))
    return default_of(ECS, variable)


def test_health_check_path_is_the_apps_health_route() -> None:
    assert _effective("health_check_path") == routes.HEALTH_PATH
    group = resources(ECS)["aws_lb_target_group.this"]
    assert expr(group["health_check"][0]["path"]) == "var.health_check_path"


def test_container_port_is_the_apps_port(container) -> None:
    assert _effective("container_port") == settings.Settings().port
    assert container["portMappings"][0]["containerPort"] == "${var.container_port}"


def test_graceful_timeout_default_is_the_apps() -> None:
    assert _effective("graceful_timeout") == settings.DEFAULT_GRACEFUL_TIMEOUT


def test_deregistration_delay_exceeds_the_graceful_bound() -> None:
    delay = _effective("deregistration_delay")
    assert delay > settings.DEFAULT_GRACEFUL_TIMEOUT
    assert delay <= 30, "short enough for fast deploys"


def test_stop_timeout_exceeds_the_graceful_bound(container) -> None:
    stop = _effective("stop_timeout")
    assert settings.DEFAULT_GRACEFUL_TIMEOUT < stop <= FARGATE_MAX_STOP_TIMEOUT
    assert container["stopTimeout"] == "${var.stop_timeout}"


def test_graceful_timeout_range_matches_the_apps() -> None:
    # The module accepts the same upper bound as the app (settings._RANGES),
    # so that stopTimeout (<= 120) can always exceed it.
    high = settings._RANGES["graceful_timeout"][1]
    (rule,) = labelled(ECS, "variable")["graceful_timeout"]["validation"]
    assert f"var.graceful_timeout <= {high}" in expr(rule["condition"])
    assert high < FARGATE_MAX_STOP_TIMEOUT


def test_environment_names_are_the_apps_settings() -> None:
    environment = expr(locals_of(ECS)["container_environment"])
    names = set(re.findall(r"\b(FINLEX_[A-Z_]+)\s*=", environment))
    assert names, "the task definition sets no FINLEX_* variables"
    assert names <= set(settings.ENVIRONMENT), names - set(settings.ENVIRONMENT)
    assert {"FINLEX_WORKERS", "FINLEX_GRACEFUL_TIMEOUT", "FINLEX_PORT"} <= names


def test_container_probe_calls_the_health_route_without_curl(container) -> None:
    command = container["healthCheck"]["command"]
    assert command == ["CMD", "bash", "/app/healthcheck.sh"]
    assert (APPLICATION / "healthcheck.sh").is_file()


def _probe_value(name: str) -> str:
    """A `name=value` line of application/healthcheck.sh."""
    source = (APPLICATION / "healthcheck.sh").read_text(encoding="utf-8")
    found = re.findall(rf"^{name}=(\S+)$", source, re.M)
    assert len(found) == 1, f"healthcheck.sh sets {name} {len(found)} times"
    return found[0]


def _dockerfile() -> str:
    assert DOCKERFILE.is_file(), "Dockerfile is missing"
    return DOCKERFILE.read_text(encoding="utf-8")


def test_task_definition_probe_matches_the_images() -> None:
    healthcheck = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*?\])", _dockerfile(), re.M | re.S)
    assert healthcheck, "the Dockerfile has no exec-form HEALTHCHECK"
    (definition,) = locals_of(ECS)["container_definitions"]
    assert ast.literal_eval(healthcheck.group(1)) == definition["healthCheck"]["command"][1:]


def test_container_user_is_the_images_non_root_user() -> None:
    users = re.findall(r"^USER\s+(\S+)", _dockerfile(), re.M)
    assert users, "the Dockerfile sets no USER"
    assert users[-1] == default_of(ECS, "container_user")
    assert users[-1].split(":")[0] not in {"0", "root"}


def test_image_declares_the_tmp_volume_the_task_mounts(container) -> None:
    """On Fargate a task volume is created root-owned 0755 unless the image
    declares VOLUME at the same path; then ECS copies the image's /tmp (1777)
    into it, and the non-root user can write there."""
    (mount,) = container["mountPoints"]
    volumes = re.findall(r"^VOLUME\s+(.+)$", _dockerfile(), re.M)
    declared = set()
    for value in volumes:
        value = value.strip()
        declared.update(ast.literal_eval(value) if value.startswith("[") else value.split())
    assert mount["containerPath"] in declared, (
        f'the Dockerfile must declare VOLUME ["{mount["containerPath"]}"] for the task\'s '
        "writable volume (Fargate mounts it root-owned otherwise)"
    )


def test_dockerfile_port_and_user_are_the_apps_and_the_tasks() -> None:
    dockerfile = _dockerfile()
    port = settings.Settings().port
    assert re.search(rf"^\s+FINLEX_PORT={port}$", dockerfile, re.M), "ENV FINLEX_PORT"
    assert re.findall(r"^EXPOSE\s+(\d+)", dockerfile, re.M) == [str(port)]
    uid, gid = default_of(ECS, "container_user").split(":")
    assert f"--gid {gid} finlex" in dockerfile
    assert f"--uid {uid} --gid {gid}" in dockerfile


def test_healthcheck_probes_the_apps_health_path_and_default_port() -> None:
    assert _probe_value("health_path") == routes.HEALTH_PATH
    assert _probe_value("default_port") == str(settings.Settings().port)


def test_server_keepalive_outlasts_the_alb_idle_timeout() -> None:
    """One value decides both: the task's FINLEX_KEEPALIVE_TIMEOUT is the ALB's
    idle timeout plus the app's margin, within what the server accepts.
    (tests/application/test_http_conformance.py proves that the server keeps an
    idle connection for exactly its configured time.)"""
    alb = resources(ECS)["aws_lb.this"]
    assert expr(alb["idle_timeout"]) == "var.alb_idle_timeout"
    environment = expr(locals_of(ECS)["container_environment"])
    assert (
        "FINLEX_KEEPALIVE_TIMEOUT = tostring(var.alb_idle_timeout + local.keepalive_margin)"
        in environment
    )
    margin = locals_of(ECS)["keepalive_margin"]
    assert margin == settings.KEEPALIVE_MARGIN > 0
    idle = _effective("alb_idle_timeout")
    assert idle < idle + margin <= settings.MAX_KEEPALIVE_TIMEOUT
    # The module refuses an idle timeout the server could not outlast.
    (rule,) = labelled(ECS, "variable")["alb_idle_timeout"]["validation"]
    highest = settings.MAX_KEEPALIVE_TIMEOUT - settings.KEEPALIVE_MARGIN
    assert f"var.alb_idle_timeout <= {highest}" in expr(rule["condition"])
    # A container started without the variable (docker run) outlasts it too.
    assert idle < settings.DEFAULT_KEEPALIVE_TIMEOUT
