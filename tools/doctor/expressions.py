"""The part of GitHub's expression language an `environment:` uses: literals, vars.X,
==, !=, !, && and ||, so the doctor can tell which environment a job will run in."""

from __future__ import annotations

import re
from collections.abc import Mapping

TOKEN = re.compile(
    r"\s*(?:(?P<text>'(?:[^']|'')*')|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||!|\(|\))|(?P<word>[A-Za-z_][A-Za-z0-9_.-]*))"
)
Value = str | float | bool | None


def evaluate(expression: str, variables: Mapping[str, str]) -> Value:
    """A GitHub expression of literals, vars.X, ==, !=, !, && and || (GitHub's meaning:
    `a && b` is b when a is truthy, else a; strings compare ignoring case; an unset
    variable is ''). ValueError for anything else (another context, a function)."""
    tokens: list[tuple[str, str]] = []
    position, expression = 0, expression.strip()
    while position < len(expression):
        match = TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read {expression[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    value, rest = _either(tokens, variables)
    if rest:
        raise ValueError(f"unexpected {rest[0][1]!r}")
    return value


Tokens = list[tuple[str, str]]


def conjuncts(expression: str) -> list[str]:
    """The parts of `a && b && c` at the top level (outside parentheses and strings);
    the whole expression when a top-level `||` makes them no conjunction of it."""
    parts: list[str] = []
    depth, current = 0, None  # current: where the part being read starts
    position, expression = 0, expression.strip()
    while position < len(expression):
        match = TOKEN.match(expression, position)
        if match is None or match.end() == position:
            return [expression]
        text = match.group(match.lastgroup or "")
        depth += {"(": 1, ")": -1}.get(text if match.lastgroup == "op" else "", 0)
        if depth == 0 and match.lastgroup == "op" and text == "||":
            return [expression]
        if depth == 0 and match.lastgroup == "op" and text == "&&":
            parts.append(expression[current : match.start()] if current is not None else "")
            current = None
        elif current is None:
            current = match.start()
        position = match.end()
    parts.append(expression[current:] if current is not None else "")
    return [part.strip() for part in parts]


def _either(tokens: Tokens, variables: Mapping[str, str]) -> tuple[Value, Tokens]:
    value, tokens = _both(tokens, variables)
    while tokens[:1] == [("op", "||")]:
        other, tokens = _both(tokens[1:], variables)
        value = value if _truthy(value) else other
    return value, tokens


def _both(tokens: Tokens, variables: Mapping[str, str]) -> tuple[Value, Tokens]:
    value, tokens = _compared(tokens, variables)
    while tokens[:1] == [("op", "&&")]:
        other, tokens = _compared(tokens[1:], variables)
        value = other if _truthy(value) else value
    return value, tokens


def _compared(tokens: Tokens, variables: Mapping[str, str]) -> tuple[Value, Tokens]:
    value, tokens = _single(tokens, variables)
    if tokens[:1] in ([("op", "==")], [("op", "!=")]):
        operator = tokens[0][1]
        other, tokens = _single(tokens[1:], variables)
        same = _folded(value) == _folded(other)
        value = same if operator == "==" else not same
    return value, tokens


def _single(tokens: Tokens, variables: Mapping[str, str]) -> tuple[Value, Tokens]:
    if not tokens:
        raise ValueError("the expression ends early")
    (kind, text), rest = tokens[0], tokens[1:]
    if (kind, text) == ("op", "!"):
        value, rest = _single(rest, variables)
        return not _truthy(value), rest
    if (kind, text) == ("op", "("):
        value, rest = _either(rest, variables)
        if rest[:1] != [("op", ")")]:
            raise ValueError("no closing parenthesis")
        return value, rest[1:]
    if kind == "text":
        return text[1:-1].replace("''", "'"), rest
    if kind == "number":
        return float(text), rest
    words: dict[str, Value] = {"true": True, "false": False, "null": None}
    if kind == "word" and text in words:
        return words[text], rest
    if kind == "word" and text.startswith("vars.") and text.count(".") == 1:
        return variables.get(text[5:].upper(), ""), rest
    raise ValueError(f"cannot evaluate {text!r} here")


def _truthy(value: Value) -> bool:
    return value not in (None, False, 0, "")


def _folded(value: Value) -> Value:
    return value.casefold() if isinstance(value, str) else value
