"""The ECR lifecycle policy as the real provider renders it: the image that
Terraform's task definition names (image_tag) never expires.

A plan of modules/ecr alone makes no AWS call: the policy JSON is read from
the saved plan. Needs the Terraform CLI and a provider mirror, like the
rehearsal; without them it skips with the reason (docs/rehearsal.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.terraform.cli import plan_offline, require_terraform_and_mirror
from support.terraform.hcl import ECR, INFRA, expr, parse

ROOT = """
module "ecr" {{
  source               = "{source}"
  name                 = "finlex"
  protected_image_tags = {tags}
  tagged_images_to_keep = 3
}}
"""


def rules(tmp_path: Path, tags: list[str]) -> list[dict[str, Any]]:
    # Skips without Terraform or the provider; fails instead under CI=true
    # (tests/support/terraform/cli.py).
    terraform, mirror = require_terraform_and_mirror("test_ecr_lifecycle")
    (tmp_path / "main.tf").write_text(ROOT.format(source=ECR, tags=json.dumps(tags)))
    plan = plan_offline(terraform, mirror, tmp_path)
    (policy,) = [
        change["change"]["after"]["policy"]
        for change in plan["resource_changes"]
        if change["type"] == "aws_ecr_lifecycle_policy"
    ]
    found: list[dict[str, Any]] = json.loads(policy)["rules"]
    return found


def expired_first(found: list[dict[str, Any]], tag: str) -> dict[str, Any]:
    """The first rule, by priority, whose selection takes an image tagged `tag`."""
    for rule in sorted(found, key=lambda rule: rule["rulePriority"]):
        patterns = rule["selection"].get("tagPatternList", [])
        if rule["selection"]["tagStatus"] == "tagged" and any(
            pattern in {tag, "*"} for pattern in patterns
        ):
            return rule
    raise AssertionError(f"no rule selects {tag}")


def test_protected_tag_is_never_expired_by_the_count_rule(tmp_path: Path) -> None:
    found = rules(tmp_path, ["1.0.1"])
    first = expired_first(found, "1.0.1")
    # ECR: an image matched by a rule's tag selection cannot be expired by a
    # lower-priority rule; this one fires only above 1 image, and tags are immutable.
    assert first["selection"]["tagPatternList"] == ["1.0.1"]
    assert first["selection"]["countType"] == "imageCountMoreThan"
    assert first["selection"]["countNumber"] == 1
    priorities = [rule["rulePriority"] for rule in found]
    assert len(set(priorities)) == len(priorities)
    keep_last = expired_first(found, "some-later-release")
    assert keep_last["selection"]["countNumber"] == 3


def test_each_protected_tag_gets_its_own_rule(tmp_path: Path) -> None:
    # tagPatternList matches only an image carrying every pattern: one rule per tag.
    found = rules(tmp_path, ["1.0.1", "abc123"])
    assert expired_first(found, "1.0.1")["selection"]["tagPatternList"] == ["1.0.1"]
    assert expired_first(found, "abc123")["selection"]["tagPatternList"] == ["abc123"]
    assert sum(1 for rule in found if rule["selection"]["tagStatus"] == "untagged") == 1


def test_root_protects_the_image_tag_its_task_definition_names() -> None:
    (call,) = [block["ecr"] for block in parse(INFRA / "resources.tf")["module"] if "ecr" in block]
    assert [expr(item) for item in call["protected_image_tags"]] == ["var.image_tag"]
