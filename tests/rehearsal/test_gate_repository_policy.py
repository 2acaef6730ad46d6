"""The rehearsal's gate reads an ECR repository's policy, so the rehearsal enforces who may
push and pull (modules/ecr) as AWS does: here against moto in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from iamsim.evaluate import Decision, Request, evaluate
from rehearse.gate import MotoFacts

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/finlex"
DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/finlex-github-deploy"
APPLY = f"arn:aws:iam::{ACCOUNT}:role/finlex-github-terraform-apply"
EVERYTHING = {"ecr-all": {"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}}
ONLY_DEPLOY_PUSHES = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyPushExceptThePipeline",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["ecr:PutImage"],
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [DEPLOY]}},
        }
    ],
}


@pytest.fixture
def facts(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoFacts]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("ecr", region_name=REGION).create_repository(repositoryName="finlex")
        yield MotoFacts(ACCOUNT)


def decide(facts: MotoFacts, principal: str, action: str) -> Decision:
    request = Request(principal=principal, action=action, resource=REPOSITORY)
    return evaluate(request, EVERYTHING, facts.resource_policy(request)).decision


def test_without_a_policy_identity_policies_decide(facts: MotoFacts) -> None:
    assert facts.resource_policy(Request(APPLY, "ecr:PutImage", REPOSITORY)) is None
    assert decide(facts, APPLY, "ecr:PutImage") is Decision.ALLOWED


def test_the_repository_policy_takes_pushes_away_from_all_but_the_deploy_role(
    facts: MotoFacts,
) -> None:
    boto3.client("ecr", region_name=REGION).set_repository_policy(
        repositoryName="finlex", policyText=json.dumps(ONLY_DEPLOY_PUSHES)
    )
    assert decide(facts, DEPLOY, "ecr:PutImage") is Decision.ALLOWED
    assert decide(facts, APPLY, "ecr:PutImage") is Decision.EXPLICIT_DENY
    assert decide(facts, APPLY, "ecr:DescribeImages") is Decision.ALLOWED


def test_an_unknown_repository_has_no_policy(facts: MotoFacts) -> None:
    other = REPOSITORY.replace("/finlex", "/other")
    assert facts.resource_policy(Request(APPLY, "ecr:PutImage", other)) is None
