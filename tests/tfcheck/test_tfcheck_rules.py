"""Each rule of the checker: fails when it should, passes when it should.

Small configurations are written to a temporary folder and checked against the
committed hashicorp/aws schema (tools/tfcheck/aws_schema.json).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from tfcheck_support import FIXTURE, REPO_ROOT, TOOLS

from tfcheck.check import Checker, check_paths

ROLE = """
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}
"""


def test_fixture_is_clean(schema):
    checker = check_paths([FIXTURE], schema)
    assert [f.render(REPO_ROOT) for f in checker.findings] == []
    assert checker.blocks_checked >= 30


# -- provider schema ---------------------------------------------------------


def test_known_arguments_and_meta_arguments_pass(check_tf):
    assert (
        check_tf(
            {
                "main.tf": """
                variable "n" {
                  type = number
                }
                resource "aws_ecs_cluster" "c" {
                  count      = var.n
                  name       = "c-${count.index}"
                  depends_on = [aws_ecs_cluster.d]
                  provider   = aws
                  setting {
                    name  = "containerInsights"
                    value = "enabled"
                  }
                  lifecycle {
                    prevent_destroy = true
                    ignore_changes  = [tags]
                  }
                }
                resource "aws_ecs_cluster" "d" {
                  for_each = toset(["a"])
                  name     = each.key
                }
                """
            }
        )
        == []
    )


def test_unknown_top_level_argument(check_tf):
    out = check_tf({"main.tf": 'resource "aws_ecs_cluster" "c" {\n  name = "c"\n  nmae = "x"\n}\n'})
    assert out == ['main.tf:3: resource "aws_ecs_cluster.c": unsupported argument "nmae"']


def test_unknown_argument_in_nested_block(check_tf):
    out = check_tf(
        {
            "main.tf": """
            resource "aws_ecs_cluster" "c" {
              name = "c"
              setting {
                name   = "containerInsights"
                value  = "enabled"
                colour = "blue"
              }
            }
            """
        }
    )
    assert out == [
        'main.tf:7: resource "aws_ecs_cluster.c": unsupported argument "colour" in setting'
    ]


def test_unknown_argument_in_data_source_nested_block(check_tf):
    out = check_tf({"main.tf": ROLE.replace('type        = "Service"', 'kind = "Service"')})
    assert (
        'main.tf:6: data "aws_iam_policy_document.assume": unsupported argument "kind" in '
        "statement.principals" in out
    )
    assert (
        'data "aws_iam_policy_document.assume": missing required argument "type" in '
        "statement.principals" in "\n".join(out)
    )


def test_unknown_block_type(check_tf):
    out = check_tf(
        {"main.tf": 'resource "aws_ecs_cluster" "c" {\n  name = "c"\n  settings {\n  }\n}\n'}
    )
    assert out == ['main.tf:3: resource "aws_ecs_cluster.c": unsupported block type "settings"']


def test_block_written_as_argument_and_argument_as_block(check_tf):
    out = check_tf(
        {
            "main.tf": """
            resource "aws_ecs_cluster" "c" {
              name    = "c"
              setting = [{ name = "containerInsights", value = "enabled" }]
              tags {
              }
            }
            """
        }
    )
    assert out == [
        'main.tf:4: resource "aws_ecs_cluster.c": "setting" is a block, not an argument: '
        "write setting { ... }",
        'main.tf:5: resource "aws_ecs_cluster.c": "tags" is an argument, not a block: '
        "write tags = ...",
    ]


def test_missing_required_argument_top_level_and_nested(check_tf):
    out = check_tf(
        {
            "main.tf": """
            resource "aws_ecs_cluster" "c" {
              setting {
                name = "containerInsights"
              }
            }
            """
        }
    )
    assert out == [
        'main.tf:2: resource "aws_ecs_cluster.c": missing required argument "name"',
        'main.tf:3: resource "aws_ecs_cluster.c": missing required argument "value" in setting',
    ]


def test_single_block_given_twice(check_tf):
    out = check_tf(
        {
            "main.tf": """
            resource "aws_ecr_repository" "r" {
              name = "r"
              image_scanning_configuration {
                scan_on_push = true
              }
              image_scanning_configuration {
                scan_on_push = false
              }
            }
            """
        }
    )
    assert out == [
        'main.tf:7: resource "aws_ecr_repository.r": block "image_scanning_configuration" '
        "may appear only once"
    ]


def test_dynamic_block_content_is_checked(check_tf):
    base = """
    variable "arns" {
      type = list(string)
    }
    resource "aws_ecs_service" "s" {
      name = "s"
      dynamic "load_balancer" {
        for_each = var.arns
        iterator = tg
        content {
          target_group_arn = tg.value
          container_name   = "app"
          container_port   = 5000
          EXTRA
        }
      }
    }
    """
    assert check_tf({"main.tf": base.replace("EXTRA", "")}) == []
    out = check_tf({"main.tf": base.replace("EXTRA", "weight = 1")})
    assert out == [
        'main.tf:14: resource "aws_ecs_service.s": unsupported argument "weight" in load_balancer'
    ]


def test_dynamic_block_for_unknown_block_and_iterator_scope(check_tf):
    out = check_tf(
        {
            "main.tf": """
            resource "aws_ecs_service" "s" {
              name = "s"
              dynamic "load_balancers" {
                for_each = []
                content {
                  container_name = load_balancers.value
                }
              }
              task_definition = load_balancers.value
            }
            """
        }
    )
    assert out == [
        'main.tf:4: resource "aws_ecs_service.s": unsupported block type "load_balancers"',
        'main.tf:10: resource "aws_ecs_service.s": reference to undeclared resource '
        '"load_balancers.value"',
    ]


def test_dynamic_block_needs_for_each_and_content(check_tf):
    out = check_tf(
        {
            "main.tf": """
            resource "aws_ecs_cluster" "c" {
              name = "c"
              dynamic "setting" {
                labels = []
              }
            }
            """
        }
    )
    assert out == [
        'main.tf:4: resource "aws_ecs_cluster.c": dynamic "setting" needs exactly one '
        "content block",
        'main.tf:4: resource "aws_ecs_cluster.c": missing required argument "for_each" in dynamic '
        '"setting"',
    ]


def test_attribute_as_block_syntax_is_checked_against_its_object_type(check_tf):
    block = """
    resource "aws_security_group" "g" {
      ingress {
        from_port   = 443
        to_port     = 443
        protocol    = "tcp"
        EXTRA
      }
    }
    """
    assert check_tf({"main.tf": block.replace("EXTRA", "")}) == []
    out = check_tf({"main.tf": block.replace("EXTRA", "port = 1")})
    assert out == [
        'main.tf:7: resource "aws_security_group.g": unsupported argument "port" in ingress'
    ]


def test_lifecycle_rules(check_tf):
    out = check_tf(
        {
            "main.tf": """
            resource "aws_ecs_cluster" "c" {
              name = "c"
              lifecycle {
                create_before_destroy = true
                ignore_changes        = [nmae, tags["x"], setting]
                destroy_later         = true
                postcondition {
                  condition     = self.name != ""
                  error_message = "named"
                }
              }
            }
            data "aws_caller_identity" "me" {
              lifecycle {
                create_before_destroy = true
              }
            }
            """
        }
    )
    assert out == [
        'main.tf:6: resource "aws_ecs_cluster.c": lifecycle ignore_changes names unknown '
        'argument "nmae"',
        'main.tf:7: resource "aws_ecs_cluster.c": unsupported argument "destroy_later" '
        "in lifecycle",
        'main.tf:16: data "aws_caller_identity.me": unsupported argument "create_before_destroy" '
        "in lifecycle",
    ]


def test_unknown_resource_types(check_tf):
    out = check_tf(
        {
            "main.tf": """
            resource "aws_ecs_clusterz" "a" {}
            resource "random_id" "b" {}
            data "aws_vpcs_all" "c" {}
            resource "aws_instance" "d" {}
            resource "terraform_data" "e" {
              input = 1
            }
            """
        }
    )
    assert out == [
        'main.tf:2: resource "aws_ecs_clusterz.a": resource type "aws_ecs_clusterz" does not '
        "exist in the hashicorp/aws provider",
        'main.tf:3: resource "random_id.b": no schema for resource type "random_id" (only '
        "hashicorp/aws is known offline)",
        'main.tf:4: data "aws_vpcs_all.c": data source type "aws_vpcs_all" does not exist in the '
        "hashicorp/aws provider",
        'main.tf:5: resource "aws_instance.d": resource type "aws_instance" is missing from '
        "aws_schema.json; rerun python -m tfcheck.extract_schema",
    ]


def test_provider_block_is_checked(check_tf):
    out = check_tf(
        {
            "main.tf": """
            provider "aws" {
              region = "eu-west-1"
              alias  = "eu"
              default_tags {
                tag = {}
              }
            }
            """
        }
    )
    assert out == ['main.tf:6: provider "aws": unsupported argument "tag" in default_tags']


def test_duplicate_argument_and_declarations(check_tf):
    out = check_tf(
        {
            "main.tf": """
            resource "aws_ecs_cluster" "c" {
              name = "a"
              name = "b"
            }
            variable "v" {}
            variable "v" {}
            """
        }
    )
    assert out == [
        'main.tf:4: resource "aws_ecs_cluster.c": argument "name" is set twice',
        'main.tf:7: variable "v": declared twice in this module',
    ]


# -- references ----------------------------------------------------------------

REF_BASE = """
variable "v" {
  type = string
}
locals {
  l = var.v
}
data "aws_caller_identity" "me" {}
resource "aws_ecs_cluster" "c" {
  name = EXPR
}
"""


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("var.w", 'reference to undeclared input variable "var.w"'),
        ('"x-${local.m}"', 'reference to undeclared local value "local.m"'),
        ("module.nope.id", 'reference to undeclared module "module.nope"'),
        (
            "data.aws_caller_identity.you.id",
            'reference to undeclared data "data.aws_caller_identity.you"',
        ),
        ("aws_ecs_cluster.d.name", 'reference to undeclared resource "aws_ecs_cluster.d"'),
        ("count.index", '"count.index" used where "count" is not set'),
        ("each.key", '"each.key" used where "for_each" is not set'),
        ("self.id", '"self.id" is only valid in provisioner, connection and postcondition blocks'),
        ("path.modules", 'invalid reference "path.modules": path has module, root and cwd'),
        ("var", 'invalid reference "var": expected var.NAME'),
        ("nothing", 'unknown name "nothing" (not a variable, local, resource or iterator)'),
        ("[for x in var.v : y]", 'unknown name "y" (not a variable, local, resource or iterator)'),
    ],
)
def test_bad_references(check_tf, expr, message):
    out = check_tf({"main.tf": REF_BASE.replace("EXPR", expr)})
    assert out == [f'main.tf:10: resource "aws_ecs_cluster.c": {message}']


@pytest.mark.parametrize(
    "expr",
    [
        "var.v",
        '"${local.l}-${data.aws_caller_identity.me.account_id}"',
        "aws_ecs_cluster.c.id",
        '"${path.module}/${terraform.workspace}"',
        "[for x in var.v : x]",
        "jsonencode({ Name = var.v })",
    ],
)
def test_good_references(check_tf, expr):
    assert check_tf({"main.tf": REF_BASE.replace("EXPR", expr)}) == []


def test_references_in_locals_outputs_and_heredocs(check_tf):
    out = check_tf(
        {
            "main.tf": """
            locals {
              a = var.missing
            }
            output "o" {
              value = <<-EOT
                ${local.a}
                ${local.b}
              EOT
            }
            """
        }
    )
    assert out == [
        'main.tf:3: local "a": reference to undeclared input variable "var.missing"',
        'main.tf:8: output "o": reference to undeclared local value "local.b"',
    ]


# -- module calls ----------------------------------------------------------------

CHILD = """
variable "name" {
  type = string
}
variable "size" {
  type    = number
  default = null
}
output "id" {
  value = var.name
}
"""


def module_call(body: str, output: str = "module.child.id") -> dict[str, str]:
    return {
        "root/main.tf": f"""
        module "child" {{
          source = "../child"
        {body}
        }}
        output "x" {{
          value = {output}
        }}
        """,
        "child/main.tf": CHILD,
    }


def test_module_call_with_declared_inputs_passes(check_tf):
    assert check_tf(module_call('  name = "n"\n  count = 1')) == []
    assert check_tf(module_call('  name = "n"\n  size = 2')) == []


def test_module_undeclared_input(check_tf):
    out = check_tf(module_call('  name = "n"\n  colour = "red"'), root="root")
    assert out == [
        'root/main.tf:5: module "child": unsupported argument "colour": module ../child '
        "declares no such variable"
    ]


def test_module_missing_required_input(check_tf):
    out = check_tf(module_call("  size = 1"), root="root")
    assert out == [
        'root/main.tf:2: module "child": missing required argument "name" (variable of ../child)'
    ]


def test_module_missing_output(check_tf):
    out = check_tf(module_call('  name = "n"', output="module.child.arn"), root="root")
    assert out == ['root/main.tf:7: output "x": module "child" (../child) has no output "arn"']


def test_module_sources(check_tf):
    out = check_tf(
        {
            "main.tf": """
            module "a" {
              source = "terraform-aws-modules/vpc/aws"
            }
            module "b" {
              source = "./missing"
            }
            module "c" {
              name = "x"
            }
            """
        }
    )
    assert out == [
        'main.tf:2: module "a": module source "terraform-aws-modules/vpc/aws" is not a local '
        "path; its inputs cannot be checked offline",
        'main.tf:5: module "b": module source "./missing" has no .tf files',
        'main.tf:8: module "c": missing required argument "source"',
    ]


def test_each_module_folder_is_also_checked_as_a_root(check_tf):
    files = module_call('  name = "n"')
    files["child/extra.tf"] = 'output "bad" {\n  value = var.nope\n}\n'
    out = check_tf(files)
    assert out == [
        'child/extra.tf:2: output "bad": reference to undeclared input variable "var.nope"'
    ]


def test_syntax_error_is_a_finding(check_tf):
    out = check_tf({"main.tf": 'resource "aws_ecs_cluster" "c" {\n  name = \n}\n'})
    assert len(out) == 1
    assert out[0].startswith("main.tf:2: file: syntax error")


# -- synthetic schema: required blocks ---------------------------------------------


def test_required_block_from_schema(tmp_path, schema):
    custom = dict(schema)
    custom["resources"] = {
        "aws_thing": {
            "attributes": {"name": {"required": False}},
            "blocks": {
                "rule": {
                    "required": True,
                    "nesting": "list",
                    "block": {"attributes": {"id": {"required": True}}, "blocks": {}},
                }
            },
        }
    }
    (tmp_path / "main.tf").write_text(
        'resource "aws_thing" "a" {\n  name = "a"\n}\n'
        'resource "aws_thing" "b" {\n  dynamic "rule" {\n    for_each = [1]\n'
        "    content {\n      id = rule.value\n    }\n  }\n}\n",
        encoding="utf-8",
    )
    checker = Checker(custom)
    checker.check_directory(tmp_path)
    assert [f.render(tmp_path) for f in checker.findings] == [
        'main.tf:1: resource "aws_thing.a": missing required block "rule"'
    ]


# -- command line -------------------------------------------------------------------


def run_cli(*args: str, cwd=REPO_ROOT) -> subprocess.CompletedProcess[str]:
    env_path = str(TOOLS)
    return subprocess.run(
        [sys.executable, "-m", "tfcheck", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_cli_exit_codes_and_format(tmp_path):
    clean = run_cli(str(FIXTURE))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == ""
    assert "0 finding(s)" in clean.stderr

    broken = tmp_path / "broken"
    shutil.copytree(FIXTURE, broken)
    main = broken / "main.tf"
    head = 'resource "aws_ecs_cluster" "this" {\n  name = var.name\n'
    text = main.read_text()
    assert head in text
    main.write_text(text.replace(head, head.replace("var.name", "var.nmae")))
    line = text[: text.index(head)].count("\n") + 2
    result = run_cli(str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f'broken/main.tf:{line}: resource "aws_ecs_cluster.this": reference to undeclared input '
        'variable "var.nmae"'
    ]

    assert run_cli(str(tmp_path / "absent")).returncode == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    usage = run_cli(str(empty))
    assert usage.returncode == 2
    assert "no .tf files" in usage.stderr
    bad_schema = run_cli("--schema", str(tmp_path / "none.json"), str(FIXTURE))
    assert bad_schema.returncode == 2
    assert "Traceback" not in bad_schema.stderr


def test_import_provisioner_and_check_blocks(check_tf):
    out = check_tf(
        {
            "main.tf": """
            variable "ids" {
              type = map(string)
            }
            import {
              for_each = var.ids
              to       = aws_ecs_cluster.c[each.key]
              id       = each.value
            }
            import {
              to = aws_ecs_cluster.c["x"]
              id = each.value
            }
            resource "aws_ecs_cluster" "c" {
              for_each = var.ids
              name     = each.key
              provisioner "local-exec" {
                command = "echo ${self.arn}"
              }
            }
            check "named" {
              data "aws_caller_identity" "me" {}
              assert {
                condition     = data.aws_caller_identity.me.account_id != var.nope
                error_message = "x"
              }
            }
            """
        }
    )
    assert out == [
        'main.tf:12: import: "each.value" used where "for_each" is not set',
        'main.tf:24: check "named": reference to undeclared input variable "var.nope"',
    ]
