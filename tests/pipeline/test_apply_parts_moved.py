"""The apply role's managed policies became one for_each (terraform_apply_part):
state written under the former names moves to the new keys without a
replacement, which Terraform itself runs here on stand-in resources (the
module's own moved blocks, with terraform_data in place of the IAM types)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import libtf
import pytest

from infra_hcl import INFRA, blocks, expr

MODULE = INFRA / "modules" / "pipeline_roles"
TYPES = ("aws_iam_policy.", "aws_iam_role_policy_attachment.")

# The released layout: one policy and one attachment per part, keys and name.
OLD_CONFIG = "".join(
    f'resource "terraform_data" "{kind}_terraform_apply_{part}" {{\n  input = "{part}"\n}}\n'
    for kind in ("policy", "attachment")
    for part in ("keys", "name")
)
NEW_CONFIG = "".join(
    f'resource "terraform_data" "{kind}_terraform_apply_part" {{\n'
    '  for_each = toset(["keys", "name", "teardown"])\n'
    "  input    = each.key\n}\n"
    for kind in ("policy", "attachment")
)


def stand_in(address: str) -> str:
    """aws_iam_policy.x -> terraform_data.policy_x; the attachment likewise."""
    for prefix, kind in zip(TYPES, ("policy", "attachment"), strict=True):
        if address.startswith(prefix):
            return f"terraform_data.{kind}_{address.removeprefix(prefix)}"
    raise AssertionError(f"a moved block of an unexpected type: {address}")


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    with libtf.offline(tmp_path) as base:
        work = base / "config"
        work.mkdir()
        yield work


def test_the_released_parts_move_to_their_keys_without_a_replacement(folder: Path) -> None:
    main = folder / "main.tf"
    main.write_text(OLD_CONFIG, encoding="utf-8")
    libtf.run(folder, "init", "-input=false")
    libtf.run(folder, "apply", "-auto-approve", "-input=false")

    moves = [(expr(b["from"]), expr(b["to"])) for _path, b in blocks(MODULE, "moved")]
    assert len(moves) == 4, moves
    text = NEW_CONFIG + "".join(
        f"\nmoved {{\n  from = {stand_in(old)}\n  to   = {stand_in(new)}\n}}\n"
        for old, new in moves
    )
    main.write_text(text, encoding="utf-8")
    libtf.run(folder, "plan", "-input=false", "-out=moved.tfplan")
    plan = json.loads(libtf.run(folder, "show", "-json", "moved.tfplan"))
    actions = {c["address"]: c["change"]["actions"] for c in plan["resource_changes"]}
    moved = {c["address"] for c in plan["resource_changes"] if "previous_address" in c}
    for kind in ("policy", "attachment"):
        for part in ("keys", "name"):
            address = f'terraform_data.{kind}_terraform_apply_part["{part}"]'
            assert address in moved, plan["resource_changes"]
            assert actions[address] == ["no-op"]
        # The teardown part is new: created, nothing else.
        assert actions[f'terraform_data.{kind}_terraform_apply_part["teardown"]'] == ["create"]
    assert not [a for a in actions.values() if "delete" in a]
