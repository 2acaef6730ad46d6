"""Check Terraform modules offline against the hashicorp/aws argument schema.

Rules, for every directory holding .tf files (each is also checked as a root):

* resource, data and provider "aws" blocks, nested and dynamic blocks included,
  use only arguments and blocks of the provider schema (aws_schema.json) or
  Terraform meta-arguments, and set every required one;
* module calls with a local source pass only the callee's declared variables
  and every variable without a default; `module.NAME.OUTPUT` names an output;
* every `var.`, `local.`, `module.`, `data.` and resource reference resolves,
  `count.` / `each.` / `self.` only where Terraform allows them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfcheck.hcl import (
    Attribute,
    Block,
    Body,
    Expression,
    HclError,
    Reference,
    parse_file,
    tf_files,
)

SCHEMA_PATH = Path(__file__).resolve().parent / "aws_schema.json"

# Terraform language (not provider) knowledge.
MODULE_META = {"source", "version", "providers", "count", "for_each", "depends_on"}
DATA_META = {"count", "for_each", "depends_on", "provider", "lifecycle"}
DATA_LIFECYCLE = {"precondition", "postcondition"}
CONDITION_ARGS = {"condition", "error_message"}
PATH_ATTRS = {"module", "root", "cwd"}
TERRAFORM_ATTRS = {"workspace", "applying"}
# terraform_data is built into Terraform itself (no provider schema).
BUILTIN_RESOURCES: dict[str, Any] = {
    "terraform_data": {
        "attributes": {"input": {"required": False}, "triggers_replace": {"required": False}},
        "blocks": {},
    }
}
# Top-level block types and how many labels each takes.
TOP_LEVEL_LABELS = {
    "terraform": 0,
    "provider": 1,
    "variable": 1,
    "locals": 0,
    "output": 1,
    "module": 1,
    "resource": 2,
    "data": 2,
    "moved": 0,
    "import": 0,
    "removed": 0,
    "check": 1,
    "ephemeral": 2,
}
TOP_LEVEL = frozenset(TOP_LEVEL_LABELS)


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int | None
    block: str
    message: str

    def render(self, base: Path | None = None) -> str:
        path = self.path
        if base is not None:
            try:
                path = path.resolve().relative_to(base.resolve())
            except ValueError:
                path = self.path
        where = f"{path}:{self.line}" if self.line else f"{path}"
        return f"{where}: {self.block}: {self.message}"


@dataclass
class Variable:
    name: str
    has_default: bool


@dataclass
class ModuleCall:
    name: str
    block: Block


@dataclass
class Module:
    """Everything declared in one directory."""

    directory: Path
    variables: dict[str, Variable] = field(default_factory=dict)
    locals: dict[str, Attribute] = field(default_factory=dict)
    outputs: set[str] = field(default_factory=set)
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)
    ephemeral: set[tuple[str, str]] = field(default_factory=set)
    modules: dict[str, ModuleCall] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    local_blocks: list[tuple[Block, Attribute]] = field(default_factory=list)
    parse_errors: list[Finding] = field(default_factory=list)


class SchemaError(Exception):
    """The schema file is missing or malformed."""


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"cannot read schema {path}: {exc}") from exc
    for key in ("meta_arguments", "resources", "data_sources", "resource_types", "provider"):
        if key not in data:
            raise SchemaError(f"schema {path} has no '{key}'; regenerate it")
    return data


def block_label(block: Block) -> str:
    """How a finding names its top-level block: `resource "aws_x.y"`, `module "m"`, ..."""
    if block.type in ("resource", "data", "ephemeral") and len(block.labels) >= 2:
        return f'{block.type} "{block.labels[0]}.{block.labels[1]}"'
    if block.labels:
        return f'{block.type} "{block.labels[0]}"'
    return block.type


def load_module(directory: Path) -> Module:
    module = Module(directory)
    for path in tf_files(directory):
        try:
            body = parse_file(path)
        except HclError as exc:
            module.parse_errors.append(Finding(exc.path, exc.line, "file", exc.message))
            continue
        for attr in body.attributes:
            module.parse_errors.append(
                Finding(
                    path,
                    attr.line,
                    f'argument "{attr.name}"',
                    "arguments are not allowed at the top level",
                )
            )
        for block in body.blocks:
            _declare(module, block)
    return module


def _declare(module: Module, block: Block) -> None:
    module.blocks.append(block)
    label = block_label(block)
    if block.type not in TOP_LEVEL:
        module.parse_errors.append(
            Finding(
                block.path, block.line, label, f'unsupported top-level block type "{block.type}"'
            )
        )
        return
    expected_labels = TOP_LEVEL_LABELS[block.type]
    if len(block.labels) != expected_labels:
        module.parse_errors.append(
            Finding(
                block.path,
                block.line,
                label,
                f"a {block.type} block takes {expected_labels} label(s), found {len(block.labels)}",
            )
        )
        return
    duplicate = None
    if block.type == "variable":
        name = block.labels[0]
        duplicate = name in module.variables
        default = block.body.attribute("default")
        module.variables[name] = Variable(name, default is not None)
    elif block.type == "locals":
        for attr in block.body.attributes:
            if attr.name in module.locals:
                module.parse_errors.append(
                    Finding(
                        block.path, attr.line, f'local "{attr.name}"', "local value defined twice"
                    )
                )
            module.locals[attr.name] = attr
            module.local_blocks.append((block, attr))
    elif block.type == "output":
        duplicate = block.labels[0] in module.outputs
        module.outputs.add(block.labels[0])
    elif block.type == "resource":
        key = (block.labels[0], block.labels[1])
        duplicate = key in module.resources
        module.resources[key] = block
    elif block.type == "data":
        key = (block.labels[0], block.labels[1])
        duplicate = key in module.data
        module.data[key] = block
    elif block.type == "ephemeral":
        module.ephemeral.add((block.labels[0], block.labels[1]))
    elif block.type == "module":
        duplicate = block.labels[0] in module.modules
        module.modules[block.labels[0]] = ModuleCall(block.labels[0], block)
    if duplicate:
        module.parse_errors.append(
            Finding(block.path, block.line, label, "declared twice in this module")
        )


@dataclass(frozen=True)
class Context:
    """Where an expression sits: which special names it may use."""

    label: str
    path: Path
    allow_count: bool = False
    allow_each: bool = False
    allow_self: bool = False
    scope: frozenset[str] = frozenset()


class Checker:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.resource_meta = set(schema["meta_arguments"]["resource"])
        self.lifecycle_args = set(schema["meta_arguments"]["lifecycle"])
        self.findings: list[Finding] = []
        self._modules: dict[Path, Module] = {}
        self.blocks_checked = 0

    # -- entry points -----------------------------------------------------

    def module(self, directory: Path) -> Module:
        key = directory.resolve()
        if key not in self._modules:
            self._modules[key] = load_module(directory)
        return self._modules[key]

    def check_directory(self, directory: Path) -> None:
        module = self.module(directory)
        self.findings.extend(module.parse_errors)
        for block in module.blocks:
            self._check_top_block(module, block)
        for block, attr in module.local_blocks:
            ctx = Context(f'local "{attr.name}"', block.path)
            self._refs(module, attr.expr, ctx)

    # -- top-level blocks -------------------------------------------------

    def _check_top_block(self, module: Module, block: Block) -> None:
        label = block_label(block)
        if block.type not in TOP_LEVEL or _wrong_labels(block):
            return
        self.blocks_checked += 1
        ctx = Context(label, block.path)
        if block.type in ("resource", "data"):
            self._check_resource(module, block, ctx)
        elif block.type == "module":
            self._check_module_call(module, block, ctx)
        elif block.type == "provider":
            self._check_provider(module, block, ctx)
        elif block.type == "output":
            self._check_output(module, block, ctx)
        elif block.type == "variable":
            for validation in block.body.blocks_of("validation"):
                self._refs_in_body(module, validation.body, ctx)
        elif block.type == "import":
            each = block.body.attribute("for_each") is not None
            for name in ("id", "for_each", "identity"):
                attr = block.body.attribute(name)
                if attr is not None:
                    inner = Context(ctx.label, ctx.path, allow_each=each and name != "for_each")
                    self._refs(module, attr.expr, inner)
        elif block.type == "check":
            self._check_check(module, block, ctx)

    def _check_resource(self, module: Module, block: Block, ctx: Context) -> None:
        type_, _ = block.labels[0], block.labels[1]
        is_data = block.type == "data"
        ctx = Context(
            ctx.label,
            ctx.path,
            allow_count=block.body.attribute("count") is not None,
            allow_each=block.body.attribute("for_each") is not None,
        )
        if block.body.attribute("count") and block.body.attribute("for_each"):
            self._add(ctx, block.line, '"count" and "for_each" cannot both be set')
        schema = self._type_schema(type_, is_data)
        if schema is None:
            self._unknown_type(ctx, block, type_, is_data)
        meta = DATA_META if is_data else self.resource_meta
        self._check_body(module, block.body, schema, ctx, top_meta=meta, line=block.line)
        for name in ("count", "for_each"):
            attr = block.body.attribute(name)
            if attr is not None:
                self._refs(module, attr.expr, Context(ctx.label, ctx.path))
        depends = block.body.attribute("depends_on")
        if depends is not None:
            self._refs(module, depends.expr, Context(ctx.label, ctx.path))

    def _type_schema(self, type_: str, is_data: bool) -> dict[str, Any] | None:
        if is_data:
            result: dict[str, Any] | None = self.schema["data_sources"].get(type_)
            return result
        if type_ in BUILTIN_RESOURCES:
            return dict(BUILTIN_RESOURCES[type_])
        resource: dict[str, Any] | None = self.schema["resources"].get(type_)
        return resource

    def _unknown_type(self, ctx: Context, block: Block, type_: str, is_data: bool) -> None:
        kind = "data source" if is_data else "resource"
        known = self.schema["data_source_types" if is_data else "resource_types"]
        if not type_.startswith("aws_"):
            message = f'no schema for {kind} type "{type_}" (only hashicorp/aws is known offline)'
        elif type_ in known:
            message = (
                f'{kind} type "{type_}" is missing from aws_schema.json; '
                "rerun python -m tfcheck.extract_schema"
            )
        else:
            message = f'{kind} type "{type_}" does not exist in the hashicorp/aws provider'
        self._add(ctx, block.line, message)

    # -- bodies against a schema -----------------------------------------

    def _check_body(
        self,
        module: Module,
        body: Body,
        schema: dict[str, Any] | None,
        ctx: Context,
        top_meta: set[str] | None = None,
        where: str = "",
        line: int | None = None,
    ) -> None:
        """Check one block body against `schema` (None: unknown, only references)."""
        meta = top_meta or set()
        inside = f" in {where}" if where else ""
        attrs = schema["attributes"] if schema else {}
        blocks = schema["blocks"] if schema else {}
        seen: dict[str, int] = {}
        for attr in body.attributes:
            if attr.name in seen:
                self._add(ctx, attr.line, f'argument "{attr.name}"{inside} is set twice')
            seen[attr.name] = attr.line
            if attr.name in meta:
                if attr.name in ("provider",):
                    continue  # a provider address, not an expression
                if attr.name in ("count", "for_each", "depends_on"):
                    continue  # checked by the caller with the block's outer context
                self._add(ctx, attr.line, f'"{attr.name}" must be a block{inside}')
                continue
            if schema is not None and attr.name not in attrs:
                if attr.name in blocks:
                    self._add(
                        ctx,
                        attr.line,
                        f'"{attr.name}"{inside} is a block, not an argument: '
                        f"write {attr.name} {{ ... }}",
                    )
                else:
                    self._add(ctx, attr.line, f'unsupported argument "{attr.name}"{inside}')
            self._refs(module, attr.expr, ctx)
        present_blocks: dict[str, int] = {}
        for block in body.blocks:
            name = block.type
            if name == "dynamic":
                self._check_dynamic(module, block, schema, ctx, where, present_blocks)
                continue
            if name == "lifecycle" and "lifecycle" in meta:
                self._check_lifecycle(module, block, schema, ctx, data=top_meta is DATA_META)
                continue
            if name in ("provisioner", "connection") and name in meta:
                self._refs_in_body(
                    module,
                    block.body,
                    Context(ctx.label, ctx.path, ctx.allow_count, ctx.allow_each, True, ctx.scope),
                )
                continue
            present_blocks[name] = present_blocks.get(name, 0) + 1
            if block.labels:
                self._add(ctx, block.line, f'block "{name}"{inside} takes no labels')
            self._check_nested(module, block, name, schema, ctx, where, present_blocks)
        if schema is None:
            return
        for name, spec in sorted(attrs.items()):
            if spec["required"] and name not in seen and name not in present_blocks:
                self._add(
                    ctx,
                    line or _first_line(body),
                    f'missing required argument "{name}"{inside}',
                )
        for name, spec in sorted(blocks.items()):
            if spec["required"] and name not in present_blocks:
                self._add(
                    ctx,
                    line or _first_line(body),
                    f'missing required block "{name}"{inside}',
                )

    def _check_nested(
        self,
        module: Module,
        block: Block,
        name: str,
        schema: dict[str, Any] | None,
        ctx: Context,
        where: str,
        present_blocks: dict[str, int],
    ) -> None:
        inside = f" in {where}" if where else ""
        path = f"{where}.{name}" if where else name
        if schema is None:
            self._check_body(module, block.body, None, ctx, where=path, line=block.line)
            return
        spec = schema["blocks"].get(name)
        if spec is not None:
            if spec["nesting"] == "single" and present_blocks.get(name, 0) > 1:
                self._add(ctx, block.line, f'block "{name}"{inside} may appear only once')
            self._check_body(module, block.body, spec["block"], ctx, where=path, line=block.line)
            return
        attr_spec = schema["attributes"].get(name)
        if attr_spec is not None and "nested" in attr_spec:
            # Object-typed argument written in block syntax (allowed by the provider
            # for attributes-as-blocks such as security group rules).
            self._check_body(
                module, block.body, attr_spec["nested"], ctx, where=path, line=block.line
            )
            return
        if attr_spec is not None:
            self._add(
                ctx, block.line, f'"{name}"{inside} is an argument, not a block: write {name} = ...'
            )
        else:
            self._add(ctx, block.line, f'unsupported block type "{name}"{inside}')
        self._check_body(module, block.body, None, ctx, where=path, line=block.line)

    def _check_dynamic(
        self,
        module: Module,
        block: Block,
        schema: dict[str, Any] | None,
        ctx: Context,
        where: str,
        present_blocks: dict[str, int],
    ) -> None:
        inside = f" in {where}" if where else ""
        if len(block.labels) != 1:
            self._add(ctx, block.line, f"a dynamic block{inside} takes exactly one label")
            return
        name = block.labels[0]
        present_blocks[name] = present_blocks.get(name, 0) + 1
        allowed = {"for_each", "iterator", "labels"}
        iterator = name
        for attr in block.body.attributes:
            if attr.name not in allowed:
                self._add(ctx, attr.line, f'unsupported argument "{attr.name}" in dynamic "{name}"')
            elif attr.name == "iterator":
                bare = attr.expr.bare_identifier()
                if bare is None:
                    self._add(ctx, attr.line, f'iterator of dynamic "{name}" must be a bare name')
                else:
                    iterator = bare
            else:
                self._refs(module, attr.expr, ctx)
        if block.body.attribute("for_each") is None:
            self._add(ctx, block.line, f'missing required argument "for_each" in dynamic "{name}"')
        contents = block.body.blocks_of("content")
        others = [b for b in block.body.blocks if b.type != "content"]
        for other in others:
            self._add(ctx, other.line, f'unsupported block type "{other.type}" in dynamic "{name}"')
        if len(contents) != 1:
            self._add(ctx, block.line, f'dynamic "{name}" needs exactly one content block')
            return
        content = contents[0]
        inner_ctx = Context(
            ctx.label,
            ctx.path,
            ctx.allow_count,
            ctx.allow_each,
            ctx.allow_self,
            ctx.scope | {iterator},
        )
        content_block = Block(name, [], content.body, block.line, content.path)
        self._check_nested(module, content_block, name, schema, inner_ctx, where, present_blocks)

    def _check_lifecycle(
        self, module: Module, block: Block, schema: dict[str, Any] | None, ctx: Context, data: bool
    ) -> None:
        allowed = DATA_LIFECYCLE if data else self.lifecycle_args
        for attr in block.body.attributes:
            if attr.name not in allowed or attr.name in ("precondition", "postcondition"):
                self._add(ctx, attr.line, f'unsupported argument "{attr.name}" in lifecycle')
            elif attr.name == "ignore_changes":
                self._check_ignore_changes(attr, schema, ctx)
            elif attr.name == "replace_triggered_by":
                self._refs(module, attr.expr, ctx)
        for inner in block.body.blocks:
            if inner.type not in ("precondition", "postcondition") or inner.type not in allowed:
                self._add(ctx, inner.line, f'unsupported block type "{inner.type}" in lifecycle')
                continue
            post = inner.type == "postcondition"
            self._check_condition(
                module,
                inner,
                Context(ctx.label, ctx.path, ctx.allow_count, ctx.allow_each, post, ctx.scope),
            )

    def _check_ignore_changes(
        self, attr: Attribute, schema: dict[str, Any] | None, ctx: Context
    ) -> None:
        if attr.expr.bare_identifier() == "all":
            return
        names = attr.expr.identifier_list()
        if names is None:
            self._add(
                ctx, attr.line, "lifecycle ignore_changes must be a list of argument names or all"
            )
            return
        if schema is None:
            return
        known = set(schema["attributes"]) | set(schema["blocks"])
        for name in names:
            root = name.split(".")[0].split("[")[0]
            if root not in known:
                self._add(
                    ctx, attr.line, f'lifecycle ignore_changes names unknown argument "{root}"'
                )

    def _check_condition(self, module: Module, block: Block, ctx: Context) -> None:
        for attr in block.body.attributes:
            if attr.name not in CONDITION_ARGS:
                self._add(ctx, attr.line, f'unsupported argument "{attr.name}" in {block.type}')
            self._refs(module, attr.expr, ctx)
        for name in sorted(CONDITION_ARGS):
            if block.body.attribute(name) is None:
                self._add(ctx, block.line, f'missing required argument "{name}" in {block.type}')
        for inner in block.body.blocks:
            self._add(ctx, inner.line, f'unsupported block type "{inner.type}" in {block.type}')

    # -- other top-level blocks ------------------------------------------

    def _check_provider(self, module: Module, block: Block, ctx: Context) -> None:
        if block.labels[0] == "aws":
            self._check_body(module, block.body, self.schema["provider"], ctx, line=block.line)
        else:
            self._refs_in_body(module, block.body, ctx)

    def _check_output(self, module: Module, block: Block, ctx: Context) -> None:
        allowed = {"value", "description", "sensitive", "depends_on", "ephemeral"}
        for attr in block.body.attributes:
            if attr.name not in allowed:
                self._add(ctx, attr.line, f'unsupported argument "{attr.name}"')
            self._refs(module, attr.expr, ctx)
        if block.body.attribute("value") is None:
            self._add(ctx, block.line, 'missing required argument "value"')
        for inner in block.body.blocks:
            if inner.type == "precondition":
                self._check_condition(module, inner, ctx)
            else:
                self._add(ctx, inner.line, f'unsupported block type "{inner.type}"')

    def _check_check(self, module: Module, block: Block, ctx: Context) -> None:
        scoped = Module(module.directory)
        scoped.__dict__.update({k: v for k, v in module.__dict__.items() if k != "data"})
        scoped.data = dict(module.data)
        for inner in block.body.blocks_of("data"):
            if len(inner.labels) == 2:
                scoped.data[(inner.labels[0], inner.labels[1])] = inner
                self._check_resource(scoped, inner, Context(block_label(inner), inner.path))
        for inner in block.body.blocks_of("assert"):
            self._check_condition(scoped, inner, ctx)

    def _check_module_call(self, module: Module, block: Block, ctx: Context) -> None:
        body = block.body
        ctx = Context(
            ctx.label,
            ctx.path,
            allow_count=body.attribute("count") is not None,
            allow_each=body.attribute("for_each") is not None,
        )
        outer = Context(ctx.label, ctx.path)
        for name in ("count", "for_each", "depends_on"):
            attr = body.attribute(name)
            if attr is not None:
                self._refs(module, attr.expr, outer)
        for inner in body.blocks:
            self._add(ctx, inner.line, f'unsupported block type "{inner.type}" in a module call')
        source_attr = body.attribute("source")
        if source_attr is None:
            self._add(ctx, block.line, 'missing required argument "source"')
            return
        source = source_attr.expr.string_literal()
        if source is None:
            self._add(ctx, source_attr.line, "source must be a literal string")
            return
        inputs = [a for a in body.attributes if a.name not in MODULE_META]
        for attr in inputs:
            self._refs(module, attr.expr, ctx)
        callee = self._callee(block, source, ctx)
        if callee is None:
            return
        for attr in inputs:
            if attr.name not in callee.variables:
                self._add(
                    ctx,
                    attr.line,
                    f'unsupported argument "{attr.name}": '
                    f"module {source} declares no such variable",
                )
        given = {a.name for a in inputs}
        for name, variable in sorted(callee.variables.items()):
            if not variable.has_default and name not in given:
                self._add(
                    ctx, block.line, f'missing required argument "{name}" (variable of {source})'
                )

    def _callee(self, block: Block, source: str, ctx: Context) -> Module | None:
        if not source.startswith(("./", "../")):
            self._add(
                ctx,
                block.line,
                f'module source "{source}" is not a local path; '
                "its inputs cannot be checked offline",
            )
            return None
        target = (block.path.parent / source).resolve()
        if not target.is_dir() or not tf_files(target):
            self._add(ctx, block.line, f'module source "{source}" has no .tf files')
            return None
        if target == block.path.parent.resolve():
            self._add(ctx, block.line, f'module source "{source}" is the calling module itself')
            return None
        return self.module(target)

    # -- references --------------------------------------------------------

    def _refs_in_body(self, module: Module, body: Body, ctx: Context) -> None:
        for attr in body.attributes:
            self._refs(module, attr.expr, ctx)
        for inner in body.blocks:
            self._refs_in_body(module, inner.body, ctx)

    def _refs(self, module: Module, expr: Expression, ctx: Context) -> None:
        for ref in expr.references(ctx.scope):
            message = self._resolve(module, ref, ctx)
            if message:
                self._add(ctx, ref.line, message)

    def _resolve(self, module: Module, ref: Reference, ctx: Context) -> str | None:
        names = ref.attr_names()
        first = ref.steps[0].name if ref.steps and ref.steps[0].kind == "attr" else None
        text = ref.text()
        root = ref.root
        if root == "var":
            if first is None:
                return f'invalid reference "{text}": expected var.NAME'
            if first not in module.variables:
                return f'reference to undeclared input variable "var.{first}"'
        elif root == "local":
            if first is None:
                return f'invalid reference "{text}": expected local.NAME'
            if first not in module.locals:
                return f'reference to undeclared local value "local.{first}"'
        elif root == "module":
            return self._resolve_module(module, ref)
        elif root in ("data", "ephemeral"):
            if len(names) < 2 or ref.steps[0].kind != "attr" or ref.steps[1].kind != "attr":
                return f'invalid reference "{text}": expected {root}.TYPE.NAME'
            table = module.data if root == "data" else module.ephemeral
            if (names[0], names[1]) not in table:
                return f'reference to undeclared {root} "{root}.{names[0]}.{names[1]}"'
        elif root == "path":
            if first not in PATH_ATTRS:
                return f'invalid reference "{text}": path has module, root and cwd'
        elif root == "terraform":
            if first not in TERRAFORM_ATTRS:
                return f'invalid reference "{text}": terraform has workspace and applying'
        elif root == "count":
            if not ctx.allow_count:
                return f'"{text}" used where "count" is not set'
            if first != "index":
                return f'invalid reference "{text}": count has only index'
        elif root == "each":
            if not ctx.allow_each:
                return f'"{text}" used where "for_each" is not set'
            if first not in ("key", "value"):
                return f'invalid reference "{text}": each has key and value'
        elif root == "self":
            if not ctx.allow_self:
                return f'"{text}" is only valid in provisioner, connection and postcondition blocks'
        else:
            if first is None:
                return f'unknown name "{root}" (not a variable, local, resource or iterator)'
            if (root, first) not in module.resources:
                return f'reference to undeclared resource "{root}.{first}"'
        return None

    def _resolve_module(self, module: Module, ref: Reference) -> str | None:
        if not ref.steps or ref.steps[0].kind != "attr":
            return f'invalid reference "{ref.text()}": expected module.NAME'
        name = ref.steps[0].name
        call = module.modules.get(name)
        if call is None:
            return f'reference to undeclared module "module.{name}"'
        output = next((s.name for s in ref.steps[1:] if s.kind == "attr"), None)
        if output is None:
            return None
        source_attr = call.block.body.attribute("source")
        source = source_attr.expr.string_literal() if source_attr else None
        if source is None or not source.startswith(("./", "../")):
            return None
        target = (call.block.path.parent / source).resolve()
        if not target.is_dir() or not tf_files(target) or target == module.directory.resolve():
            return None  # reported at the module call
        callee = self.module(target)
        if output not in callee.outputs:
            return f'module "{name}" ({source}) has no output "{output}"'
        return None

    def _add(self, ctx: Context, line: int | None, message: str) -> None:
        self.findings.append(Finding(ctx.path, line, ctx.label, message))


def _wrong_labels(block: Block) -> bool:
    return len(block.labels) != TOP_LEVEL_LABELS[block.type]


def _first_line(body: Body) -> int | None:
    lines = [a.line for a in body.attributes] + [b.line for b in body.blocks]
    return min(lines) if lines else None


def check_paths(roots: list[Path], schema: dict[str, Any]) -> Checker:
    """Check every module directory under each of `roots`."""
    from tfcheck.hcl import module_dirs

    checker = Checker(schema)
    seen: set[Path] = set()
    for root in roots:
        for directory in module_dirs(root):
            key = directory.resolve()
            if key in seen:
                continue
            seen.add(key)
            checker.check_directory(directory)
    checker.findings = sorted(
        set(checker.findings), key=lambda f: (str(f.path), f.line or 0, f.block, f.message)
    )
    return checker
