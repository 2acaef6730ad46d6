"""The image repository went under count when environments came (module.ecr -> module.ecr[0]).

A production stack applied before keeps its repository: the root's own moved
block takes the old address to the new one, and Terraform plans no
replacement. Terraform itself runs it here on a stand-in module (terraform_data
in place of the repository), with the count expression and the moved block
read from infra/resources.tf.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import libtf
import pytest

from infra_hcl import INFRA, blocks, expr, labelled

STAND_IN = 'resource "terraform_data" "repository" {\n  input = "finlex"\n}\n'


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    with libtf.offline(tmp_path) as base:
        work = base / "config"
        (work / "ecr").mkdir(parents=True)
        (work / "ecr" / "main.tf").write_text(STAND_IN, encoding="utf-8")
        yield work


def root(count: str, moves: list[tuple[str, str]]) -> str:
    """The stand-in root: the variable the count reads, the module, the moved blocks."""
    text = 'variable "create_shared_resources" {\n  type    = bool\n  default = true\n}\n'
    text += f'module "ecr" {{\n  source = "./ecr"\n{count}}}\n'
    return text + "".join(f"moved {{\n  from = {old}\n  to   = {new}\n}}\n" for old, new in moves)


def test_a_stack_applied_before_environments_keeps_its_repository(folder: Path) -> None:
    main = folder / "main.tf"
    main.write_text(root("", []), encoding="utf-8")
    libtf.run(folder, "init", "-input=false")
    libtf.run(folder, "apply", "-auto-approve", "-input=false")

    count = expr(labelled(INFRA, "module")["ecr"]["count"])
    assert count == "var.create_shared_resources ? 1 : 0"
    moves = [(expr(b["from"]), expr(b["to"])) for _path, b in blocks(INFRA, "moved")]
    # The root's other moves (module.github_oidc) are tests/rehearsal's.
    moves = [(old, new) for old, new in moves if old.split("[")[0] == "module.ecr"]
    assert moves == [("module.ecr", "module.ecr[0]")]
    main.write_text(root(f"  count  = {count}\n", moves), encoding="utf-8")
    libtf.run(folder, "plan", "-input=false", "-out=moved.tfplan")
    plan = json.loads(libtf.run(folder, "show", "-json", "moved.tfplan"))
    (change,) = plan["resource_changes"]
    assert change["address"] == "module.ecr[0].terraform_data.repository"
    assert change["previous_address"] == "module.ecr.terraform_data.repository"
    assert change["change"]["actions"] == ["no-op"]
