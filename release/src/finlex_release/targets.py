"""Target health of the service's load balancer target groups (ELBv2)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    group: str  # target group name
    target: str  # "10.0.1.10:5000"
    state: str  # healthy, unhealthy, initial, draining, unused, unavailable
    reason: str = ""


def groups(service: dict[str, Any]) -> list[str]:
    """Target group ARNs of an ECS service description."""
    return [
        item["targetGroupArn"]
        for item in service.get("loadBalancers", [])
        if item.get("targetGroupArn")
    ]


def health(elbv2: Any, group_arns: Iterable[str]) -> list[Target]:
    found = []
    for arn in group_arns:
        name = arn.rsplit("/", 2)[-2] if arn.count("/") >= 2 else arn
        response = elbv2.describe_target_health(TargetGroupArn=arn)
        for item in response.get("TargetHealthDescriptions", []):
            target = item.get("Target", {})
            state = item.get("TargetHealth", {})
            found.append(
                Target(
                    group=name,
                    target=f"{target.get('Id')}:{target.get('Port', '')}".rstrip(":"),
                    state=state.get("State", "unknown"),
                    reason=state.get("Description", "") or state.get("Reason", ""),
                )
            )
    return found


def lines(found: Iterable[Target]) -> Iterator[str]:
    for item in found:
        detail = f" ({item.reason})" if item.reason else ""
        yield f"target group {item.group}: {item.target} {item.state}{detail}"


def all_healthy(found: list[Target]) -> bool:
    return bool(found) and all(item.state == "healthy" for item in found)
