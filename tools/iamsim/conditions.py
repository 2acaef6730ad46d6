"""IAM's condition operators, one table row each, and how a Condition block is decided.

The rules, from AWS's "Condition operators" and "multivalued context keys" pages:
- a key missing from the request makes its condition false, except with
  ...IfExists (true), Null (tests exactly that), and the negated operators
  (StringNotEquals, StringNotLike, ArnNotLike, NotIpAddress, ...: true);
- several values for one key are OR'ed; a negated operator NORs them;
- ForAllValues: every value of the request matches; true on an empty or
  absent set. ForAnyValue: some value of the request matches; false on an
  empty or absent set;
- a single-valued operator given a list (no set qualifier): our choice, the
  usual simulator reading: a positive operator holds if any request value
  matches, a negated one if none does. An empty list counts as absent.
- a request value that cannot be read as the operator's type (a number, a
  date, an address) matches no policy value.
Keys are case-insensitive: the caller looks them up lower-cased.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from iamsim.patterns import ContextValue, Pieces, expand, matches, text

# (request value, expanded policy value) -> whether they match
Matcher = Callable[[str, Pieces], bool]
ParseCheck = Callable[[str], object]
Ordered = TypeVar("Ordered", Decimal, dt.datetime)


class ConditionError(ValueError):
    """A Condition block AWS would refuse: unknown operator, unreadable value."""


@dataclass(frozen=True)
class Family:
    matcher: Matcher
    variables: bool  # whether AWS replaces policy variables in its values
    check: ParseCheck | None = None  # raises ValueError on a policy value AWS refuses


@dataclass(frozen=True)
class Operator:
    """One parsed operator name, e.g. ForAllValues:StringNotLikeIfExists."""

    name: str
    base: str
    family: Family | None  # None for Null
    negated: bool
    if_exists: bool
    qualifier: str | None  # "ForAllValues", "ForAnyValue" or None


def _string_equals(value: str, pieces: Pieces) -> bool:
    return value == text(pieces)


def _string_equals_ignore_case(value: str, pieces: Pieces) -> bool:
    return value.casefold() == text(pieces).casefold()


def _string_like(value: str, pieces: Pieces) -> bool:
    return matches(pieces, value, mode="text")


def _arn_like(value: str, pieces: Pieces) -> bool:
    return value.startswith("arn:") and matches(pieces, value, mode="arn")


def _bool(value: str, pieces: Pieces) -> bool:
    return value.casefold() == text(pieces).casefold()


def _binary(value: str, pieces: Pieces) -> bool:
    try:
        return _policy_binary(value) == _policy_binary(text(pieces))
    except ValueError:
        return False


@functools.lru_cache(maxsize=1024)
def _policy_binary(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError(f"{value!r} is not base64") from None


@functools.lru_cache(maxsize=4096)
def _number(value: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return number


@functools.lru_cache(maxsize=4096)
def _date(value: str) -> dt.datetime:
    """ISO 8601 (a date, or a date and time) or seconds since the epoch, as AWS accepts."""
    raw = value.strip()
    try:
        if raw.lstrip("-").isdigit():
            return dt.datetime.fromtimestamp(int(raw), tz=dt.UTC)
        parsed = dt.datetime.fromisoformat(raw)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"{value!r} is not an ISO 8601 date or epoch seconds") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@functools.lru_cache(maxsize=1024)
def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or CIDR range") from None


def _compare(parse: Callable[[str], Ordered], relation: str) -> Matcher:
    def matcher(value: str, pieces: Pieces) -> bool:
        try:
            left = parse(value)
        except ValueError:
            return False
        right = parse(text(pieces))
        return _RELATIONS[relation](int(left > right) - int(left < right))

    return matcher


_RELATIONS: dict[str, Callable[[int], bool]] = {
    "Equals": lambda order: order == 0,
    "LessThan": lambda order: order == -1,
    "LessThanEquals": lambda order: order in (-1, 0),
    "GreaterThan": lambda order: order == 1,
    "GreaterThanEquals": lambda order: order in (0, 1),
}


def _ip_address(value: str, pieces: Pieces) -> bool:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return address in _network(text(pieces))


def _check_bool(value: str) -> object:
    if value.casefold() not in ("true", "false"):
        raise ValueError(f"{value!r} is not true or false")
    return value


_STRING = Family(_string_equals, variables=True)
_STRING_IGNORE_CASE = Family(_string_equals_ignore_case, variables=True)
_STRING_LIKE = Family(_string_like, variables=True)
_ARN = Family(_arn_like, variables=True)
_BOOL = Family(_bool, variables=True, check=_check_bool)
_BINARY = Family(_binary, variables=False, check=_policy_binary)
_IP = Family(_ip_address, variables=False, check=_network)


def _numeric(relation: str) -> Family:
    return Family(_compare(_number, relation), variables=False, check=_number)


def _dates(relation: str) -> Family:
    return Family(_compare(_date, relation), variables=False, check=_date)


# base operator -> (family, negated); "Null" is decided on its own
BASE_OPERATORS: dict[str, tuple[Family, bool]] = {
    "StringEquals": (_STRING, False),
    "StringNotEquals": (_STRING, True),
    "StringEqualsIgnoreCase": (_STRING_IGNORE_CASE, False),
    "StringNotEqualsIgnoreCase": (_STRING_IGNORE_CASE, True),
    "StringLike": (_STRING_LIKE, False),
    "StringNotLike": (_STRING_LIKE, True),
    "NumericNotEquals": (_numeric("Equals"), True),
    "DateNotEquals": (_dates("Equals"), True),
    "Bool": (_BOOL, False),
    "BinaryEquals": (_BINARY, False),
    "IpAddress": (_IP, False),
    "NotIpAddress": (_IP, True),
    "ArnEquals": (_ARN, False),
    "ArnLike": (_ARN, False),
    "ArnNotEquals": (_ARN, True),
    "ArnNotLike": (_ARN, True),
} | {
    f"{kind}{relation}": (make(relation), False)
    for kind, make in (("Numeric", _numeric), ("Date", _dates))
    for relation in _RELATIONS
}
QUALIFIERS = ("ForAllValues", "ForAnyValue")


@functools.lru_cache(maxsize=512)
def parse_operator(name: str) -> Operator:
    """The operator named `name` (case-sensitive, as in AWS's grammar)."""
    qualifier, _, base = name.rpartition(":")
    if qualifier and qualifier not in QUALIFIERS:
        raise ConditionError(f"unknown condition operator {name!r}")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    base = base.removesuffix("IfExists") if if_exists else base
    if base == "Null" and not if_exists:
        return Operator(name, base, None, False, False, qualifier or None)
    if base not in BASE_OPERATORS:
        raise ConditionError(f"unknown condition operator {name!r}")
    family, negated = BASE_OPERATORS[base]
    return Operator(name, base, family, negated, if_exists, qualifier or None)


def policy_values(operator: Operator, key: str, raw: object) -> tuple[str, ...]:
    """The values a condition lists for `key`, as strings, checked for their type.

    JSON true/false and numbers are accepted as AWS accepts them.
    """
    items = raw if isinstance(raw, list) else [raw]
    values: list[str] = []
    for item in items:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, int | float | str):
            values.append(str(item))
        else:
            raise ConditionError(f"{operator.name} {key}: value {item!r} is not a string")
    if not values:
        raise ConditionError(f"{operator.name} {key}: no value")
    check = _check_bool if operator.family is None else operator.family.check
    for value in values:
        if check is not None and "${" not in value:
            try:
                check(value)
            except ValueError as error:
                raise ConditionError(f"{operator.name} {key}: {error}") from None
    return tuple(values)


def holds(
    operator: Operator,
    key: str,
    values: tuple[str, ...],
    context: Mapping[str, ContextValue],
    *,
    variables: bool,
) -> bool:
    """Whether one operator's test of one key holds for the request.

    `context` has lower-cased keys. Raises UnresolvedVariableError when a value
    needs a variable the request does not have.
    """
    request = context.get(key.lower())
    request_values = (
        [] if request is None else [request] if isinstance(request, str) else list(request)
    )
    if operator.family is None:  # Null: "true" means absent, "false" present
        return any((value.casefold() == "true") != bool(request_values) for value in values)
    if not request_values:
        if operator.if_exists or operator.qualifier == "ForAllValues":
            return True
        return operator.negated and operator.qualifier is None
    family = operator.family
    expanded = [
        expand(value, context, variables=variables and family.variables) for value in values
    ]

    def hit(value: str) -> bool:
        return any(family.matcher(value, pieces) for pieces in expanded)

    if operator.qualifier == "ForAllValues":
        return all(hit(value) != operator.negated for value in request_values)
    if operator.qualifier == "ForAnyValue":
        return any(hit(value) != operator.negated for value in request_values)
    return any(hit(value) for value in request_values) != operator.negated
