"""rollback: back to the revision the running one replaced (its finlex:replaces tag),
else the previous ACTIVE one, or the one named with --to."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from finlex_release import rollback
from finlex_release.errors import Exit
from support.release_fakes import (
    REGION,
    clients_with,
    controller,
    deploy_argv,
    described,
    push_image,
    revision,
    terraform_registers,
)


def rollback_argv(*extra: str) -> tuple[str, ...]:
    return ("rollback", "--cluster", "finlex", "--service", "finlex", *extra)


def test_rollback_puts_the_previous_revision_back(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    assert run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs)).code == 0
    ecs.deployments = None  # the first deployment is over
    ecs.script = ["IN_PROGRESS", "COMPLETED"]
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates[-1] == stack.task_definition
    assert "finlex:2 replaced finlex:1 (finlex:replaces tag)" in result.progress
    assert "rolling finlex/finlex back from finlex:2 to finlex:1" in result.progress
    assert "COMPLETED" in result.out


def test_rollback_skips_a_terraform_revision_that_never_ran(stack, run) -> None:
    push_image(tag="1.0.1")
    push_image(tag="1.0.2")
    ecs = controller(["COMPLETED"])
    assert run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs)).code == 0  # rev 2
    assert terraform_registers("1024", f"{stack.image.uri}:0.1.0") == revision(3)
    ecs.deployments = None
    assert run(*deploy_argv("finlex:1.0.2"), clients=clients_with(ecs)).code == 0  # rev 4
    assert ecs.updates == [revision(2), revision(4)]
    # rev 4 was based on rev 2, the running one, and replaced it; rev 2's own tag is gone.
    tags = described(revision(4))["tags"]
    assert [t for t in tags if t["key"] == "finlex:replaces"] == [
        {"key": "finlex:replaces", "value": revision(2)}
    ]

    ecs.deployments = None
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates[-1] == revision(2)  # not rev 3, whose image never ran
    assert "rolling finlex/finlex back from finlex:4 to finlex:2" in result.progress
    listed = boto3.client("ecs", region_name=REGION).list_task_definitions(familyPrefix="finlex")
    assert len(listed["taskDefinitionArns"]) == 4  # rolling back registers nothing


def test_rollback_without_the_tag_uses_the_numeric_rule(stack, run) -> None:
    # The service runs a revision this tool did not register (Terraform's).
    terraform = terraform_registers("1024", f"{stack.image.uri}:1.0.0")
    boto3.client("ecs", region_name=REGION).update_service(
        cluster="finlex", service="finlex", taskDefinition=terraform
    )
    ecs = controller(["COMPLETED"])
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates == [stack.task_definition]
    assert (
        "finlex:2 has no finlex:replaces tag (not registered by finlex-release deploy); "
        "falling back to the newest ACTIVE revision older than it: finlex:1" in result.progress
    )


def test_rollback_to_an_inactive_tagged_revision_fails(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    assert run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs)).code == 0
    boto3.client("ecs", region_name=REGION).deregister_task_definition(
        taskDefinition=stack.task_definition
    )
    ecs.deployments = None
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == Exit.NOT_FOUND
    assert len(result.err.strip().splitlines()) == 1
    assert (
        "no ACTIVE rollback target: finlex:1, which finlex:2 replaced (finlex:replaces tag), "
        "is INACTIVE; pass --to family:revision" in result.err
    )
    assert ecs.updates == [revision(2)]  # only the deploy's


def test_rollback_to_a_named_revision(stack, run) -> None:
    push_image(tag="1.0.1")
    push_image(tag="1.0.2")
    ecs = controller(["COMPLETED"])
    for tag in ("1.0.1", "1.0.2"):
        ecs.deployments = None
        assert run(*deploy_argv(f"finlex:{tag}"), clients=clients_with(ecs)).code == 0
    ecs.deployments = None
    result = run(*rollback_argv("--to", "finlex:1"), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates[-1] == stack.task_definition


def test_rollback_that_fails_exits_1(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    assert run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs)).code == 0
    ecs.deployments = None
    ecs.script = ["FAILED"]
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert "FAILED" in result.err


def test_rollback_without_an_older_revision(stack, run) -> None:
    ecs = controller(["COMPLETED"])
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == Exit.NOT_FOUND
    assert "no ACTIVE revision of finlex older than 1" in result.err
    assert ecs.updates == []


def test_rollback_to_an_unknown_revision(stack, run) -> None:
    ecs = controller(["COMPLETED"])
    result = run(*rollback_argv("--to", "finlex:42"), clients=clients_with(ecs))
    assert result.code == Exit.NOT_FOUND
    assert ecs.updates == []


def test_previous_revision_skips_other_families_and_newer_revisions(aws_env) -> None:
    arns = [
        f"arn:aws:ecs:eu-west-1:123456789012:task-definition/{name}"
        for name in (
            "finlex:3",
            "finlex-worker:4",
            "finlex:5",
            "finlex:1",
        )
    ]
    ecs = boto3.client("ecs", region_name=REGION)
    stub = Stubber(ecs)
    stub.add_response(
        "list_task_definitions",
        {"taskDefinitionArns": arns},
        {"familyPrefix": "finlex", "status": "ACTIVE"},
    )
    with stub:
        assert rollback.previous_revision(ecs, arns[2].replace(":5", ":4")) == arns[0]
