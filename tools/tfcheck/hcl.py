"""Read Terraform files into blocks, attributes and references.

python-hcl2 gives a Lark parse tree with line numbers; this module turns it
into a small model (`Body`, `Block`, `Attribute`) and finds every reference
(`var.x`, `aws_s3_bucket.b.arn`, ...) inside an expression, interpolations and
heredoc templates included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError

# Nodes of a traversal: base expression followed by attribute / index / splat steps.
_CHAIN = {"get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"}


class HclError(Exception):
    """A file that cannot be read or parsed."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Step:
    """One step after the root name of a reference: `.name`, `[...]` or a splat."""

    kind: str  # "attr", "index" or "splat"
    name: str = ""


@dataclass(frozen=True)
class Reference:
    root: str
    steps: tuple[Step, ...]
    line: int

    def attr_names(self) -> list[str]:
        """Attribute names of the steps, indexes and splats skipped."""
        return [s.name for s in self.steps if s.kind == "attr"]

    def text(self) -> str:
        out = self.root
        for step in self.steps:
            out += (
                f".{step.name}" if step.kind == "attr" else "[*]" if step.kind == "splat" else "[]"
            )
        return out


@dataclass
class Expression:
    tree: Tree[Token] | Token
    line: int

    def references(self, scope: frozenset[str] = frozenset()) -> list[Reference]:
        """Every reference in the expression whose root is not a local name in `scope`."""
        out: list[Reference] = []
        _walk(self.tree, scope, out, 0)
        return out

    def identifier_list(self) -> list[str] | None:
        """For `[a, b.c]`-style lists of bare names (ignore_changes): their texts."""
        node = _unwrap(self.tree)
        if not (isinstance(node, Tree) and node.data == "tuple"):
            return None
        names: list[str] = []
        for elem in node.children:
            if isinstance(elem, Tree) and elem.data != "new_line_or_comment":
                refs: list[Reference] = []
                _walk(elem, frozenset(), refs, 0)
                names.extend(r.text() for r in refs)
        return names

    def bare_identifier(self) -> str | None:
        """The name, if the expression is a single bare identifier (`iterator = x`)."""
        node = _unwrap(self.tree)
        if isinstance(node, Tree) and node.data == "identifier":
            return str(node.children[0])
        return None

    def string_literal(self) -> str | None:
        """The text of a plain string literal without interpolation, else None."""
        node = _unwrap(self.tree)
        if isinstance(node, Tree) and node.data == "string":
            return _string_text(node)
        return None


@dataclass
class Attribute:
    name: str
    expr: Expression
    line: int


@dataclass
class Body:
    attributes: list[Attribute] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    def attribute(self, name: str) -> Attribute | None:
        for attr in self.attributes:
            if attr.name == name:
                return attr
        return None

    def blocks_of(self, type_: str) -> list[Block]:
        return [b for b in self.blocks if b.type == type_]


@dataclass
class Block:
    type: str
    labels: list[str]
    body: Body
    line: int
    path: Path


def parse_file(path: Path) -> Body:
    """Parse one .tf file; raise HclError on unreadable or invalid input."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HclError(path, None, f"cannot read file: {exc}") from exc
    try:
        tree = hcl2.parses_to_tree(text)
    except LarkError as exc:
        line = getattr(exc, "line", None)
        line = line if isinstance(line, int) and line > 0 else None
        token = getattr(exc, "token", None) or getattr(exc, "char", None)
        if token is not None:
            shown = str(token).strip().splitlines()[0][:30] if str(token).strip() else "end of line"
            detail = f"unexpected {shown!r} at column {getattr(exc, 'column', '?')}"
        else:
            lines = str(exc).strip().splitlines()
            detail = lines[0] if lines else type(exc).__name__
        raise HclError(path, line, f"syntax error: {detail}") from exc
    return _body(_child_trees(tree)[0], path)


def _child_trees(node: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _body(node: Tree[Token], path: Path) -> Body:
    body = Body()
    for item in _child_trees(node):
        if item.data == "attribute":
            name_node, expr_node = _child_trees(item)[0], _child_trees(item)[-1]
            body.attributes.append(
                Attribute(_name(name_node), Expression(expr_node, item.meta.line), item.meta.line)
            )
        elif item.data == "block":
            parts = _child_trees(item)
            inner = parts[-1]
            head = parts[:-1]
            labels = [_string_text(p) if p.data == "string" else _name(p) for p in head[1:]]
            body.blocks.append(
                Block(_name(head[0]), labels, _body(inner, path), item.meta.line, path)
            )
    return body


def _name(node: Tree[Token]) -> str:
    token = node.children[0]
    if isinstance(token, Tree):
        return _name(token)
    return str(token)


def _string_text(node: Tree[Token]) -> str:
    out = []
    for part in node.children:
        if isinstance(part, Tree):
            for tok in part.children:
                if isinstance(tok, Token):
                    out.append(str(tok))
                else:
                    out.append("${...}")
    return "".join(out)


def _unwrap(node: Tree[Token] | Token) -> Tree[Token] | Token:
    """Strip `expr_term` wrappers (and parentheses) around a single child."""
    while isinstance(node, Tree) and node.data == "expr_term":
        kids = [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]
        if len(kids) != 1:
            return node
        node = kids[0]
    return node


def _line(node: Tree[Token] | Token, offset: int) -> int:
    if isinstance(node, Token):
        return (node.line or 0) + offset
    return (getattr(node.meta, "line", 0) or 0) + offset


def _flatten(node: Tree[Token]) -> tuple[Tree[Token] | Token, list[tuple[str, object]]]:
    """Split a traversal chain into its base expression and steps."""
    steps: list[tuple[str, object]] = []
    while True:
        base, op = node.children[0], node.children[1]
        if node.data == "get_attr_expr_term":
            steps.append(("attr", _get_attr_name(op)))
        elif node.data == "index_expr_term":
            steps.append(("index", op))
        else:  # splats: the splat then its trailing get_attr / index steps
            trailing: list[tuple[str, object]] = [("splat", None)]
            for sub in op.children if isinstance(op, Tree) else []:
                if isinstance(sub, Tree):
                    if sub.data == "get_attr":
                        trailing.append(("attr", _get_attr_name(sub)))
                    else:
                        trailing.append(("index", sub))
            steps.extend(reversed(trailing))
        inner = _unwrap(base)
        if isinstance(inner, Tree) and inner.data in _CHAIN:
            node = inner
            continue
        steps.reverse()
        return base, steps


def _get_attr_name(node: Tree[Token] | Token) -> str:
    if isinstance(node, Token):
        return ""
    for child in node.children:
        if isinstance(child, Tree):
            return _name(child)
    return ""


def _walk(
    node: Tree[Token] | Token, scope: frozenset[str], out: list[Reference], offset: int
) -> None:
    if isinstance(node, Token):
        if node.type in ("HEREDOC_TEMPLATE", "HEREDOC_TEMPLATE_TRIM"):
            _walk_template_text(str(node), (node.line or 1) + offset, scope, out)
        return
    data = node.data
    if data == "expr_term":
        inner = _unwrap(node)
        if isinstance(inner, Tree) and inner.data == "identifier":
            name = _name(inner)
            if name not in scope:
                out.append(Reference(name, (), _line(inner, offset)))
            return
        if inner is not node:
            _walk(inner, scope, out, offset)
            return
    if data in _CHAIN:
        base, steps = _flatten(node)
        inner = _unwrap(base)
        if isinstance(inner, Tree) and inner.data == "identifier":
            name = _name(inner)
            if name not in scope:
                ref_steps = tuple(
                    Step(kind, value if isinstance(value, str) else "") for kind, value in steps
                )
                out.append(Reference(name, ref_steps, _line(inner, offset)))
        else:
            _walk(base, scope, out, offset)
        for kind, value in steps:
            if kind == "index" and isinstance(value, Tree):
                _walk(value, scope, out, offset)
        return
    if data == "function_call":
        for child in node.children:
            if isinstance(child, Tree) and child.data == "arguments":
                _walk(child, scope, out, offset)
        return
    if data == "object_elem":
        key, value = _child_trees(node)[0], _child_trees(node)[-1]
        key_inner = _unwrap(_child_trees(key)[0]) if _child_trees(key) else None
        # A bare identifier (or keyword) as an object key is a literal string.
        if not (isinstance(key_inner, Tree) and key_inner.data in ("identifier", "keyword")):
            _walk(key, scope, out, offset)
        _walk(value, scope, out, offset)
        return
    if data in ("for_tuple_expr", "for_object_expr"):
        intro = next(c for c in node.children if isinstance(c, Tree) and c.data == "for_intro")
        names = [_name(c) for c in intro.children if isinstance(c, Tree) and c.data == "identifier"]
        collection = _child_trees(intro)[-1]
        _walk(collection, scope, out, offset)
        inner_scope = scope | frozenset(names)
        for child in node.children:
            if isinstance(child, Tree) and child is not intro:
                _walk(child, inner_scope, out, offset)
        return
    if data == "string":
        # `%{ for x in ... }` directives bind names for the rest of the template.
        names = []
        for part in node.children:
            if isinstance(part, Tree):
                for sub in part.children:
                    if isinstance(sub, Tree) and sub.data == "template_for_start":
                        ids = [c for c in sub.children if isinstance(c, Tree)]
                        names.extend(_name(c) for c in ids if c.data == "identifier")
        inner_scope = scope | frozenset(names)
        for child in node.children:
            _walk(child, inner_scope, out, offset)
        return
    if data == "template_for_start":
        ids = [c for c in node.children if isinstance(c, Tree)]
        _walk(ids[-1], scope, out, offset)
        return
    for child in node.children:
        _walk(child, scope, out, offset)


_TEMPLATE_OPEN = re.compile(r"(?<![$%])([$%])\{")
_FOR_DIRECTIVE = re.compile(r"^~?\s*for\s+(\w+)(?:\s*,\s*(\w+))?\s+in\s+(.*?)\s*~?$", re.S)
_IF_DIRECTIVE = re.compile(r"^~?\s*if\s+(.*?)\s*~?$", re.S)


def _walk_template_text(
    text: str, line_offset: int, scope: frozenset[str], out: list[Reference]
) -> None:
    """References inside a heredoc: `${...}` interpolations and `%{...}` directives."""
    names: set[str] = set()
    pieces: list[tuple[str, int]] = []
    for match in _TEMPLATE_OPEN.finditer(text):
        start = match.end()
        end = _closing_brace(text, start)
        if end < 0:
            continue
        inner = text[start:end]
        line = line_offset + text.count("\n", 0, start)
        if match.group(1) == "$":
            pieces.append((inner, line))
            continue
        directive = _FOR_DIRECTIVE.match(inner.strip())
        if directive:
            names.update(n for n in directive.group(1, 2) if n)
            pieces.append((directive.group(3), line))
            continue
        directive = _IF_DIRECTIVE.match(inner.strip())
        if directive:
            pieces.append((directive.group(1), line))
    inner_scope = scope | frozenset(names)
    for source, line in pieces:
        try:
            tree = hcl2.parses_to_tree(f"x = {source.strip()}\n")
        except LarkError:
            continue  # Terraform would report the template; fmt -check catches most
        attr = _child_trees(_child_trees(tree)[0])[0]
        _walk(_child_trees(attr)[-1], inner_scope, out, line - 1)


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    quoted = False
    i = start
    while i < len(text):
        char = text[i]
        if quoted:
            if char == "\\":
                i += 2
                continue
            if char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


def tf_files(directory: Path) -> list[Path]:
    """The .tf files of one module directory (not its subdirectories), sorted."""
    return sorted(p for p in directory.glob("*.tf") if p.is_file())


def module_dirs(root: Path) -> Iterator[Path]:
    """Every directory under `root` (itself included) that holds .tf files."""
    candidates = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
    for directory in candidates:
        rel = directory.relative_to(root).parts
        if any(part.startswith(".") for part in rel):
            continue  # .terraform and other hidden folders
        if tf_files(directory):
            yield directory
