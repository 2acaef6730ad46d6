"""The rehearsal's apply steps refuse a plan that replaces, destroys or moves the service.

`Rehearsal._service_kept` reads `terraform show -json` of the saved plan of
each apply step. The plans here have the shape Terraform writes (resource
changes with their actions, `previous_address` after a `moved` block, the
prior state's resources); the full rehearsal runs it on real plans.
"""

from __future__ import annotations

from typing import Any

import pytest

from rehearse.steps import SERVICE_ADDRESS, Rehearsal, StepError

OLD_AUTOSCALED = "module.ecs_cluster.aws_ecs_service.autoscaled[0]"
OLD_FIXED = "module.ecs_cluster.aws_ecs_service.fixed[0]"
TARGET = "module.ecs_cluster.aws_appautoscaling_target.this"


def change(address: str, *actions: str, moved_from: str | None = None) -> dict[str, Any]:
    rtype = address.split(".")[-2]
    found: dict[str, Any] = {"address": address, "type": rtype, "change": {"actions": [*actions]}}
    if moved_from:
        found["previous_address"] = moved_from
    return found


def plan(*changes: dict[str, Any], held: tuple[str, ...] = (SERVICE_ADDRESS,)) -> dict[str, Any]:
    """A plan of `changes` over a state that holds the resources `held`."""
    resources = [{"address": address, "type": address.split(".")[-2]} for address in held]
    prior = {"values": {"root_module": {"child_modules": [{"resources": resources}]}}}
    return {"prior_state": prior if held else None, "resource_changes": [*changes]}


def test_the_first_apply_creates_the_service() -> None:
    first = plan(change(SERVICE_ADDRESS, "create"), change(TARGET, "create"), held=())
    assert Rehearsal._service_kept(first) == "service: created"


@pytest.mark.parametrize("actions", [("no-op",), ("update",)])
def test_a_flip_that_keeps_the_service_reports_0_replaced(actions: tuple[str, ...]) -> None:
    flip = plan(change(SERVICE_ADDRESS, *actions), change(TARGET, "update"))
    assert Rehearsal._service_kept(flip) == f"service: 0 replaced ({actions[0]})"


@pytest.mark.parametrize("actions", [("delete", "create"), ("create", "delete"), ("delete",)])
def test_a_replacement_or_destroy_fails_the_step(actions: tuple[str, ...]) -> None:
    with pytest.raises(StepError, match=r"the plan would .*aws_ecs_service\.this"):
        Rehearsal._service_kept(plan(change(SERVICE_ADDRESS, *actions)))


def test_the_old_two_blocks_flipped_without_a_state_mv_fail_the_step() -> None:
    """What the former code planned when autoscaling went off: destroy one, create the other."""
    flip = plan(
        change(OLD_AUTOSCALED, "delete"), change(OLD_FIXED, "create"), held=(OLD_AUTOSCALED,)
    )
    with pytest.raises(StepError, match=r"the plan would delete .*autoscaled\[0\]"):
        Rehearsal._service_kept(flip)


def test_a_create_beside_a_service_in_the_state_fails_the_step() -> None:
    with pytest.raises(StepError, match="the plan would create"):
        Rehearsal._service_kept(plan(change(SERVICE_ADDRESS, "create")))


def test_a_moved_service_fails_the_step() -> None:
    moved = plan(change(SERVICE_ADDRESS, "no-op", moved_from=OLD_FIXED), held=(OLD_FIXED,))
    with pytest.raises(StepError, match=r"the plan moves .*fixed\[0\] to .*aws_ecs_service\.this"):
        Rehearsal._service_kept(moved)


def test_a_plan_without_the_service_fails_the_step() -> None:
    with pytest.raises(StepError, match=r"expected .*aws_ecs_service\.this alone"):
        Rehearsal._service_kept(plan(change(TARGET, "update")))
