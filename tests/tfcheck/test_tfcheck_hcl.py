"""Reference extraction: what counts as a reference and on which line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tfcheck.hcl import HclError, module_dirs, parse_file


def refs_of(tmp_path: Path, hcl: str, name: str = "x") -> list[tuple[str, int]]:
    path = tmp_path / "main.tf"
    path.write_text(textwrap.dedent(hcl), encoding="utf-8")
    body = parse_file(path)
    attr = body.blocks[0].body.attribute(name)
    assert attr is not None
    return [(r.text(), r.line) for r in attr.expr.references()]


def test_plain_traversals_keep_attribute_steps(tmp_path):
    refs = refs_of(
        tmp_path,
        """
        locals {
          x = [var.a, local.b.c, module.m.out, data.aws_vpc.v[0].id, aws_lb.l.arn]
        }
        """,
    )
    assert [r for r, _ in refs] == [
        "var.a",
        "local.b.c",
        "module.m.out",
        "data.aws_vpc.v[].id",
        "aws_lb.l.arn",
    ]


def test_interpolations_and_nested_calls(tmp_path):
    refs = refs_of(
        tmp_path,
        """
        locals {
          x = "pre-${var.a}-${upper(local.b)}-$${var.escaped}"
        }
        """,
    )
    assert [r for r, _ in refs] == ["var.a", "local.b"]


def test_function_names_and_literal_object_keys_are_not_references(tmp_path):
    refs = refs_of(
        tmp_path,
        """
        locals {
          x = jsonencode({ Statement = [{ Effect = "Allow", Resource = var.arn }] })
        }
        """,
    )
    assert [r for r, _ in refs] == ["var.arn"]


def test_computed_object_keys_are_references(tmp_path):
    refs = refs_of(
        tmp_path,
        """
        locals {
          x = { (var.key) = 1, "${local.k}" = 2 }
        }
        """,
    )
    assert [r for r, _ in refs] == ["var.key", "local.k"]


def test_for_expression_names_are_scoped(tmp_path):
    refs = refs_of(
        tmp_path,
        """
        locals {
          x = { for k, v in var.m : k => v.id if v != s }
        }
        """,
    )
    # k and v are bound inside the for; s is not, so it is reported as a bare name.
    assert [r for r, _ in refs] == ["var.m", "s"]


def test_splat_and_index_expressions(tmp_path):
    refs = refs_of(
        tmp_path,
        """
        locals {
          x = aws_subnet.s[*].id[var.i]
        }
        """,
    )
    assert [r for r, _ in refs] == ["aws_subnet.s[*].id[]", "var.i"]


def test_heredoc_interpolations_and_directives_with_lines(tmp_path):
    refs = refs_of(
        tmp_path,
        """
        locals {
          x = <<-EOT
            first ${var.one}
            %{for item in local.items~}
            ${item} and ${var.two}
            %{endfor~}
            %{if var.flag}yes%{endif}
          EOT
        }
        """,
    )
    assert refs == [("var.one", 4), ("local.items", 5), ("var.two", 6), ("var.flag", 8)]


def test_blocks_labels_and_lines(tmp_path):
    path = tmp_path / "main.tf"
    path.write_text(
        'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n\n  tags {\n  }\n}\n', encoding="utf-8"
    )
    body = parse_file(path)
    block = body.blocks[0]
    assert (block.type, block.labels, block.line) == ("resource", ["aws_s3_bucket", "b"], 1)
    assert block.body.attribute("bucket").line == 2
    assert [(b.type, b.line) for b in block.body.blocks] == [("tags", 4)]


def test_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "broken.tf"
    path.write_text('resource "a" "b" {\n  x = \n}\n', encoding="utf-8")
    with pytest.raises(HclError) as info:
        parse_file(path)
    assert info.value.path == path
    assert "syntax error" in info.value.message


def test_module_dirs_skips_hidden_folders(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.tf").write_text("", encoding="utf-8")
    (tmp_path / ".terraform" / "modules").mkdir(parents=True)
    (tmp_path / ".terraform" / "modules" / "y.tf").write_text("", encoding="utf-8")
    (tmp_path / "b").mkdir()
    assert list(module_dirs(tmp_path)) == [tmp_path / "a"]
