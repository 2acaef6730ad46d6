"""The checker on the real infra/: clean as committed, failing on broken copies.

Each broken copy changes one thing, found by parsing the real files (not by
fixed line numbers), so the tests keep working while infra/ evolves. Every
failure must name the file and the block.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from tfcheck_support import INFRA

from tfcheck.check import block_label, check_paths
from tfcheck.hcl import Attribute, Block, module_dirs, parse_file, tf_files


@dataclass
class Located:
    path: Path  # relative to the infra copy
    block: Block
    label: str


def infra_blocks(root: Path, kinds: tuple[str, ...]) -> list[Located]:
    found = []
    for directory in module_dirs(root):
        for path in tf_files(directory):
            for block in parse_file(path).blocks:
                if block.type in kinds:
                    found.append(Located(path.relative_to(root), block, block_label(block)))
    return found


def single_line(path: Path, attr: Attribute) -> bool:
    """True if the attribute fits on its own line (safe to delete or edit)."""
    line = path.read_text(encoding="utf-8").splitlines()[attr.line - 1]
    opened = sum(line.count(c) for c in "([{")
    closed = sum(line.count(c) for c in ")]}")
    return opened == closed and "<<" not in line and line.strip().startswith(attr.name)


def insert_after(path: Path, line: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(line, text + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def delete_line(path: Path, line: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    del lines[line - 1]
    path.write_text("".join(lines), encoding="utf-8")


def edit_line(path: Path, line: int, old: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")


def opens_multiline(path: Path, line: int) -> bool:
    return path.read_text(encoding="utf-8").splitlines()[line - 1].rstrip().endswith("{")


@pytest.fixture
def infra_copy(tmp_path: Path) -> Path:
    assert any(INFRA.rglob("*.tf")), "infra/ has no Terraform yet"
    target = tmp_path / "infra"
    shutil.copytree(INFRA, target, ignore=shutil.ignore_patterns(".terraform"))
    return target


def findings(root: Path, schema: dict) -> list[str]:
    checker = check_paths([root], schema)
    return [f.render(root) for f in checker.findings]


def test_real_infra_is_clean(schema):
    checker = check_paths([INFRA], schema)
    assert [f.render(INFRA) for f in checker.findings] == []
    # the root, the state bootstrap and every module are checked
    folders = {d.relative_to(INFRA).as_posix() for d in module_dirs(INFRA)}
    assert {".", "bootstrap"} <= folders
    assert any(f.startswith("modules/") for f in folders)
    assert checker.blocks_checked > 50


def test_unknown_argument_in_a_nested_block(infra_copy, schema):
    candidates = [
        (loc, nested)
        for loc in infra_blocks(infra_copy, ("resource", "data"))
        for nested in loc.block.body.blocks
        if nested.type not in ("lifecycle", "dynamic", "provisioner", "connection")
        and opens_multiline(infra_copy / loc.path, nested.line)
    ]
    assert candidates, "no resource with a nested block in infra/"
    loc, nested = candidates[0]
    insert_after(infra_copy / loc.path, nested.line, "    not_an_argument = true")
    out = findings(infra_copy, schema)
    assert out == [
        f'{loc.path}:{nested.line + 1}: {loc.label}: unsupported argument "not_an_argument" '
        f"in {nested.type}"
    ]


def test_unknown_top_level_argument_in_every_resource(infra_copy, schema):
    # one broken argument per resource block, each reported against its own block
    located = [
        loc
        for loc in infra_blocks(infra_copy, ("resource",))
        if opens_multiline(infra_copy / loc.path, loc.block.line)
    ]
    assert len(located) > 10
    for loc in sorted(located, key=lambda item: (str(item.path), -item.block.line)):
        insert_after(infra_copy / loc.path, loc.block.line, "  bogus_argument = 1")
    out = findings(infra_copy, schema)
    assert len(out) == len(located)
    for loc in located:
        assert any(
            line.startswith(f"{loc.path}:")
            and f'{loc.label}: unsupported argument "bogus_argument"' in line
            for line in out
        ), loc.label


def test_missing_required_argument(infra_copy, schema):
    candidates = []
    for loc in infra_blocks(infra_copy, ("resource", "data")):
        group = "resources" if loc.block.type == "resource" else "data_sources"
        spec = schema[group].get(loc.block.labels[0])
        assert spec is not None, f"{loc.label} is missing from aws_schema.json"
        for attr in loc.block.body.attributes:
            entry = spec["attributes"].get(attr.name)
            if entry and entry["required"] and single_line(infra_copy / loc.path, attr):
                candidates.append((loc, attr))
    assert candidates, "no single-line required argument in infra/"
    loc, attr = candidates[0]
    delete_line(infra_copy / loc.path, attr.line)
    out = findings(infra_copy, schema)
    assert len(out) == 1, out
    assert out[0].startswith(f"{loc.path}:{loc.block.line}: {loc.label}: ")
    assert out[0].endswith(f'missing required argument "{attr.name}"')


@pytest.mark.parametrize("root", ["var", "local", "module", "data"])
def test_bad_reference(infra_copy, schema, root):
    pattern = re.compile(rf"\b{root}\.([A-Za-z_][\w-]*)")
    for loc in infra_blocks(infra_copy, ("resource", "data", "module", "output", "locals")):
        for attr in loc.block.body.attributes:
            line = (infra_copy / loc.path).read_text(encoding="utf-8").splitlines()[attr.line - 1]
            match = pattern.search(line)
            if match and any(r.root == root for r in attr.expr.references()):
                name = match.group(1)
                edit_line(infra_copy / loc.path, attr.line, match.group(0), f"{root}.zz_{name}")
                out = findings(infra_copy, schema)
                label = f'local "{attr.name}"' if loc.block.type == "locals" else loc.label
                assert len(out) >= 1
                assert all(o.startswith(f"{loc.path}:{attr.line}: {label}: ") for o in out), out
                assert f"{root}.zz_{name}" in out[0] or f'"{root}.zz_{name}' in out[0], out
                return
    pytest.fail(f"no single-line {root}. reference in infra/ to break")


def module_calls(infra_copy: Path) -> list[Located]:
    calls = [
        loc
        for loc in infra_blocks(infra_copy, ("module",))
        if (src := loc.block.body.attribute("source")) is not None
        and (src.expr.string_literal() or "").startswith(".")
    ]
    assert calls, "no local module call in infra/"
    return calls


def test_undeclared_module_input(infra_copy, schema):
    loc = module_calls(infra_copy)[0]
    insert_after(infra_copy / loc.path, loc.block.line, '  not_a_declared_input = "x"')
    out = findings(infra_copy, schema)
    assert out == [
        f"{loc.path}:{loc.block.line + 1}: {loc.label}: unsupported argument "
        f'"not_a_declared_input": module {loc.block.body.attribute("source").expr.string_literal()}'
        " declares no such variable"
    ]


def test_missing_required_module_input(infra_copy, schema):
    for loc in module_calls(infra_copy):
        source = loc.block.body.attribute("source").expr.string_literal()
        callee = (infra_copy / loc.path).parent / source
        required = set()
        for path in tf_files(callee):
            for block in parse_file(path).blocks:
                if block.type == "variable" and block.body.attribute("default") is None:
                    required.add(block.labels[0])
        for attr in loc.block.body.attributes:
            if attr.name in required and single_line(infra_copy / loc.path, attr):
                delete_line(infra_copy / loc.path, attr.line)
                out = findings(infra_copy, schema)
                assert out == [
                    f"{loc.path}:{loc.block.line}: {loc.label}: missing required argument "
                    f'"{attr.name}" (variable of {source})'
                ]
                return
    pytest.fail("no module call in infra/ passes a required variable on one line")


def test_module_output_that_does_not_exist(infra_copy, schema):
    pattern = re.compile(r"\bmodule\.(\w+)\.(\w+)")
    for loc in infra_blocks(infra_copy, ("resource", "module", "output", "locals", "data")):
        for attr in loc.block.body.attributes:
            line = (infra_copy / loc.path).read_text(encoding="utf-8").splitlines()[attr.line - 1]
            match = pattern.search(line)
            if match:
                module, output = match.groups()
                edit_line(
                    infra_copy / loc.path, attr.line, match.group(0), f"module.{module}.{output}_zz"
                )
                out = findings(infra_copy, schema)
                label = f'local "{attr.name}"' if loc.block.type == "locals" else loc.label
                assert len(out) == 1, out
                assert out[0].startswith(f"{loc.path}:{attr.line}: {label}: module ")
                assert out[0].endswith(f'has no output "{output}_zz"')
                return
    pytest.fail("no module.NAME.OUTPUT reference in infra/")


def test_unknown_argument_inside_a_module(infra_copy, schema):
    modules = [
        loc
        for loc in infra_blocks(infra_copy, ("resource",))
        if loc.path.parts[0] == "modules" and opens_multiline(infra_copy / loc.path, loc.block.line)
    ]
    assert modules, "no resource inside infra/modules/"
    loc = modules[-1]
    insert_after(infra_copy / loc.path, loc.block.line, "  bogus_argument = 1")
    out = findings(infra_copy, schema)
    assert out == [
        f'{loc.path}:{loc.block.line + 1}: {loc.label}: unsupported argument "bogus_argument"'
    ]
