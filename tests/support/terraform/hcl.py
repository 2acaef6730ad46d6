"""Helpers of the infra tests (tests/infra/): parse infra/ with python-hcl2."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import hcl2

from support import REPO_ROOT

INFRA = REPO_ROOT / "infra"
ECR = INFRA / "modules" / "ecr"
ECS = INFRA / "modules" / "ecs_cluster"
MONITORING = INFRA / "modules" / "monitoring"
BOOTSTRAP = INFRA / "bootstrap"
APPLICATION = REPO_ROOT / "application"

# modules/monitoring's required inputs, as a root would give them (its variables
# without a default); the monitoring tests add or override the rest.
MONITORING_REQUIRED = {
    "name": "finlex",
    "load_balancer_arn_suffix": "app/finlex/0123456789abcdef",
    "target_group_arn_suffix": "targetgroup/finle20261128/fedcba9876543210",
    "cluster_name": "finlex",
    "service_name": "finlex",
    "log_group_name": "/ecs/finlex",
}

OPTIONS = hcl2.SerializationOptions(
    explicit_blocks=False, strip_string_quotes=True, with_comments=False
)


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    """One .tf file as python-hcl2's dict (block type -> list of blocks)."""
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=OPTIONS)


def blocks(directory: Path, block_type: str) -> list[tuple[Path, dict[str, Any]]]:
    """Every `block_type` block of the .tf files in `directory`, with its file."""
    found = []
    for path in sorted(directory.glob("*.tf")):
        found += [(path, block) for block in parse(path).get(block_type, [])]
    return found


def labelled(directory: Path, block_type: str) -> dict[str, dict[str, Any]]:
    """Blocks with one label (variable, output, module) by name."""
    result: dict[str, dict[str, Any]] = {}
    for _path, block in blocks(directory, block_type):
        for name, body in block.items():
            assert name not in result, f"{block_type} {name} is declared twice in {directory}"
            result[name] = body
    return result


def resources(directory: Path, kind: str = "resource") -> dict[str, dict[str, Any]]:
    """Resources (or data sources) by address `TYPE.NAME`."""
    result: dict[str, dict[str, Any]] = {}
    for _path, block in blocks(directory, kind):
        for rtype, named in block.items():
            for name, body in named.items():
                result[f"{rtype}.{name}"] = body
    return result


def locals_of(directory: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _path, block in blocks(directory, "locals"):
        merged.update(block)
    return merged


def expr(text: str) -> str:
    """A python-hcl2 expression string `${...}` without its wrapper."""
    assert isinstance(text, str), f"not an expression: {text!r}"
    assert text.startswith("${"), f"not an expression: {text!r}"
    assert text.endswith("}"), f"not an expression: {text!r}"
    return text[2:-1]


def one_block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block `name` of a resource body."""
    value = body.get(name)
    assert isinstance(value, list), f"no {name} block"
    assert len(value) == 1, f"expected one {name} block, found {len(value)}"
    return value[0]


def lifecycle(body: dict[str, Any]) -> dict[str, Any]:
    return one_block(body, "lifecycle")


def default_of(directory: Path, variable: str) -> Any:
    body = labelled(directory, "variable")[variable]
    assert "default" in body, f"variable {variable} has no default"
    return body["default"]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
