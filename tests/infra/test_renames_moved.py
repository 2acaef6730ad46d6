"""A stack applied before the renames plans no change after them.

modules/github_oidc became modules/pipeline_roles (issue 20: names that say
what they hold). A state written under the old name must keep its provider,
roles and policies: the root's moved block takes module.github_oidc to
module.pipeline_roles, and nothing is destroyed or created.

Terraform itself shows it, on the real code of both sides, taken from git
history: the root as it was before the renames (BEFORE) is applied with the
real CLI and provider to the emulated account, as an administrator would;
then the root as the renames left it (RENAMED) is planned on that very state.
The plan must list every resource of the old module as moved, and change
nothing: 0 to add, 0 to change, 0 to destroy. Both sides are pinned commits,
so later changes to infra/ do not turn this plan into theirs; that the
current tree keeps the moved block is checked against infra/ as it is.

A clone without that history cannot run it: the test then skips saying so,
and fails in one line under CI=true (CI checks out the full history).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from support.prerequisites import require, require_tool
from support.terraform.cli import cli_config, require_terraform_and_mirror
from support.terraform.hcl import INFRA, blocks, expr

pytestmark = [pytest.mark.slow, pytest.mark.rehearsal]

REPO = Path(__file__).resolve().parents[2]
BEFORE = "c65c8a75684c9aafd19817e74d472001124bb7dd"  # main, before: modules/github_oidc
RENAMED = "7cfdb8e7098361b722d4961a4da7057c1a95543d"  # the renames, with their moved block
OLD, NEW = "module.github_oidc", "module.pipeline_roles"
EXAMPLE = "examples/quickstart-default-vpc.tfvars"

# Run in a subprocess: the emulator patches moto process-wide (as in test_gate.py).
SCRIPT = r"""
import json, sys
from pathlib import Path
from rehearse import account, emulator
from rehearse.terraform import INIT, Terraform, credentials, working_copy

terraform, cli, work, before, renamed, example = sys.argv[1:7]
work = Path(work)
state = work / "terraform.tfstate"
e = emulator.start()
try:
    zone = account.hosted_zone(e.url, "example.com")
    env = {"TF_CLI_CONFIG_FILE": cli, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1",
           **credentials()}
    args = ["-input=false", "-no-color", f"-var-file={example}", f"-var=hosted_zone_id={zone}"]

    def root(tree, name):
        # Both copies keep their state in one local file: the renamed root plans the old state.
        copy = working_copy(Path(tree), work / name, e.url)
        (copy / "backend_override.tf").write_text(
            f'terraform {{\n  backend "local" {{\n    path = "{state}"\n  }}\n}}\n')
        tf = Terraform(copy, work / "terraform.log", env, terraform)
        tf.run(*INIT)
        return tf

    old = root(before, "before")
    old.run("apply", "-auto-approve", *args)
    applied = old.json("show")
    after = root(renamed, "renamed")
    planned = after.run("plan", "-out=renamed.tfplan", *args)
    plan = after.json("show", "renamed.tfplan")
    print(json.dumps({"state": applied, "summary": planned.stdout, "plan": plan}))
finally:
    e.stop()
"""


def infra_at(commit: str, into: Path) -> Path:
    """infra/ as `commit` holds it, from git history (git archive): the real old code."""
    git = require_tool("git")
    found = subprocess.run(
        [git, "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True, check=False,
    )  # fmt: skip
    require(
        found.returncode == 0,
        f"commit {commit[:12]} (the renames' old or new side) is not in this clone's history: "
        "clone with the full history (actions/checkout fetch-depth: 0)",
    )
    archive = subprocess.run(
        [git, "-C", str(REPO), "archive", "--format=tar", commit, "infra"],
        capture_output=True, check=True,
    )  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "infra"


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The state BEFORE's root applied, RENAMED's plan of it, and that plan's own text."""
    terraform, mirror = require_terraform_and_mirror("test_renames_moved")
    work = tmp_path_factory.mktemp("renames")
    before = infra_at(BEFORE, work / "before-tree")
    after = infra_at(RENAMED, work / "renamed-tree")
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, terraform, str(cli_config(work, mirror)), str(work),
         str(before), str(after), EXAMPLE],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def managed(module: dict[str, Any]) -> list[str]:
    """Addresses of the managed resources in a state's module, its child modules too."""
    found = [r["address"] for r in module.get("resources", []) if r["mode"] == "managed"]
    for child in module.get("child_modules", []):
        found += managed(child)
    return found


def test_the_pinned_sides_are_the_old_and_the_new_name(tmp_path: Path) -> None:
    before = infra_at(BEFORE, tmp_path / "before")
    after = infra_at(RENAMED, tmp_path / "renamed")
    assert (before / "modules" / "github_oidc").is_dir()
    assert not (before / "modules" / "pipeline_roles").exists()
    assert (after / "modules" / "pipeline_roles").is_dir()
    assert not (after / "modules" / "github_oidc").exists()


def test_the_renamed_root_plans_no_change_on_the_old_state(renamed: dict[str, Any]) -> None:
    assert re.search(r"Plan: 0 to add, 0 to change, 0 to destroy\.", renamed["summary"]), renamed[
        "summary"
    ][-3000:]
    changed = {
        c["address"]: c["change"]["actions"]
        for c in renamed["plan"]["resource_changes"]
        if c["change"]["actions"] != ["no-op"]
    }
    assert changed == {}


def test_every_resource_of_the_old_module_is_listed_as_moved(renamed: dict[str, Any]) -> None:
    held = managed(renamed["state"]["values"]["root_module"])
    old = sorted(address for address in held if address.startswith(f"{OLD}."))
    # The provider, three roles, their policies and attachments, the boundary.
    assert len(old) >= 10, old
    moves = {
        c["previous_address"]: c["address"]
        for c in renamed["plan"]["resource_changes"]
        if "previous_address" in c
    }
    assert moves == {address: NEW + address.removeprefix(OLD) for address in old}
    assert f"# {old[0]} has moved to {NEW}{old[0].removeprefix(OLD)}" in renamed["summary"]


def test_the_current_root_keeps_the_moved_block() -> None:
    moves = [(expr(b["from"]), expr(b["to"])) for _path, b in blocks(INFRA, "moved")]
    assert (OLD, NEW) in moves
