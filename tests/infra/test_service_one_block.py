"""One `aws_ecs_service` in modules/ecs_cluster, in both autoscaling modes (issue 16, item 6).

Flipping `autoscaling_enabled` from tfvars must never replace or move the
service: CI cannot run hand steps such as `terraform state mv`. So there is
one service block without `count`, Application Auto Scaling owns its task count
in both modes (`desired_count` ignored), and only the scalable target's range
and the policies follow the flag. State written by the former two blocks
(`autoscaled[0]`, `fixed[0]`) reaches the new address through `moved` blocks,
which Terraform itself runs here on stand-in resources.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.terraform import embedded
from support.terraform.hcl import ECS, blocks, expr, lifecycle, locals_of, resources

SERVICE = "aws_ecs_service.this"
OLD_ADDRESSES = {"true": "aws_ecs_service.autoscaled[0]", "false": "aws_ecs_service.fixed[0]"}

# The former two blocks, as stand-ins (terraform_data needs no provider).
OLD_CONFIG = """variable "autoscaling_enabled" { type = bool }

resource "terraform_data" "autoscaled" {
  count = var.autoscaling_enabled ? 1 : 0
  input = "finlex"
}

resource "terraform_data" "fixed" {
  count = var.autoscaling_enabled ? 0 : 1
  input = "finlex"
}
"""
NEW_CONFIG = """resource "terraform_data" "this" {
  input = "finlex"
}
"""


def service_blocks(directory: Path) -> list[str]:
    """Names of every aws_ecs_service block in the .tf files of `directory`."""
    return [
        name
        for _path, block in blocks(directory, "resource")
        for rtype, named in block.items()
        if rtype == "aws_ecs_service"
        for name in named
    ]


# --- structure -------------------------------------------------------------------------


def test_exactly_one_service_block() -> None:
    assert service_blocks(ECS) == ["this"], "one aws_ecs_service block for both autoscaling modes"
    service = resources(ECS)[SERVICE]
    assert "count" not in service
    assert "for_each" not in service


def test_the_service_count_belongs_to_application_auto_scaling_in_both_modes() -> None:
    service = resources(ECS)[SERVICE]
    assert expr(service["desired_count"]) == "var.desired_count"  # set at creation only
    assert lifecycle(service)["ignore_changes"] == ["task_definition", "desired_count"]


def test_the_scalable_target_exists_in_both_modes_with_min_max_desired_count_when_off() -> None:
    found = resources(ECS)
    target = found["aws_appautoscaling_target.this"]
    assert "count" not in target
    assert expr(target["min_capacity"]) == "local.scaling_min_capacity"
    assert expr(target["max_capacity"]) == "local.scaling_max_capacity"
    scaling = locals_of(ECS)
    assert expr(scaling["scaling_min_capacity"]) == (
        "var.autoscaling_enabled ? var.autoscaling_min_capacity : var.desired_count"
    )
    assert expr(scaling["scaling_max_capacity"]) == (
        "var.autoscaling_enabled ? var.autoscaling_max_capacity : var.desired_count"
    )
    for policy in ("cpu", "requests"):
        body = found[f"aws_appautoscaling_policy.{policy}"]
        assert expr(body["count"]) == "var.autoscaling_enabled ? 1 : 0"
        assert expr(body["resource_id"]) == "aws_appautoscaling_target.this.resource_id"


def test_the_one_block_check_rejects_the_old_two_block_layout(tmp_path: Path) -> None:
    """The check above tells the former layout from the new one: it cannot pass vacuously."""
    old = OLD_CONFIG.replace("terraform_data", "aws_ecs_service")
    (tmp_path / "resources.tf").write_text(old, encoding="utf-8")
    assert service_blocks(tmp_path) == ["autoscaled", "fixed"]


def test_moved_blocks_chain_both_old_addresses_to_the_service() -> None:
    moves = {expr(block["from"]): expr(block["to"]) for _path, block in blocks(ECS, "moved")}
    for old in OLD_ADDRESSES.values():
        address, seen = old, set()
        while address in moves and address not in seen:
            seen.add(address)
            address = moves[address]
        assert address == SERVICE, f"{old} does not reach {SERVICE} through the moved blocks"


# --- the moved blocks, run by Terraform -------------------------------------------------


@pytest.fixture
def terraform_env(tmp_path: Path) -> Iterator[Path]:
    with embedded.offline(tmp_path) as base:
        yield base


def _module_moves_for_stand_ins() -> str:
    """The module's moved blocks, with terraform_data in place of aws_ecs_service."""
    text = ""
    for _path, block in blocks(ECS, "moved"):
        source, target = (expr(block[key]) for key in ("from", "to"))
        stand_in = [
            name.replace("aws_ecs_service.", "terraform_data.") for name in (source, target)
        ]
        text += f"\nmoved {{\n  from = {stand_in[0]}\n  to   = {stand_in[1]}\n}}\n"
    return text


@pytest.mark.parametrize("autoscaling", sorted(OLD_ADDRESSES))
def test_state_of_the_old_blocks_moves_to_the_service_without_a_replacement(
    terraform_env: Path, autoscaling: str
) -> None:
    folder = terraform_env / "config"
    folder.mkdir()
    main = folder / "main.tf"
    main.write_text(OLD_CONFIG, encoding="utf-8")
    embedded.run(folder, "init", "-input=false")
    embedded.run(
        folder, "apply", "-auto-approve", "-input=false", f"-var=autoscaling_enabled={autoscaling}"
    )
    old = OLD_ADDRESSES[autoscaling].replace("aws_ecs_service.", "terraform_data.")
    assert embedded.run(folder, "state", "list").split() == [old]

    main.write_text(NEW_CONFIG + _module_moves_for_stand_ins(), encoding="utf-8")
    embedded.run(folder, "plan", "-input=false", "-out=moved.tfplan")
    plan = json.loads(embedded.run(folder, "show", "-json", "moved.tfplan"))
    (change,) = plan["resource_changes"]
    assert change["address"] == "terraform_data.this"
    assert change["previous_address"] == old
    assert change["change"]["actions"] == ["no-op"]
