"""iamsim.tables: AWS's condition-key types and actions, offline.

Expected types are those of AWS's Service Authorization Reference and its
global condition keys page (e.g. Route 53 lists
ChangeResourceRecordSetsNormalizedRecordNames as ArrayOfString).
"""

from __future__ import annotations

import pytest

from iamsim.tables import action_exists, condition_key_type, is_multivalued, unknown_actions

KEY_TYPES = [
    ("route53:ChangeResourceRecordSetsNormalizedRecordNames", "ArrayOfString"),
    ("route53:ChangeResourceRecordSetsRecordTypes", "ArrayOfString"),
    ("iam:PassedToService", "String"),
    ("kms:ViaService", "String"),
    ("kms:ScheduleKeyDeletionPendingWindowInDays", "Numeric"),
    ("kms:EncryptionContext:purpose", "String"),
    ("aws:TagKeys", "ArrayOfString"),
    ("aws:ResourceTag/Project", "String"),
    ("AWS:principaltag/project", "String"),
    ("aws:SourceIp", "IPAddress"),
    ("aws:PrincipalArn", "ARN"),
    ("aws:SecureTransport", "Bool"),
    ("aws:CalledVia", "ArrayOfString"),
]


@pytest.mark.parametrize(("key", "expected"), KEY_TYPES, ids=[k for k, _ in KEY_TYPES])
def test_condition_key_types(key: str, expected: str) -> None:
    assert condition_key_type(key) == expected


def test_unknown_keys_have_no_type() -> None:
    assert condition_key_type("aws:NoSuchKey") is None
    assert condition_key_type("kms:NoSuchKey") is None
    assert condition_key_type("nosuchservice:Key") is None


def test_multivalued_keys_are_the_array_types() -> None:
    assert is_multivalued("route53:ChangeResourceRecordSetsNormalizedRecordNames")
    assert is_multivalued("aws:TagKeys")
    assert not is_multivalued("aws:ResourceTag/Project")
    assert not is_multivalued("aws:NoSuchKey")


def test_actions_exist_case_insensitively() -> None:
    assert action_exists("kms:ScheduleKeyDeletion")
    assert action_exists("KMS:schedulekeydeletion")
    assert action_exists("iam:PassRole")
    assert not action_exists("kms:ScheduleKeyDeletions")
    assert not action_exists("nosuchservice:Get")


def test_unknown_actions_of_a_policy() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": ["kms:Describe*", "kms:Nothing*", "ecs:ListServices"]},
            {"Effect": "Deny", "NotAction": "iam:PassRoles", "Resource": "*"},
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
        ]
    }
    assert unknown_actions(document) == ["kms:Nothing*", "iam:PassRoles"]
