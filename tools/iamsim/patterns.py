"""How IAM reads a policy's strings: policy variables and the `*`/`?` wildcards.

A policy string becomes a tuple of pieces once its variables are replaced:
the policy's own text, whose `*` and `?` are wildcards, and the values put in
for variables (and `${*}`, `${?}`, `${$}`), whose characters only ever match
themselves. The regular expressions built from them are cached, so a policy
seen again costs a dictionary lookup.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Literal

ContextValue = str | Sequence[str]
Piece = tuple[str, bool]  # text, and whether its `*` and `?` are wildcards
Pieces = tuple[Piece, ...]
Mode = Literal["text", "resource", "arn"]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# ${aws:PrincipalTag/team, 'fallback'}: a quote inside the default is written ''
_WITH_DEFAULT = re.compile(r"^\s*([^\s,']+)\s*,\s*'((?:[^']|'')*)'\s*$")
_ESCAPES = frozenset("*?$")


class UnresolvedVariableError(Exception):
    """A policy variable has no value in the request: its statement does not apply.

    AWS: "If AWS cannot resolve a variable this might cause the entire
    statement to be invalid." A multivalued key has no value as a variable.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"${{{name}}} has no value in the request")
        self.name = name


def expand(template: str, context: Mapping[str, ContextValue], *, variables: bool) -> Pieces:
    """`template` with its policy variables replaced from `context` (keys lower-cased).

    With `variables` false (a policy without Version 2012-10-17, or an
    operator that takes none) `${...}` is plain text, as AWS treats it.
    """
    if not variables or "${" not in template:
        return ((template, True),)
    pieces: list[Piece] = []
    end = 0
    for match in _VARIABLE.finditer(template):
        if match.start() > end:
            pieces.append((template[end : match.start()], True))
        pieces.append((_variable_value(match.group(1), context), False))
        end = match.end()
    if end < len(template):
        pieces.append((template[end:], True))
    return tuple(pieces)


def text(pieces: Pieces) -> str:
    """The expanded string, for the operators that compare exactly."""
    return "".join(part for part, _ in pieces)


def _variable_value(body: str, context: Mapping[str, ContextValue]) -> str:
    name = body.strip()
    if name in _ESCAPES:
        return name
    default: str | None = None
    with_default = _WITH_DEFAULT.match(body)
    if with_default:
        name, default = with_default.group(1), with_default.group(2).replace("''", "'")
    value = context.get(name.lower())
    if isinstance(value, str):
        return value
    if default is not None:
        return default
    raise UnresolvedVariableError(name)


def matches(pieces: Pieces, value: str, *, mode: Mode, ignore_case: bool = False) -> bool:
    """Whether `value` matches the wildcard pattern `pieces`.

    mode "text": `*` any run of characters, `?` any one (StringLike, actions).
    mode "resource": the Resource element: a `*` or `?` stays inside one
      colon-separated segment, except a `*` that ends a segment, which "can
      expand to match beyond the colon boundaries" (AWS's Resource page).
    mode "arn": the Arn operators: each of the six colon-separated parts is
      matched on its own; only the last (the resource part) may hold colons.
    """
    return _compile(pieces, mode, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=8192)
def _compile(pieces: Pieces, mode: Mode, ignore_case: bool) -> re.Pattern[str]:
    chars = [(char, wild) for part, wild in pieces for char in part]
    out: list[str] = []
    colons = 0
    for index, (char, wild) in enumerate(chars):
        if char == ":":
            colons += 1
        if not wild or char not in "*?":
            out.append(re.escape(char))
            continue
        inside_segment = mode == "arn" and colons < 5
        if mode == "resource":
            following = chars[index + 1][0] if index + 1 < len(chars) else ":"
            inside_segment = char == "?" or following != ":"
        if char == "*":
            out.append("[^:]*" if inside_segment else ".*")
        else:
            out.append("[^:]" if inside_segment else ".")
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(out), flags)
