"""What each pipeline role was granted and what the rehearsal's steps called.

One summary line per role: calls made, distinct actions, calls denied (0 on
the happy path; the broken copies' denials are counted apart), and the
granted actions no step called. Each of those must be on `UNCALLED` with its
reason, or a full rehearsal fails: a grant nobody uses and nobody can explain
is a grant to remove (ecs:DeregisterTaskDefinition went that way).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Why a grant goes uncalled in a full rehearsal, each reason with its actions.
_FIRST_APPLY = (
    "creates a part of the service: the rehearsal's first apply, which also creates the "
    "pipeline's roles, is the administrator's; after a teardown of the service the apply "
    "role creates it again"
)
_UNCHANGED = (
    "changes a setting or tag the rehearsal's examples never change (a later tfvars or "
    "tags change calls it)"
)
_ALARM_EMAILS = "alarm e-mail subscriptions: the examples set no alarm_emails"
_PROVIDER_6 = (
    "hashicorp/aws 6.11+ waits for the service's steady state through the "
    "service-deployments API; the lock pins 5.100, which does not call it"
)
_DEFAULT_VPC_READS = (
    "reads of the default-VPC example's data sources, planned by the plan role; the apply "
    "role applies saved plans, and its destroy runs on the private example"
)
_SHARED_READS = (
    "terraform_read is one policy for the plan and apply roles: the apply role calls it "
    "(a security group's deletion waits for its network interfaces; a record change for "
    "INSYNC)"
)
_LOG_KEY = "a KMS key for the log group: the examples set none"
_DEPLOY_PUSH = (
    "docker push and make push: the emulator has no registry, so the image's manifest is "
    "put by the administrator (docs/rehearsal.md)"
)
_UNTAGGED_REVISION = (
    "finlex-release rollback lists the family's revisions only for a revision without the "
    "tag deploy puts on the ones it registers; the rehearsal rolls back a tagged one"
)


def _reasons(groups: Mapping[str, str]) -> dict[str, str]:
    """action -> reason, from "action action ..." -> reason."""
    return {action: reason for actions, reason in groups.items() for action in actions.split()}


# Keyed by the job that holds the role (rehearse.steps.ROLE_OUTPUTS).
UNCALLED: Mapping[str, Mapping[str, str]] = {
    "plan": _reasons(
        {
            "ec2:DescribeNetworkInterfaces route53:GetChange": _SHARED_READS,
            "sns:GetSubscriptionAttributes sns:ListSubscriptionsByTopic": _ALARM_EMAILS,
        }
    ),
    "apply": _reasons(
        {
            "ecr:CreateRepository ecr:PutImageScanningConfiguration ecr:PutLifecyclePolicy"
            " ecr:TagResource ecs:CreateCluster ecs:CreateService"
            " ecs:PutClusterCapacityProviders elasticloadbalancing:CreateLoadBalancer"
            " elasticloadbalancing:CreateListener elasticloadbalancing:CreateRule"
            " elasticloadbalancing:SetIpAddressType elasticloadbalancing:SetSubnets"
            " iam:CreateRole iam:CreateServiceLinkedRole iam:PutRolePermissionsBoundary"
            " iam:PutRolePolicy iam:TagRole kms:CreateAlias kms:CreateKey"
            " kms:EnableKeyRotation kms:PutKeyPolicy kms:TagResource kms:UpdateKeyDescription"
            " logs:CreateLogGroup logs:TagResource sns:CreateTopic sns:TagResource"
            " application-autoscaling:PutScalingPolicy application-autoscaling:TagResource": (
                _FIRST_APPLY
            ),
            "acm:RemoveTagsFromCertificate application-autoscaling:UntagResource"
            " cloudwatch:UntagResource ec2:DeleteTags"
            " ec2:UpdateSecurityGroupRuleDescriptionsEgress"
            " ec2:UpdateSecurityGroupRuleDescriptionsIngress ecr:DeleteRepositoryPolicy"
            " ecr:PutImageTagMutability ecr:SetRepositoryPolicy ecr:UntagResource"
            " ecs:UntagResource ecs:UpdateCluster ecs:UpdateClusterSettings"
            " elasticloadbalancing:AddListenerCertificates"
            " elasticloadbalancing:ModifyListenerAttributes elasticloadbalancing:ModifyTargetGroup"
            " elasticloadbalancing:RemoveListenerCertificates elasticloadbalancing:RemoveTags"
            " iam:DeletePolicyVersion iam:UntagRole iam:UpdateAssumeRolePolicy iam:UpdateRole"
            " iam:UpdateRoleDescription kms:UntagResource logs:DeleteRetentionPolicy"
            " logs:UntagResource sns:UntagResource": _UNCHANGED,
            "sns:GetSubscriptionAttributes sns:ListSubscriptionsByTopic"
            " sns:SetSubscriptionAttributes sns:Subscribe sns:Unsubscribe": _ALARM_EMAILS,
            "ecs:DescribeServiceDeployments ecs:ListServiceDeployments": _PROVIDER_6,
            "ec2:DescribeRouteTables ec2:DescribeVpcAttribute ec2:DescribeVpcs"
            " application-autoscaling:DescribeScalingPolicies": _DEFAULT_VPC_READS,
            "logs:AssociateKmsKey logs:DisassociateKmsKey": _LOG_KEY,
        }
    ),
    "deploy": _reasons(
        {
            "ecr:BatchCheckLayerAvailability ecr:BatchGetImage ecr:CompleteLayerUpload"
            " ecr:GetAuthorizationToken ecr:InitiateLayerUpload ecr:PutImage"
            " ecr:UploadLayerPart": _DEPLOY_PUSH,
            "ecr:StartImageScan": (
                "scan-gate starts a scan only when the image has none (NOT_FOUND); the "
                "repository scans on push"
            ),
            "ecs:ListTaskDefinitions": _UNTAGGED_REVISION,
        }
    ),
}


# Uncalled only when production is rehearsed alone (--production-only): keyed as UNCALLED.
UNCALLED_WITHOUT_STAGING: Mapping[str, Mapping[str, str]] = {
    "deploy": _reasons(
        {
            "ssm:GetParameter ssm:GetParametersByPath ssm:PutParameter": (
                "verify-record, promote and verified write and read the verification records: "
                "the promote steps run beside staging only, and --production-only has none"
            ),
        }
    ),
}


@dataclass(frozen=True)
class RoleUse:
    job: str
    role_arn: str
    calls: int
    actions: frozenset[str]  # distinct actions allowed to the role's calls
    denied: int  # denied calls outside the broken copies and the probes
    denied_on_purpose: int  # denied by design: broken copies, cross-environment probes
    uncalled: frozenset[str]  # granted, never called
    denied_calls: tuple[str, ...] = ()  # "action on ARN" of each denial counted in `denied`
    staging: bool = True  # staging rehearsed beside production (else UNCALLED_WITHOUT_STAGING too)

    @property
    def unexplained(self) -> list[str]:
        """Uncalled grants that UNCALLED (and, without staging, UNCALLED_WITHOUT_STAGING)
        does not list."""
        listed = dict(UNCALLED.get(self.job, {}))
        if not self.staging:
            listed.update(UNCALLED_WITHOUT_STAGING.get(self.job, {}))
        known = {action.lower() for action in listed}
        return sorted(action for action in self.uncalled if action.lower() not in known)

    def line(self) -> str:
        explained = len(self.uncalled) - len(self.unexplained)
        text = (
            f"{self.job} role: {self.calls} calls, {len(self.actions)} distinct actions, "
            f"{self.denied} denied (+{self.denied_on_purpose} on purpose: broken copy, probes); "
            f"{len(self.uncalled)} granted actions never called ({explained} listed with a reason)"
        )
        if self.unexplained:
            text += f"; not listed: {', '.join(self.unexplained)}"
        return text


def uncalled(granted: Iterable[str], called: Iterable[str]) -> frozenset[str]:
    """Granted actions (patterns allowed) that match none of the called ones."""
    made = [action.lower() for action in called]
    return frozenset(
        action
        for action in granted
        if not any(fnmatch.fnmatchcase(made_one, action.lower()) for made_one in made)
    )
