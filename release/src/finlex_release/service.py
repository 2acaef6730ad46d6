"""The ECS service as deploy, rollback, status, push and promote read it: its
description, the deployment in progress, and the names of its revisions."""

from __future__ import annotations

import re
from typing import Any

from finlex_release.errors import NotFoundError, UsageError

_REVISION = re.compile(r"^(?:arn:[^:]+:ecs:[^:]*:\d*:task-definition/)?([A-Za-z0-9_-]+):(\d+)$")


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    """The service, or NotFoundError; ClusterNotFoundException is translated upstream."""
    response = ecs.describe_services(cluster=cluster, services=[service])
    found: list[dict[str, Any]] = [
        item for item in response.get("services", []) if item.get("status") != "INACTIVE"
    ]
    if not found:
        raise NotFoundError(f"service {service!r} not found in cluster {cluster!r}")
    return found[0]


def service_name(service: str) -> str:
    """The name of a service given by name or ARN (.../cluster/name)."""
    return service.rsplit("/", 1)[-1]


def require_ecs_controller(svc: dict[str, Any]) -> None:
    """UsageError unless ECS itself rolls the service out (not CodeDeploy or external)."""
    kind = svc.get("deploymentController", {}).get("type", "ECS")
    if kind != "ECS":
        raise UsageError(
            f"service {svc.get('serviceName')!r} uses the {kind} deployment controller; "
            "this tool drives ECS rolling deployments only"
        )


def busy(svc: dict[str, Any]) -> dict[str, Any] | None:
    """The deployment in progress on the service, if one is: a PRIMARY deployment
    still IN_PROGRESS, or one that older ACTIVE deployments are still leaving."""
    deployments: list[dict[str, Any]] = svc.get("deployments", [])
    primary = next((item for item in deployments if item.get("status") == "PRIMARY"), None)
    if primary is None:
        return deployments[0] if deployments else None
    if len(deployments) > 1 or primary.get("rolloutState") == "IN_PROGRESS":
        return primary
    return None


def deployment_alarms(svc: dict[str, Any]) -> dict[str, Any]:
    """The service's deployment alarms configuration ({} when there is none)."""
    found: dict[str, Any] = svc.get("deploymentConfiguration", {}).get("alarms") or {}
    return found


def counts(deployment: dict[str, Any]) -> str:
    """A deployment's task counts, as progress and status print them."""
    return (
        f"running {deployment.get('runningCount', 0)}/{deployment.get('desiredCount', 0)}, "
        f"pending {deployment.get('pendingCount', 0)}, "
        f"failed tasks {deployment.get('failedTasks', 0)}"
    )


def revision_name(arn: str) -> str:
    """family:revision of a task definition ARN (what people read and type)."""
    return arn.rsplit("/", 1)[-1]


def split_revision(task_definition: str) -> tuple[str, int]:
    """(family, revision) of family:revision or an ARN; UsageError for anything else."""
    match = _REVISION.match(task_definition)
    if not match:
        raise UsageError(f"task definition {task_definition!r} is not family:revision or an ARN")
    return match.group(1), int(match.group(2))
