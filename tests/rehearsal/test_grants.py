"""The roles' summary: grants never called, and the list that explains them."""

from __future__ import annotations

import pytest

from iamsim.tables import action_exists
from rehearse import grants


def use(job: str, uncalled: set[str]) -> grants.RoleUse:
    return grants.RoleUse(
        job=job,
        role_arn=f"arn:aws:iam::123456789012:role/finlex-{job}",
        calls=3,
        actions=frozenset({"s3:GetObject"}),
        denied=0,
        denied_on_purpose=1,
        uncalled=frozenset(uncalled),
    )


def test_a_grant_matched_by_a_call_is_called_and_patterns_count() -> None:
    granted = {"s3:GetObject", "ec2:Describe*", "kms:PutKeyPolicy"}
    called = {"S3:GetObject", "ec2:DescribeVpcs"}
    assert grants.uncalled(granted, called) == {"kms:PutKeyPolicy"}


def test_an_uncalled_grant_off_the_list_is_named() -> None:
    listed = next(iter(grants.UNCALLED["apply"]))
    line = use("apply", {listed, "kms:ScheduleKeyDeletion"}).line()
    assert "2 granted actions never called (1 listed with a reason)" in line
    assert line.endswith("not listed: kms:ScheduleKeyDeletion")
    assert use("apply", {listed}).unexplained == []


@pytest.mark.parametrize("job", sorted(grants.UNCALLED))
def test_every_listed_action_is_one_aws_defines_and_has_a_reason(job: str) -> None:
    for action, reason in grants.UNCALLED[job].items():
        assert action_exists(action), action
        assert len(reason) > 20, action


def test_the_record_grants_are_explained_only_when_production_runs_alone() -> None:
    """Beside staging the promote steps call them; --production-only runs no promotion."""
    records = {"ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter"}
    beside = grants.RoleUse(**{**use("deploy", records).__dict__, "staging": True})
    alone = grants.RoleUse(**{**use("deploy", records).__dict__, "staging": False})
    assert beside.unexplained == sorted(records)
    assert alone.unexplained == []
    for action, reason in grants.UNCALLED_WITHOUT_STAGING["deploy"].items():
        assert action_exists(action), action
        assert len(reason) > 20, action
