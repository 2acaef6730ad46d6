"""The revision a deploy copies: the running one unless --base names another, of the
service's family and the image's repository, tagged with what it replaces."""

from __future__ import annotations

from finlex_release import base_revision
from finlex_release.errors import Exit
from support.release_fakes import (
    clients_with,
    controller,
    deploy_argv,
    described,
    push_image,
    revision,
    revisions,
    stray_registers,
    terraform_registers,
)


def test_deploy_bases_the_revision_on_the_services_own_not_the_newest(stack, run) -> None:
    """Issue 19: a stray revision, the family's newest ACTIVE one, is not the base."""
    assert stray_registers("public.ecr.aws/someone/else:1") == revision(2)
    new = push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates == [revision(3)]
    fresh, running = described(revision(3)), described(stack.task_definition)
    definition = fresh["taskDefinition"]
    assert definition["memory"] == running["taskDefinition"]["memory"] == "512"
    finlex = definition["containerDefinitions"][0]
    assert finlex["image"] == f"{new.uri}@{new.digest}"
    assert finlex["environment"] == [{"name": "FINLEX_LOG_LEVEL", "value": "info"}]
    assert fresh["tags"] == [
        {"key": "app", "value": "finlex"},
        {"key": "finlex:replaces", "value": stack.task_definition},
    ]
    assert (
        "finlex:2 is newer than the running finlex:1 and is not deployed (registered "
        "outside this tool, e.g. by Terraform); to deploy its settings, pass --base finlex:2"
    ) in result.progress


def test_deploy_with_base_takes_terraforms_newer_revision(stack, run) -> None:
    terraform = terraform_registers("1024", f"{stack.image.uri}:0.1.0")  # an old tfvars tag
    assert terraform == revision(2)
    new = push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    result = run(*deploy_argv("finlex:1.0.1", "--base", "finlex:2"), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates == [revision(3)]
    assert "base finlex:2 (--base), not the running finlex:1" in result.progress

    fresh = described(revision(3))
    definition = fresh["taskDefinition"]
    assert definition["memory"] == "1024"  # Terraform's setting reaches the service
    finlex, sidecar = definition["containerDefinitions"]
    assert finlex["image"] == f"{new.uri}@{new.digest}"  # with the new image, not 0.1.0
    assert finlex["environment"] == [{"name": "FINLEX_LOG_LEVEL", "value": "warning"}]
    assert sidecar["image"] == "public.ecr.aws/example/sidecar:1"
    assert fresh["tags"] == [
        {"key": "app", "value": "finlex"},
        {"key": "managed-by", "value": "terraform"},
        {"key": "finlex:replaces", "value": stack.task_definition},  # what ran, not the base
    ]


def test_deploy_refuses_a_base_of_another_family(stack, run) -> None:
    other = stray_registers(f"{stack.image.uri}:1.0.0", family="finlex-worker")
    push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    before = revisions()
    argv = deploy_argv("finlex:1.0.1", "--base", "finlex-worker:1")
    result = run(*argv, clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert result.err == (
        f"finlex-release deploy: base {other.rsplit('/', 1)[-1]} is not a revision of "
        "family finlex (the service's); refusing to deploy from it\n"
    )
    assert (revisions(), ecs.updates) == (before, [])  # nothing registered, nothing updated


def test_deploy_refuses_a_base_whose_container_uses_another_repository(stack, run) -> None:
    assert stray_registers("public.ecr.aws/someone/else:1") == revision(2)
    new = push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    result = run(*deploy_argv("finlex:1.0.1", "--base", "finlex:2"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert result.err == (
        "finlex-release deploy: base finlex:2: container finlex runs "
        f"public.ecr.aws/someone/else:1, not an image of {new.uri}; refusing to deploy from it\n"
    )
    assert (len(revisions()), ecs.updates) == (2, [])


def test_replaces_tag_fits_the_ecs_tag_value_limit() -> None:
    arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/{}:12"
    assert base_revision.replaces_tag(arn.format("finlex")) == {
        "key": "finlex:replaces",
        "value": arn.format("finlex"),
    }
    long_family = "f" * 240  # families may have up to 255 characters
    assert len(arn.format(long_family)) > 256
    assert base_revision.replaces_tag(arn.format(long_family)) == {
        "key": "finlex:replaces",
        "value": f"{long_family}:12",
    }
    assert base_revision.replaces_tag(arn.format("f" * 255)) is None
