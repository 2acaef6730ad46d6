"""The decision IAM makes for one request, given the caller's policies.

Interface shared by the rehearsal's request gate (tools/rehearse) and the
tests. AWS's logic for a request, from its "Policy evaluation logic" pages:

- an explicit Deny in any policy wins, then an Allow, else the request is
  implicitly denied;
- within one account an Allow in the identity policies or in the resource's
  policy suffices, except where the resource policy must itself allow
  (KMS keys, a role's trust policy for sts:AssumeRole*): there the key policy
  must name the caller, or name the account (`arn:aws:iam::ACCOUNT:root`,
  which delegates to IAM) while an identity policy allows;
- a resource policy that names only the account grants nothing by itself;
- across accounts both sides must allow.

Not modelled: SCPs, RCPs, permission boundaries, session policies, grants
(docs/iam-evaluation.md says why).
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iamsim import conditions
from iamsim.patterns import ContextValue, Pieces, UnresolvedVariableError, expand, matches

Policy = Mapping[str, Any]  # a policy document, as json.loads gives it

RESOURCE_POLICY = "resource policy"  # Result.policy when the resource's policy decided
VARIABLES_VERSION = "2012-10-17"  # the policy language version that has policy variables

# Resources whose own policy must allow (alone or by delegating to the
# account): (pattern of the resource ARN, action prefix, what the policy is).
RESOURCE_POLICY_REQUIRED = (
    (re.compile(r"arn:[^:]+:kms:[^:]*:[^:]*:key/.+"), "kms:", "key policy"),
    (re.compile(r"arn:[^:]+:iam::[^:]*:role/.+"), "sts:assumerole", "trust policy"),
)
_CALLER = re.compile(
    r"arn:(?P<partition>[^:]+):(?:iam::(?P<account>\d{12}):(?P<kind>role|user|root)(?P<rest>/.*)?"
    r"|sts::(?P<sts_account>\d{12}):assumed-role/(?P<role>[^/]+)/.+)"
)
_ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes for a call (a call may need several)."""

    principal: str  # ARN of the caller: an IAM role or user
    action: str  # "service:Action", e.g. "kms:PutKeyPolicy"
    resource: str  # the resource's ARN, or "*" where the action has no resource type
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)  # condition keys


class Decision(enum.Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitly denied"
    IMPLICIT_DENY = "implicitly denied"


@dataclass(frozen=True)
class Result:
    decision: Decision
    policy: str | None = None  # the policy whose statement decided, if any
    statement: str | None = None  # that statement's Sid, or its index as "#3" (from #0)
    reason: str = field(default="", compare=False)  # one line: why, for messages


class EvaluationError(ValueError):
    """Input AWS would refuse; its message is one line naming the policy or request."""


class PolicyError(EvaluationError):
    """A policy document that is not valid IAM policy grammar."""


class RequestError(EvaluationError):
    """A request that names no IAM caller or action, or has unreadable context."""


class _Principal(enum.Enum):
    """How a resource policy statement's principal covers the caller."""

    NONE = 0
    ACCOUNT = 1  # only through the caller's account: delegates to IAM
    DIRECT = 2  # the caller itself, or everyone


@dataclass(frozen=True)
class _Caller:
    arn: str
    account: str
    role_arn_prefix: str | None  # "arn:aws:iam::ACCOUNT:role/" for sessions and roles
    role_name: str | None


@dataclass(frozen=True)
class _Statement:
    label: str  # Sid, or "#index"
    allow: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None  # None: the element is absent (trust policies)
    not_resource: bool
    principals: tuple[tuple[str, str], ...] | None  # (type, value); None in identity policies
    not_principal: bool
    conditions: tuple[tuple[conditions.Operator, str, tuple[str, ...]], ...]
    variables: bool


@dataclass(frozen=True)
class _Match:
    policy: str
    statement: _Statement
    principal: _Principal = _Principal.DIRECT


def evaluate(
    request: Request,
    identity_policies: Mapping[str, Policy],
    resource_policy: Policy | None = None,
) -> Result:
    """AWS's decision for `request`, made by a caller with `identity_policies` (name -> document).

    `resource_policy` is the resource's own policy (a KMS key policy, a
    bucket policy, a role's trust policy), if it has one. Raises PolicyError
    or RequestError on input AWS would refuse.
    """
    caller = _caller(request.principal)
    if ":" not in request.action:
        raise RequestError(f"action {request.action!r} is not service:Action")
    context = _context(request, caller)
    identity = [
        (name, _compile(name, _text(name, policy), resource=False))
        for name, policy in identity_policies.items()
    ]
    resource = (
        _compile(RESOURCE_POLICY, _text(RESOURCE_POLICY, resource_policy), resource=True)
        if resource_policy is not None
        else ()
    )
    matched = list(_matching(request, caller, context, identity, resource))
    deny = next((m for m in matched if not m.statement.allow), None)
    if deny:
        return _result(Decision.EXPLICIT_DENY, deny, "an explicit Deny matches")
    return _allow_or_implicit_deny(request, caller, resource_policy is not None, matched)


def default_key_policy(account_id: str, partition: str = "aws") -> dict[str, Any]:
    """The key policy AWS gives a KMS key created without one: the account delegates to IAM."""
    if not _ACCOUNT_ID.fullmatch(account_id):
        raise RequestError(f"account id {account_id!r} is not 12 digits")
    return {
        "Version": VARIABLES_VERSION,
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def describe(request: Request, result: Result) -> str:
    """One line for a log or an error: who, what, on what, the decision and why."""
    decided = f" ({result.policy} {result.statement})" if result.policy else ""
    why = f": {result.reason}" if result.reason else ""
    return (
        f"{request.action} on {request.resource} by {request.principal}: "
        f"{result.decision.value}{decided}{why}"
    )


def _allow_or_implicit_deny(
    request: Request, caller: _Caller, has_resource_policy: bool, matched: list[_Match]
) -> Result:
    identity_allow = next((m for m in matched if m.policy != RESOURCE_POLICY), None)
    direct = next(
        (m for m in matched if m.policy == RESOURCE_POLICY and m.principal is _Principal.DIRECT),
        None,
    )
    delegated = next((m for m in matched if m.policy == RESOURCE_POLICY), None)
    required = _required_resource_policy(request)
    resource_account = _resource_account(request.resource)
    cross_account = resource_account is not None and resource_account != caller.account
    if required or cross_account:
        what = required or "resource policy"
        if not has_resource_policy:
            return Result(Decision.IMPLICIT_DENY, reason=f"no {what} was given")
        if direct and not cross_account:
            return _result(Decision.ALLOWED, direct, f"the {what} allows the caller")
        if identity_allow and delegated:
            reason = f"an identity policy allows it and the {what} lets IAM decide"
            return _result(Decision.ALLOWED, identity_allow, reason)
        if delegated:
            reason = f"the {what} lets IAM decide, and no identity policy allows it"
        elif identity_allow:
            reason = f"an identity policy allows it, but the {what} does not"
        else:
            reason = "no statement allows it"
        return Result(Decision.IMPLICIT_DENY, reason=reason)
    if identity_allow:
        return _result(Decision.ALLOWED, identity_allow, "an identity policy allows it")
    if direct:
        return _result(Decision.ALLOWED, direct, "the resource policy allows the caller")
    return Result(Decision.IMPLICIT_DENY, reason="no statement allows it")


def _result(decision: Decision, match: _Match, reason: str) -> Result:
    return Result(decision, match.policy, match.statement.label, reason)


def _required_resource_policy(request: Request) -> str | None:
    for pattern, action_prefix, what in RESOURCE_POLICY_REQUIRED:
        if request.action.lower().startswith(action_prefix) and pattern.fullmatch(request.resource):
            return what
    return None


def _resource_account(resource: str) -> str | None:
    parts = resource.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" and parts[4] else None


def _matching(
    request: Request,
    caller: _Caller,
    context: Mapping[str, ContextValue],
    identity: list[tuple[str, tuple[_Statement, ...]]],
    resource: tuple[_Statement, ...],
) -> Iterator[_Match]:
    """Every statement that applies to the request: identity policies first, in order."""
    for name, statements in identity:
        for statement in statements:
            if _applies(statement, request, context):
                yield _Match(name, statement)
    for statement in resource:
        covered = _principal(statement, caller)
        if covered is not _Principal.NONE and _applies(statement, request, context):
            yield _Match(RESOURCE_POLICY, statement, covered)


def _applies(statement: _Statement, request: Request, context: Mapping[str, ContextValue]) -> bool:
    action_hit = any(_action_matches(p, request.action) for p in statement.actions)
    if action_hit == statement.not_action:
        return False
    try:
        if statement.resources is not None:
            resource_hit = any(
                matches(_expand(p, context, statement), request.resource, mode="resource")
                for p in statement.resources
            )
            if resource_hit == statement.not_resource:
                return False
        return all(
            conditions.holds(operator, key, values, context, variables=statement.variables)
            for operator, key, values in statement.conditions
        )
    except UnresolvedVariableError:
        return False


def _expand(pattern: str, context: Mapping[str, ContextValue], statement: _Statement) -> Pieces:
    return expand(pattern, context, variables=statement.variables)


@functools.lru_cache(maxsize=4096)
def _action_matches(pattern: str, action: str) -> bool:
    return matches(((pattern, True),), action, mode="text", ignore_case=True)


def _principal(statement: _Statement, caller: _Caller) -> _Principal:
    covered = _Principal.NONE
    for kind, value in statement.principals or ():
        covered = max(covered, _covers(kind, value, caller), key=lambda p: p.value)
    if statement.not_principal:
        return _Principal.DIRECT if covered is _Principal.NONE else _Principal.NONE
    return covered


def _covers(kind: str, value: str, caller: _Caller) -> _Principal:
    if value == "*":
        return _Principal.DIRECT
    if kind != "AWS":
        return _Principal.NONE  # service, federated and canonical principals are not IAM callers
    if value == caller.account or value.endswith(f":iam::{caller.account}:root"):
        return _Principal.ACCOUNT
    if value == caller.arn:
        return _Principal.DIRECT
    role_prefix = caller.role_arn_prefix
    if (
        role_prefix
        and value.startswith(role_prefix)
        and value.rsplit("/", 1)[-1] == caller.role_name
    ):
        return _Principal.DIRECT  # a role ARN covers its sessions
    return _Principal.NONE


def _caller(principal: str) -> _Caller:
    match = _CALLER.fullmatch(principal)
    if not match:
        raise RequestError(
            f"principal {principal!r} is not an IAM role, user, root or assumed-role ARN"
        )
    partition = match["partition"]
    if match["sts_account"]:
        account = match["sts_account"]
        return _Caller(principal, account, f"arn:{partition}:iam::{account}:role/", match["role"])
    account, kind = match["account"], match["kind"]
    if kind == "role":
        name = principal.rsplit("/", 1)[-1]
        return _Caller(principal, account, f"arn:{partition}:iam::{account}:role/", name)
    return _Caller(principal, account, None, None)


def _context(request: Request, caller: _Caller) -> dict[str, ContextValue]:
    """The request's condition keys, lower-cased, plus the ones AWS always sets for an IAM caller.

    aws:PrincipalArn of an assumed-role session is its role's ARN, without the
    role's path (the session ARN does not carry it).
    """
    derived: dict[str, ContextValue] = {
        "aws:principalarn": caller.arn,
        "aws:principalaccount": caller.account,
        "aws:principaltype": "User" if ":user/" in caller.arn else "AssumedRole",
    }
    if caller.role_name and ":sts::" in caller.arn:
        derived["aws:principalarn"] = f"{caller.role_arn_prefix}{caller.role_name}"
    if ":user/" in caller.arn:
        derived["aws:username"] = caller.arn.rsplit("/", 1)[-1]
    if caller.arn.endswith(":root"):
        derived["aws:principaltype"] = "Account"
    given: dict[str, ContextValue] = {}
    for key, value in request.context.items():
        if not isinstance(value, str) and not (
            isinstance(value, Sequence) and all(isinstance(item, str) for item in value)
        ):
            raise RequestError(f"context key {key!r}: {value!r} is not a string or list of strings")
        given[key.lower()] = value if isinstance(value, str) else tuple(value)
    return derived | given


def _text(name: str, policy: object) -> str:
    try:
        return json.dumps(policy, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise PolicyError(f"{name}: not a JSON document ({error})") from None


@functools.lru_cache(maxsize=512)
def _compile(name: str, document: str, *, resource: bool) -> tuple[_Statement, ...]:
    """The statements of one policy (its JSON text, so that it can be cached), checked."""
    policy = json.loads(document)
    if not isinstance(policy, dict):
        raise PolicyError(f"{name}: a policy is a JSON object")
    raw = policy.get("Statement")
    if raw is None:
        raise PolicyError(f"{name}: no Statement")
    statements = raw if isinstance(raw, list) else [raw]
    variables = policy.get("Version") == VARIABLES_VERSION
    compiled = []
    for index, statement in enumerate(statements):
        label = statement.get("Sid") if isinstance(statement, dict) else None
        label = label if isinstance(label, str) and label else f"#{index}"
        try:
            compiled.append(_statement(statement, label, variables, resource=resource))
        except (PolicyError, conditions.ConditionError) as error:
            raise PolicyError(f"{name}, statement {label}: {error}") from None
    return tuple(compiled)


def _statement(raw: object, label: str, variables: bool, *, resource: bool) -> _Statement:
    if not isinstance(raw, dict):
        raise PolicyError("a statement is a JSON object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"Effect is {effect!r}, not Allow or Deny")
    actions, not_action = _pair(raw, "Action", required=True)
    resources, not_resource = _pair(raw, "Resource", required=not resource)
    principals, not_principal = _principals(raw, resource=resource)
    return _Statement(
        label=label,
        allow=effect == "Allow",
        actions=actions or (),
        not_action=not_action,
        resources=resources,
        not_resource=not_resource,
        principals=principals,
        not_principal=not_principal,
        conditions=_conditions(raw.get("Condition", {})),
        variables=variables,
    )


def _pair(
    raw: dict[str, Any], element: str, *, required: bool
) -> tuple[tuple[str, ...] | None, bool]:
    """`element` or `Not<element>` (exactly one), as a tuple of strings."""
    plain, negated = raw.get(element), raw.get(f"Not{element}")
    if plain is not None and negated is not None:
        raise PolicyError(f"both {element} and Not{element}")
    if plain is None and negated is None:
        if required:
            raise PolicyError(f"no {element} or Not{element}")
        return None, False
    value = plain if plain is not None else negated
    return _strings(value, element), negated is not None


def _strings(value: object, element: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) for item in items):
        raise PolicyError(f"{element} must be a string or a list of strings")
    return tuple(items)


def _principals(
    raw: dict[str, Any], *, resource: bool
) -> tuple[tuple[tuple[str, str], ...] | None, bool]:
    plain, negated = raw.get("Principal"), raw.get("NotPrincipal")
    if not resource:
        if plain is not None or negated is not None:
            raise PolicyError("an identity policy names no Principal")
        return None, False
    if (plain is None) == (negated is None):
        raise PolicyError("a resource policy statement needs Principal or NotPrincipal")
    value = plain if plain is not None else negated
    if value == "*":
        return (("AWS", "*"),), negated is not None
    if not isinstance(value, dict):
        raise PolicyError('Principal is "*" or an object such as {"AWS": [...]}')
    pairs = tuple(
        (kind, item)
        for kind, items in value.items()
        for item in _strings(items, f"Principal {kind}")
    )
    return pairs, negated is not None


def _conditions(raw: object) -> tuple[tuple[conditions.Operator, str, tuple[str, ...]], ...]:
    if not isinstance(raw, dict):
        raise PolicyError("Condition is an object of operators")
    tests = []
    for name, keys in raw.items():
        operator = conditions.parse_operator(name)
        if not isinstance(keys, dict) or not keys:
            raise PolicyError(f"{name} must map condition keys to values")
        for key, values in keys.items():
            tests.append((operator, key, conditions.policy_values(operator, key, values)))
    return tuple(tests)
