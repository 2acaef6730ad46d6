"""iamsim.evaluate against AWS's documented policy evaluation logic.

Each expectation comes from AWS's IAM pages ("Policy evaluation logic",
"Condition operators", "Conditions with multiple context keys or values",
"Resource", "Variables and tags", the KMS key policy pages), not from the
evaluator's output. The first test holds the sixteen checks of the "IAM
evaluation offline" section of ../shared/notes/offline-toolbox.md: eight
cases, each asked twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from iamsim.evaluate import (
    RESOURCE_POLICY,
    Decision,
    PolicyError,
    Request,
    RequestError,
    Result,
    default_key_policy,
    describe,
    evaluate,
)

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "eu-west-1"
APPLY = f"arn:aws:iam::{ACCOUNT}:role/finlex-github-terraform-apply"
APPLY_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/finlex-github-terraform-apply/GitHubActions"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEYS = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"
ZONE = "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/finlex-task"
STATE = "arn:aws:s3:::finlex-tfstate"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/finlex"

ALLOWED, EXPLICIT, IMPLICIT = Decision.ALLOWED, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY


def policy(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version:
        document["Version"] = version
    return document


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def decide(
    action: str,
    resource: str,
    *statements: dict[str, Any],
    context: Mapping[str, str | Sequence[str]] | None = None,
    resource_policy: dict[str, Any] | None = None,
    principal: str = APPLY,
) -> Decision:
    request = Request(principal, action, resource, context or {})
    return evaluate(request, {"apply": policy(*statements)}, resource_policy).decision


def when(operator: str, key: str, value: Any) -> dict[str, Any]:
    """An Allow of s3:GetObject on anything, under one condition."""
    return allow("s3:GetObject", Condition={operator: {key: value}})


def holds(operator: str, key: str, value: Any, context: dict[str, Any] | None = None) -> bool:
    """Whether one condition holds, seen as: does its Allow allow?"""
    decision = decide("s3:GetObject", f"{STATE}/k", when(operator, key, value), context=context)
    return decision is ALLOWED


# --- the note's sixteen checks ---------------------------------------------

KMS_MANAGE = allow(["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"], KEYS)
KMS_TAGGED = allow(
    ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"],
    KEYS,
    Condition={"StringEquals": {"aws:ResourceTag/Project": "finlex"}},
)
ROUTE53 = allow(
    "route53:ChangeResourceRecordSets",
    ZONE,
    Condition={
        "ForAllValues:StringLike": {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [
                "app.finlex.example",
                "_*.app.finlex.example",
            ]
        }
    },
)
PASS_ROLE = allow(
    "iam:PassRole",
    f"arn:aws:iam::{ACCOUNT}:role/finlex-*",
    Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
)
STATE_ONLY = [
    allow("s3:*"),
    {
        "Sid": "OnlyOwnState",
        "Effect": "Deny",
        "Action": "s3:*",
        "NotResource": [STATE, f"{STATE}/*"],
    },
]
ECS_READS = allow(["ecs:Describe*", "ecs:List*"])
OWN_LOGS = allow(
    "logs:CreateLogStream",
    f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/${{aws:PrincipalTag/Project}}:*",
)
TAGGED = {"aws:ResourceTag/Project": "finlex"}
DEFAULT_KEY_POLICY = default_key_policy(ACCOUNT)
NAMES = "route53:ChangeResourceRecordSetsNormalizedRecordNames"

NOTE_CHECKS = [
    # KMS key/* without a condition: the key policy delegates to IAM, else nothing allows
    ("kms-key/*-with-key-policy", "kms:ScheduleKeyDeletion", KEY, [KMS_MANAGE], {}, True, ALLOWED),
    ("kms-key/*-no-key-policy", "kms:ScheduleKeyDeletion", KEY, [KMS_MANAGE], {}, False, IMPLICIT),
    # KMS key/* with aws:ResourceTag: the tagged key
    ("kms-tag-match", "kms:PutKeyPolicy", KEY, [KMS_TAGGED], TAGGED, True, ALLOWED),
    ("kms-tag-match-no-key-policy", "kms:PutKeyPolicy", KEY, [KMS_TAGGED], TAGGED, False, IMPLICIT),
    # ... and a key that lacks the tag: a missing key makes StringEquals false
    ("kms-tag-missing", "kms:ScheduleKeyDeletion", KEY, [KMS_TAGGED], {}, True, IMPLICIT),
    (
        "kms-tag-other-value",
        "kms:ScheduleKeyDeletion",
        KEY,
        [KMS_TAGGED],
        {"aws:ResourceTag/Project": "billing"},
        True,
        IMPLICIT,
    ),
    # Route53: every record name of the change must be one of the service's
    (
        "route53-own-names",
        "route53:ChangeResourceRecordSets",
        ZONE,
        [ROUTE53],
        {NAMES: ["app.finlex.example", "_acme.app.finlex.example"]},
        False,
        ALLOWED,
    ),
    (
        "route53-foreign-name",
        "route53:ChangeResourceRecordSets",
        ZONE,
        [ROUTE53],
        {NAMES: ["app.finlex.example", "www.other.example"]},
        False,
        IMPLICIT,
    ),
    # PassRole: only to the service named in iam:PassedToService
    (
        "passrole-right-service",
        "iam:PassRole",
        TASK_ROLE,
        [PASS_ROLE],
        {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
        False,
        ALLOWED,
    ),
    (
        "passrole-wrong-service",
        "iam:PassRole",
        TASK_ROLE,
        [PASS_ROLE],
        {"iam:PassedToService": "lambda.amazonaws.com"},
        False,
        IMPLICIT,
    ),
    # Deny with NotResource: everything but the named state is denied
    (
        "notresource-inside",
        "s3:PutObject",
        f"{STATE}/infra.tfstate",
        STATE_ONLY,
        {},
        False,
        ALLOWED,
    ),
    (
        "notresource-outside",
        "s3:PutObject",
        "arn:aws:s3:::other-tfstate/infra.tfstate",
        STATE_ONLY,
        {},
        False,
        EXPLICIT,
    ),
    # action wildcards
    ("wildcard-match", "ecs:DescribeServices", "*", [ECS_READS], {}, False, ALLOWED),
    ("wildcard-no-match", "ecs:UpdateService", "*", [ECS_READS], {}, False, IMPLICIT),
    # ${aws:PrincipalTag/...} in Resource: with the tag, and without (no value: no match)
    (
        "variable-with-tag",
        "logs:CreateLogStream",
        f"{LOG_GROUP}:log-stream:web/1",
        [OWN_LOGS],
        {"aws:PrincipalTag/Project": "finlex"},
        False,
        ALLOWED,
    ),
    (
        "variable-without-tag",
        "logs:CreateLogStream",
        f"{LOG_GROUP}:log-stream:web/1",
        [OWN_LOGS],
        {},
        False,
        IMPLICIT,
    ),
]


@pytest.mark.parametrize(
    ("action", "resource", "statements", "context", "key_policy", "expected"),
    [case[1:] for case in NOTE_CHECKS],
    ids=[case[0] for case in NOTE_CHECKS],
)
def test_the_notes_sixteen_checks(
    action: str,
    resource: str,
    statements: list[dict[str, Any]],
    context: Mapping[str, str | Sequence[str]],
    key_policy: bool,
    expected: Decision,
) -> None:
    resource_policy = DEFAULT_KEY_POLICY if key_policy else None
    got = decide(action, resource, *statements, context=context, resource_policy=resource_policy)
    assert got is expected


def test_the_note_has_sixteen_checks_on_eight_cases() -> None:
    assert len(NOTE_CHECKS) == 16
    assert len({case[0] for case in NOTE_CHECKS}) == 16


# --- Deny over Allow over implicit deny -------------------------------------


def test_an_explicit_deny_wins_over_an_allow_and_is_named() -> None:
    deny = {"Sid": "NoDeletion", "Effect": "Deny", "Action": "kms:ScheduleKey*", "Resource": "*"}
    request = Request(APPLY, "kms:ScheduleKeyDeletion", KEY)
    result = evaluate(
        request, {"manage": policy(KMS_MANAGE), "guard": policy(deny)}, DEFAULT_KEY_POLICY
    )
    assert result == Result(Decision.EXPLICIT_DENY, "guard", "NoDeletion")


def test_a_deny_in_the_resource_policy_wins_over_an_identity_allow() -> None:
    key_policy = default_key_policy(ACCOUNT)
    key_policy["Statement"].append(
        {"Effect": "Deny", "Principal": "*", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}
    )
    result = evaluate(
        Request(APPLY, "kms:ScheduleKeyDeletion", KEY), {"m": policy(KMS_MANAGE)}, key_policy
    )
    assert result == Result(Decision.EXPLICIT_DENY, RESOURCE_POLICY, "#1")


def test_the_allowing_statement_is_named_by_sid_or_index() -> None:
    statements = policy(allow("s3:ListBucket"), {"Sid": "Get", **allow("s3:GetObject")})
    by_index = evaluate(Request(APPLY, "s3:ListBucket", STATE), {"reads": statements})
    by_sid = evaluate(Request(APPLY, "s3:GetObject", f"{STATE}/k"), {"reads": statements})
    assert (by_index.policy, by_index.statement) == ("reads", "#0")
    assert (by_sid.decision, by_sid.statement) == (ALLOWED, "Get")


def test_nothing_matching_is_an_implicit_deny_naming_no_statement() -> None:
    result = evaluate(Request(APPLY, "s3:DeleteBucket", STATE), {"reads": policy(allow("s3:Get*"))})
    assert result == Result(Decision.IMPLICIT_DENY)


def test_no_policies_at_all_is_an_implicit_deny() -> None:
    assert evaluate(Request(APPLY, "s3:GetObject", f"{STATE}/k"), {}).decision is IMPLICIT


# --- Action and NotAction ---------------------------------------------------


def test_not_action_allows_every_other_action_and_only_those() -> None:
    everything_but_iam = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert decide("s3:GetObject", f"{STATE}/k", everything_but_iam) is ALLOWED
    assert decide("iam:CreateRole", TASK_ROLE, everything_but_iam) is IMPLICIT


def test_a_deny_with_not_action_denies_the_others() -> None:
    only_reads = {"Effect": "Deny", "NotAction": ["s3:Get*", "s3:List*"], "Resource": "*"}
    assert decide("s3:PutObject", f"{STATE}/k", allow("s3:*"), only_reads) is EXPLICIT
    assert decide("s3:GetObject", f"{STATE}/k", allow("s3:*"), only_reads) is ALLOWED


def test_actions_match_case_insensitively() -> None:
    assert (
        decide(
            "kms:ScheduleKeyDeletion",
            KEY,
            allow("KMS:schedulekeydeletion"),
            resource_policy=DEFAULT_KEY_POLICY,
        )
        is ALLOWED
    )
    assert decide("ecs:describeservices", "*", ECS_READS) is ALLOWED


def test_question_mark_is_one_character_in_actions() -> None:
    assert decide("ecs:ListTasks", "*", allow("ecs:List????s")) is ALLOWED
    assert decide("ecs:ListServices", "*", allow("ecs:List????s")) is IMPLICIT


# --- Resource and NotResource -----------------------------------------------


def test_arns_match_case_sensitively() -> None:
    assert decide("s3:GetObject", f"{STATE}/Key", allow("s3:GetObject", f"{STATE}/key")) is IMPLICIT
    assert (
        decide("s3:GetObject", "arn:aws:s3:::Finlex-tfstate/k", allow("s3:*", f"{STATE}/*"))
        is IMPLICIT
    )
    assert decide("s3:GetObject", f"{STATE}/key", allow("s3:GetObject", f"{STATE}/key")) is ALLOWED


def test_a_star_ending_a_segment_crosses_colons_one_inside_a_segment_does_not() -> None:
    ending = allow("logs:PutLogEvents", f"arn:aws:logs:*:{ACCOUNT}:log-group:/ecs/finlex:*")
    stream = f"{LOG_GROUP}:log-stream:web/1"
    assert decide("logs:PutLogEvents", stream, ending) is ALLOWED
    inside = allow("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/*/1")
    assert decide("logs:PutLogEvents", stream, inside) is IMPLICIT
    assert decide("logs:PutLogEvents", f"{LOG_GROUP}/web/1", inside) is ALLOWED


def test_question_mark_is_one_character_in_resources() -> None:
    role = allow("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/finlex-tas?")
    assert decide("iam:GetRole", TASK_ROLE, role) is ALLOWED
    assert decide("iam:GetRole", f"{TASK_ROLE}s", role) is IMPLICIT


def test_an_allow_with_not_resource_allows_everything_else() -> None:
    not_state = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": f"{STATE}/*"}
    assert decide("s3:GetObject", "arn:aws:s3:::other/k", not_state) is ALLOWED
    assert decide("s3:GetObject", f"{STATE}/k", not_state) is IMPLICIT


# --- condition keys: presence -----------------------------------------------


def test_a_missing_key_makes_a_condition_false() -> None:
    assert not holds("StringEquals", "aws:ResourceTag/Project", "finlex")
    assert holds("StringEquals", "aws:ResourceTag/Project", "finlex", TAGGED)


def test_condition_keys_match_case_insensitively() -> None:
    assert holds("StringEquals", "AWS:resourcetag/PROJECT", "finlex", TAGGED)
    assert holds(
        "StringEquals", "aws:ResourceTag/Project", "finlex", {"aws:resourcetag/project": "finlex"}
    )


def test_if_exists_is_true_on_a_missing_key_and_tests_a_present_one() -> None:
    assert holds("StringEqualsIfExists", "aws:ResourceTag/Project", "finlex")
    assert holds("StringEqualsIfExists", "aws:ResourceTag/Project", "finlex", TAGGED)
    assert not holds("StringEqualsIfExists", "aws:ResourceTag/Project", "billing", TAGGED)
    assert holds("NumericLessThanIfExists", "s3:max-keys", "10")
    assert not holds("NumericLessThanIfExists", "s3:max-keys", "10", {"s3:max-keys": "50"})


NEGATED = [
    ("StringNotEquals", "aws:ResourceTag/Project", "finlex"),
    ("StringNotEqualsIgnoreCase", "aws:ResourceTag/Project", "finlex"),
    ("StringNotLike", "aws:ResourceTag/Project", "fin*"),
    ("ArnNotEquals", "aws:SourceArn", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/finlex/web"),
    ("ArnNotLike", "aws:SourceArn", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/*"),
    ("NumericNotEquals", "s3:max-keys", "10"),
    ("DateNotEquals", "aws:TokenIssueTime", "2026-01-01T00:00:00Z"),
    ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24"),
]


@pytest.mark.parametrize(("operator", "key", "value"), NEGATED, ids=[n[0] for n in NEGATED])
def test_negated_operators_are_true_on_a_missing_key(operator: str, key: str, value: str) -> None:
    assert holds(operator, key, value)


def test_null_tests_presence() -> None:
    assert holds("Null", "aws:ResourceTag/Project", "true")
    assert not holds("Null", "aws:ResourceTag/Project", "true", TAGGED)
    assert holds("Null", "aws:ResourceTag/Project", "false", TAGGED)
    assert not holds("Null", "aws:ResourceTag/Project", "false")
    assert holds("Null", "aws:TagKeys", "true", {"aws:TagKeys": []})


# --- several values, keys and operators --------------------------------------


def test_several_values_of_one_key_are_ored() -> None:
    assert holds("StringEquals", "aws:ResourceTag/Project", ["billing", "finlex"], TAGGED)
    assert not holds("StringEquals", "aws:ResourceTag/Project", ["billing", "hr"], TAGGED)


def test_a_negated_operator_nors_its_values() -> None:
    assert not holds("StringNotEquals", "aws:ResourceTag/Project", ["billing", "finlex"], TAGGED)
    assert holds("StringNotEquals", "aws:ResourceTag/Project", ["billing", "hr"], TAGGED)


def test_several_keys_and_several_operators_are_anded() -> None:
    both = {
        "StringEquals": {"aws:ResourceTag/Project": "finlex", "aws:RequestedRegion": REGION},
        "Bool": {"aws:SecureTransport": "true"},
    }
    statement = allow("s3:GetObject", Condition=both)
    full = {**TAGGED, "aws:RequestedRegion": REGION, "aws:SecureTransport": "true"}
    assert decide("s3:GetObject", f"{STATE}/k", statement, context=full) is ALLOWED
    for dropped in full:
        partial = {key: value for key, value in full.items() if key != dropped}
        assert decide("s3:GetObject", f"{STATE}/k", statement, context=partial) is IMPLICIT, dropped


# --- multivalued keys ---------------------------------------------------------


def test_for_all_values_is_true_on_an_empty_or_absent_set() -> None:
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", ["Project"])
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", ["Project"], {"aws:TagKeys": []})


def test_for_all_values_needs_every_request_value_to_match_one_policy_value() -> None:
    keys = ["Project", "Owner"]
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", keys, {"aws:TagKeys": ["Owner"]})
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", keys, {"aws:TagKeys": keys})
    assert not holds(
        "ForAllValues:StringEquals", "aws:TagKeys", keys, {"aws:TagKeys": ["Owner", "Cost"]}
    )


def test_for_any_value_is_false_on_an_empty_or_absent_set_and_needs_one_match() -> None:
    assert not holds("ForAnyValue:StringEquals", "aws:TagKeys", "Project")
    assert not holds("ForAnyValue:StringEquals", "aws:TagKeys", "Project", {"aws:TagKeys": []})
    assert holds(
        "ForAnyValue:StringEquals", "aws:TagKeys", "Project", {"aws:TagKeys": ["Cost", "Project"]}
    )
    assert not holds(
        "ForAnyValue:StringEquals", "aws:TagKeys", "Project", {"aws:TagKeys": ["Cost"]}
    )


def test_negated_operators_under_set_qualifiers() -> None:
    tags = {"aws:TagKeys": ["Project", "Cost"]}
    # every value matches none of the policy's / some value matches none of them
    assert not holds("ForAllValues:StringNotEquals", "aws:TagKeys", "Project", tags)
    assert holds("ForAllValues:StringNotEquals", "aws:TagKeys", "Owner", tags)
    assert holds("ForAnyValue:StringNotEquals", "aws:TagKeys", "Project", tags)
    assert not holds("ForAnyValue:StringNotEquals", "aws:TagKeys", ["Project", "Cost"], tags)


def test_a_single_valued_operator_on_a_list_reads_any_value() -> None:
    """Our documented choice: positive operators need one match, negated ones none."""
    tags = {"aws:TagKeys": ["Project", "Cost"]}
    assert holds("StringEquals", "aws:TagKeys", "Cost", tags)
    assert not holds("StringEquals", "aws:TagKeys", "Owner", tags)
    assert not holds("StringNotEquals", "aws:TagKeys", "Cost", tags)
    assert holds("StringNotEquals", "aws:TagKeys", "Owner", tags)


# --- one test per operator family -------------------------------------------


def test_string_operators() -> None:
    project = {"aws:ResourceTag/Project": "FinLex-Web"}
    assert holds("StringEquals", "aws:ResourceTag/Project", "FinLex-Web", project)
    assert not holds("StringEquals", "aws:ResourceTag/Project", "finlex-web", project)
    assert holds("StringEqualsIgnoreCase", "aws:ResourceTag/Project", "finlex-web", project)
    assert not holds("StringNotEqualsIgnoreCase", "aws:ResourceTag/Project", "finlex-web", project)
    assert holds("StringLike", "aws:ResourceTag/Project", "FinLex-*", project)
    assert holds("StringLike", "aws:ResourceTag/Project", "FinLex-We?", project)
    assert not holds("StringLike", "aws:ResourceTag/Project", "finlex-*", project)
    assert not holds("StringLike", "aws:ResourceTag/Project", "FinLex-W?", project)
    assert holds("StringNotLike", "aws:ResourceTag/Project", "Billing-*", project)
    assert not holds("StringNotLike", "aws:ResourceTag/Project", "*Web", project)


def test_numeric_operators() -> None:
    days = {"kms:ScheduleKeyDeletionPendingWindowInDays": "7"}
    key = "kms:ScheduleKeyDeletionPendingWindowInDays"
    expected = {
        "NumericEquals": (False, True, False),
        "NumericNotEquals": (True, False, True),
        "NumericLessThan": (False, False, True),
        "NumericLessThanEquals": (False, True, True),
        "NumericGreaterThan": (True, False, False),
        "NumericGreaterThanEquals": (True, True, False),
    }
    for operator, outcomes in expected.items():
        for bound, outcome in zip(("6", "7.0", "30"), outcomes, strict=True):
            assert holds(operator, key, bound, days) is outcome, (operator, bound)
    assert not holds("NumericEquals", key, "7", {key: "seven"})


def test_date_operators_read_iso_8601_and_epoch_seconds() -> None:
    issued = {"aws:TokenIssueTime": "2026-03-01T12:00:00Z"}
    assert holds("DateGreaterThan", "aws:TokenIssueTime", "2026-01-01T00:00:00Z", issued)
    assert not holds("DateLessThan", "aws:TokenIssueTime", "2026-01-01T00:00:00Z", issued)
    assert holds("DateEquals", "aws:TokenIssueTime", "2026-03-01T13:00:00+01:00", issued)
    assert holds("DateLessThanEquals", "aws:TokenIssueTime", "1772366400", issued)  # that instant
    assert not holds("DateLessThan", "aws:TokenIssueTime", "1772366400", issued)
    assert holds(
        "DateGreaterThanEquals",
        "aws:CurrentTime",
        "2026-01-01",
        {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
    )


def test_bool_operator() -> None:
    assert holds("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "true"})
    assert holds("Bool", "aws:SecureTransport", True, {"aws:SecureTransport": "TRUE"})
    assert not holds("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "false"})
    assert not holds("Bool", "aws:SecureTransport", "false")


def test_binary_equals_compares_base64_values() -> None:
    key = "aws:RequestTag/Blob"
    assert holds("BinaryEquals", key, "QmluYXJ5VmFsdWU=", {key: "QmluYXJ5VmFsdWU="})
    assert not holds("BinaryEquals", key, "QmluYXJ5VmFsdWU=", {key: "T3RoZXJWYWx1ZQ=="})


def test_ip_address_operators_read_cidr_ranges() -> None:
    inside, outside = {"aws:SourceIp": "203.0.113.7"}, {"aws:SourceIp": "198.51.100.7"}
    assert holds("IpAddress", "aws:SourceIp", "203.0.113.0/24", inside)
    assert not holds("IpAddress", "aws:SourceIp", "203.0.113.0/24", outside)
    assert holds("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", outside)
    assert holds("IpAddress", "aws:SourceIp", "2001:db8::/32", {"aws:SourceIp": "2001:db8::1"})
    assert holds("IpAddress", "aws:SourceIp", "203.0.113.7", inside)  # a bare address is a /32


def test_arn_operators_match_each_segment_and_case_sensitively() -> None:
    service = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/finlex/web"
    source = {"aws:SourceArn": service}
    assert holds("ArnEquals", "aws:SourceArn", service, source)
    assert holds("ArnLike", "aws:SourceArn", f"arn:aws:ecs:*:{ACCOUNT}:service/finlex/*", source)
    assert holds("ArnEquals", "aws:SourceArn", f"arn:aws:ecs:{REGION}:*:service/*", source)
    assert not holds(
        "ArnLike", "aws:SourceArn", f"arn:aws:ECS:{REGION}:{ACCOUNT}:service/*", source
    )
    # a `*` in one segment does not reach into the next: "*" is the partition only
    assert not holds("ArnLike", "aws:SourceArn", f"arn:*:{REGION}:{ACCOUNT}:service/*", source)
    assert holds("ArnNotLike", "aws:SourceArn", "arn:aws:ecs:*:*:cluster/*", source)
    assert not holds("ArnNotEquals", "aws:SourceArn", service, source)
    assert not holds("ArnLike", "aws:SourceArn", "*", {"aws:SourceArn": "not-an-arn"})


# --- policy variables -------------------------------------------------------


def test_username_variable_comes_from_an_iam_users_arn() -> None:
    own_keys = allow("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}")
    assert decide("iam:CreateAccessKey", ALICE, own_keys, principal=ALICE) is ALLOWED
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    assert decide("iam:CreateAccessKey", bob, own_keys, principal=ALICE) is IMPLICIT
    # a role has no aws:username: the variable has no value and the statement never matches
    assert decide("iam:CreateAccessKey", ALICE, own_keys, principal=APPLY) is IMPLICIT


def test_a_variable_in_a_condition_value() -> None:
    same_owner = {"StringEquals": {"aws:ResourceTag/Owner": "${aws:PrincipalTag/Owner}"}}
    statement = allow("s3:GetObject", Condition=same_owner)
    owners = {"aws:ResourceTag/Owner": "ops", "aws:PrincipalTag/Owner": "ops"}
    assert decide("s3:GetObject", f"{STATE}/k", statement, context=owners) is ALLOWED
    owners["aws:PrincipalTag/Owner"] = "dev"
    assert decide("s3:GetObject", f"{STATE}/k", statement, context=owners) is IMPLICIT


def test_a_variable_without_a_value_makes_even_a_negated_condition_not_match() -> None:
    not_owner = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:ResourceTag/Owner": "${aws:PrincipalTag/Owner}"}},
    }
    owned = {"aws:ResourceTag/Owner": "ops"}
    assert decide("s3:GetObject", f"{STATE}/k", allow("s3:*"), not_owner, context=owned) is ALLOWED
    owned["aws:PrincipalTag/Owner"] = "dev"
    assert decide("s3:GetObject", f"{STATE}/k", allow("s3:*"), not_owner, context=owned) is EXPLICIT


def test_a_variable_default_value_stands_in_for_a_missing_key() -> None:
    shared = allow("s3:GetObject", f"{STATE}/${{aws:PrincipalTag/Team, 'shared'}}/*")
    assert decide("s3:GetObject", f"{STATE}/shared/k", shared) is ALLOWED
    team = {"aws:PrincipalTag/Team": "ops"}
    assert decide("s3:GetObject", f"{STATE}/ops/k", shared, context=team) is ALLOWED
    assert decide("s3:GetObject", f"{STATE}/shared/k", shared, context=team) is IMPLICIT


def test_escaped_characters_are_literal() -> None:
    literal = allow("s3:GetObject", f"{STATE}/${{*}}/${{?}}/${{$}}")
    assert decide("s3:GetObject", f"{STATE}/*/?/$", literal) is ALLOWED
    assert decide("s3:GetObject", f"{STATE}/a/b/$", literal) is IMPLICIT


def test_a_variables_value_is_literal_not_a_wildcard() -> None:
    by_tag = allow("s3:GetObject", f"{STATE}/${{aws:PrincipalTag/Prefix}}")
    tag = {"aws:PrincipalTag/Prefix": "*"}
    assert decide("s3:GetObject", f"{STATE}/anything", by_tag, context=tag) is IMPLICIT
    assert decide("s3:GetObject", f"{STATE}/*", by_tag, context=tag) is ALLOWED


def test_a_multivalued_key_has_no_value_as_a_variable() -> None:
    by_keys = allow("s3:GetObject", f"{STATE}/${{aws:TagKeys}}")
    assert (
        decide("s3:GetObject", f"{STATE}/Project", by_keys, context={"aws:TagKeys": ["Project"]})
        is IMPLICIT
    )


def test_without_version_2012_10_17_a_variable_is_plain_text() -> None:
    old = {
        "Version": "2008-10-17",
        "Statement": [allow("s3:GetObject", f"{STATE}/${{aws:username}}")],
    }
    alice_key = Request(ALICE, "s3:GetObject", f"{STATE}/alice")
    literal_key = Request(ALICE, "s3:GetObject", f"{STATE}/${{aws:username}}")
    assert evaluate(alice_key, {"old": old}).decision is IMPLICIT
    assert evaluate(literal_key, {"old": old}).decision is ALLOWED


# --- resource policies and principals ----------------------------------------


def bucket_policy(principal: Any, effect: str = "Allow", key: str = "Principal") -> dict[str, Any]:
    return policy(
        {"Effect": effect, key: principal, "Action": "s3:GetObject", "Resource": f"{STATE}/*"}
    )


def test_a_resource_policy_naming_the_caller_allows_without_an_identity_policy() -> None:
    for principal in ({"AWS": APPLY}, "*", {"AWS": "*"}):
        assert (
            decide("s3:GetObject", f"{STATE}/k", resource_policy=bucket_policy(principal))
            is ALLOWED
        )


def test_a_role_arn_in_a_resource_policy_covers_the_roles_sessions() -> None:
    named = bucket_policy({"AWS": APPLY})
    assert (
        decide("s3:GetObject", f"{STATE}/k", resource_policy=named, principal=APPLY_SESSION)
        is ALLOWED
    )
    other = bucket_policy({"AWS": TASK_ROLE})
    assert (
        decide("s3:GetObject", f"{STATE}/k", resource_policy=other, principal=APPLY_SESSION)
        is IMPLICIT
    )


def test_a_resource_policy_naming_the_account_leaves_it_to_iam() -> None:
    for account in (f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT):
        account_policy = bucket_policy({"AWS": account})
        assert decide("s3:GetObject", f"{STATE}/k", resource_policy=account_policy) is IMPLICIT
        assert (
            decide(
                "s3:GetObject", f"{STATE}/k", allow("s3:GetObject"), resource_policy=account_policy
            )
            is ALLOWED
        )


def test_a_service_principal_does_not_cover_an_iam_caller() -> None:
    service = bucket_policy({"Service": "ecs-tasks.amazonaws.com"})
    assert decide("s3:GetObject", f"{STATE}/k", resource_policy=service) is IMPLICIT


def test_not_principal_in_a_deny_spares_only_the_named() -> None:
    guard = policy(
        {"Effect": "Deny", "NotPrincipal": {"AWS": TASK_ROLE}, "Action": "s3:*", "Resource": "*"}
    )
    assert decide("s3:GetObject", f"{STATE}/k", allow("s3:*"), resource_policy=guard) is EXPLICIT
    assert (
        decide(
            "s3:GetObject", f"{STATE}/k", allow("s3:*"), resource_policy=guard, principal=TASK_ROLE
        )
        is ALLOWED
    )


def test_a_deny_naming_the_account_applies_to_its_roles() -> None:
    assert (
        decide(
            "s3:GetObject",
            f"{STATE}/k",
            allow("s3:*"),
            resource_policy=bucket_policy({"AWS": ACCOUNT}, effect="Deny"),
        )
        is EXPLICIT
    )


def test_cross_account_needs_both_sides() -> None:
    other_key = f"arn:aws:kms:{REGION}:{OTHER_ACCOUNT}:key/abcd"
    grants_us = policy(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "kms:Decrypt", "Resource": "*"}
    )
    grants_role = policy(
        {"Effect": "Allow", "Principal": {"AWS": APPLY}, "Action": "kms:Decrypt", "Resource": "*"}
    )
    decrypt = allow("kms:Decrypt", f"arn:aws:kms:*:{OTHER_ACCOUNT}:key/*")
    assert decide("kms:Decrypt", other_key, decrypt, resource_policy=grants_us) is ALLOWED
    assert decide("kms:Decrypt", other_key, resource_policy=grants_role) is IMPLICIT
    assert decide("kms:Decrypt", other_key, decrypt) is IMPLICIT
    queue = f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:jobs"
    assert decide("sqs:SendMessage", queue, allow("sqs:SendMessage")) is IMPLICIT


# --- KMS key policies and trust policies ------------------------------------


def test_the_default_key_policy_is_awss() -> None:
    assert default_key_policy(ACCOUNT)["Statement"] == [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]


def test_a_key_policy_naming_the_role_allows_without_an_identity_policy() -> None:
    names_role = policy(
        {"Effect": "Allow", "Principal": {"AWS": APPLY}, "Action": "kms:*", "Resource": "*"}
    )
    result = evaluate(Request(APPLY, "kms:ScheduleKeyDeletion", KEY), {}, names_role)
    assert result == Result(Decision.ALLOWED, RESOURCE_POLICY, "#0")


def test_a_key_policy_that_neither_names_nor_delegates_denies_despite_iam() -> None:
    other_admin = policy(
        {"Effect": "Allow", "Principal": {"AWS": TASK_ROLE}, "Action": "kms:*", "Resource": "*"}
    )
    assert (
        decide("kms:ScheduleKeyDeletion", KEY, KMS_MANAGE, resource_policy=other_admin) is IMPLICIT
    )


def test_a_key_policy_delegating_some_actions_only_delegates_those() -> None:
    describe_only = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ACCOUNT},
            "Action": "kms:Describe*",
            "Resource": "*",
        }
    )
    assert (
        decide("kms:ScheduleKeyDeletion", KEY, allow("kms:*"), resource_policy=describe_only)
        is IMPLICIT
    )
    assert decide("kms:DescribeKey", KEY, allow("kms:*"), resource_policy=describe_only) is ALLOWED


def test_kms_actions_without_a_key_resource_need_no_key_policy() -> None:
    assert decide("kms:CreateKey", "*", allow("kms:CreateKey")) is ALLOWED
    alias = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/finlex"
    assert decide("kms:CreateAlias", alias, allow("kms:CreateAlias")) is ALLOWED


def test_assume_role_needs_the_trust_policy() -> None:
    trust = policy({"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"})
    assume = allow("sts:AssumeRole", APPLY)
    assert decide("sts:AssumeRole", APPLY, assume, principal=ALICE) is IMPLICIT
    assert decide("sts:AssumeRole", APPLY, resource_policy=trust, principal=ALICE) is ALLOWED
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    assert decide("sts:AssumeRole", APPLY, assume, resource_policy=trust, principal=bob) is IMPLICIT


# --- bad input: one line, never a traceback ----------------------------------

BAD_POLICIES = [
    ({"Statement": [{"Effect": "allow", "Action": "s3:*", "Resource": "*"}]}, "Effect is 'allow'"),
    ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, "no Action or NotAction"),
    ({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}, "no Resource or NotResource"),
    (
        {"Statement": [allow("s3:*", Condition={"StringEqual": {"aws:SourceIp": "x"}})]},
        "unknown condition operator 'StringEqual'",
    ),
    (
        {"Statement": [allow("s3:*", Condition={"NumericLessThan": {"s3:max-keys": "ten"}})]},
        "'ten'",
    ),
    (
        {"Statement": [allow("s3:*", Condition={"NullIfExists": {"aws:TagKeys": "true"}})]},
        "unknown condition operator 'NullIfExists'",
    ),
    ({"Statement": [allow("s3:*", Principal="*")]}, "names no Principal"),
    ({"Version": "2012-10-17"}, "no Statement"),
]


@pytest.mark.parametrize(("document", "message"), BAD_POLICIES)
def test_a_bad_policy_is_one_line_naming_policy_and_statement(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        evaluate(Request(APPLY, "s3:GetObject", f"{STATE}/k"), {"broken": document})
    text = str(raised.value)
    assert message in text
    assert text.startswith("broken")
    assert "\n" not in text


def test_a_resource_policy_statement_needs_a_principal() -> None:
    with pytest.raises(PolicyError, match=r"resource policy, statement #0: .*Principal"):
        evaluate(Request(APPLY, "s3:GetObject", f"{STATE}/k"), {}, policy(allow("s3:*")))


NOT_STRINGS: dict[str, Any] = {"aws:SecureTransport": True}


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (Request("finlex-apply", "s3:GetObject", STATE), "principal 'finlex-apply'"),
        (Request(APPLY, "GetObject", STATE), "action 'GetObject'"),
        (
            Request(APPLY, "s3:GetObject", STATE, NOT_STRINGS),
            "aws:SecureTransport",
        ),
    ],
)
def test_a_bad_request_is_one_line(request_: Request, message: str) -> None:
    with pytest.raises(RequestError, match=message) as raised:
        evaluate(request_, {"reads": policy(allow("s3:*"))})
    assert "\n" not in str(raised.value)


def test_describe_is_one_line_with_action_resource_decision_and_statement() -> None:
    request = Request(APPLY, "kms:ScheduleKeyDeletion", KEY)
    line = describe(request, evaluate(request, {"manage": policy(KMS_MANAGE)}))
    assert line.startswith(f"kms:ScheduleKeyDeletion on {KEY} by {APPLY}: implicitly denied")
    assert "key policy" in line
    allowed = describe(
        request, evaluate(request, {"manage": policy(KMS_MANAGE)}, DEFAULT_KEY_POLICY)
    )
    assert "allowed (manage #0)" in allowed
    assert "\n" not in line + allowed
