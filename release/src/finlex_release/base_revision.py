"""The revision a deploy copies, and the copy it registers.

A deploy copies the revision the service runs: a revision anyone registered
in the family (the newest ACTIVE one) is never its base unless named with
`--base` (`make deploy DEPLOY_BASE=...`), which is how Terraform's
task-definition changes (cpu, memory, environment) reach the service on
purpose. The base must belong to the family and its container must use the
repository of the image deployed; otherwise the deploy refuses, naming what
it found, before it registers anything.

Each copy is tagged with the revision that ran before it (REPLACES_TAG), and
rollback follows that tag, so it never lands on a Terraform revision that
never ran.
"""

from __future__ import annotations

import copy
from typing import Any

from finlex_release import images
from finlex_release.errors import ReleaseError, UsageError
from finlex_release.service import revision_name, split_revision
from finlex_release.waiting import Progress

DEFAULT_CONTAINER = "finlex"
# Tag on every revision `deploy` registers: the revision the service ran before.
REPLACES_TAG = "finlex:replaces"
_TAG_VALUE_MAX = 256  # ECS tag values: at most 256 characters


def describe(ecs: Any, task_definition: str) -> tuple[dict[str, Any], list[Any]]:
    """The base's definition and its tags."""
    described = ecs.describe_task_definition(taskDefinition=task_definition, include=["TAGS"])
    return described["taskDefinition"], described.get("tags", [])


def container_of(task_definition: dict[str, Any], container: str) -> dict[str, Any]:
    """The definition of `container` in a task definition (or its registration
    arguments); UsageError naming the containers there are."""
    containers: list[dict[str, Any]] = task_definition.get("containerDefinitions", [])
    for definition in containers:
        if definition.get("name") == container:
            return definition
    names = ", ".join(str(item.get("name")) for item in containers) or "none"
    raise UsageError(f"no container {container!r} in the task definition (containers: {names})")


def _repository_uri(image: str) -> str:
    """`host/repository` of an image reference, without its tag or digest."""
    name = image.split("@", 1)[0]
    path, slash, last = name.rpartition("/")
    return f"{path}{slash}{last.split(':', 1)[0]}"


def check_base(
    task_definition: dict[str, Any], family: str, container: str, image: images.Image, why: str
) -> None:
    """ReleaseError unless the base belongs to `family` and its `container`
    runs an image of the repository `image` comes from."""
    name = revision_name(task_definition["taskDefinitionArn"])
    if task_definition.get("family") != family:
        raise ReleaseError(
            f"base {name} is not a revision of family {family} ({why}); refusing to deploy from it"
        )
    current = str(container_of(task_definition, container).get("image", ""))
    repository = _repository_uri(image.uri)
    if _repository_uri(current) != repository:
        raise ReleaseError(
            f"base {name}: container {container} runs {current or 'no image'}, not an image "
            f"of {repository}; refusing to deploy from it"
        )


def copy_with_image(
    ecs: Any,
    definition: dict[str, Any],
    tags: list[Any],
    *,
    running: str,
    family: str,
    container: str,
    image_uri: str,
    progress: Progress,
) -> dict[str, Any]:
    """The arguments that register a copy of the (checked) base `definition`
    whose `container` runs `image_uri`, tagged REPLACES_TAG = `running`."""
    base_arn = str(definition["taskDefinitionArn"])
    if base_arn != running:
        progress(
            f"base {revision_name(base_arn)} (--base), not the running "
            f"{revision_name(running)}: its settings are deployed with the new image"
        )
    note = _newer_note(ecs, family, base_arn, running)
    if note:
        progress(note)
    kwargs = registrable(ecs, definition, _with_replaces(tags, running, progress))
    old_image = swap_image(kwargs, container, image_uri)
    progress(f"{revision_name(base_arn)}: container {container} runs {old_image}")
    return kwargs


def registrable(ecs: Any, task_definition: dict[str, Any], tags: list[Any]) -> dict[str, Any]:
    """The arguments that register a copy of `task_definition`.

    Keeps exactly what RegisterTaskDefinition accepts, read from botocore's
    service model, so read-only fields (ARN, revision, status, registeredAt,
    compatibilities, requiresAttributes...) are dropped and new API fields kept.
    """
    accepted = ecs.meta.service_model.operation_model("RegisterTaskDefinition").input_shape.members
    kwargs = {key: copy.deepcopy(val) for key, val in task_definition.items() if key in accepted}
    if tags:
        kwargs["tags"] = copy.deepcopy(tags)
    return kwargs


def swap_image(kwargs: dict[str, Any], container: str, image_uri: str) -> str:
    """Point `container` at `image_uri` in place; return the image it had."""
    definition = container_of(kwargs, container)
    previous = str(definition.get("image", ""))
    definition["image"] = image_uri
    return previous


def replaces_tag(task_definition_arn: str) -> dict[str, str] | None:
    """The REPLACES_TAG that points at `task_definition_arn`.

    The ARN when it fits ECS's tag value limit, else family:revision (both are
    accepted by DescribeTaskDefinition and UpdateService); None when neither fits.
    """
    for value in (task_definition_arn, revision_name(task_definition_arn)):
        if len(value) <= _TAG_VALUE_MAX:
            return {"key": REPLACES_TAG, "value": value}
    return None


def _with_replaces(tags: list[Any], running: str, progress: Progress) -> list[Any]:
    kept = [tag for tag in tags if tag.get("key") != REPLACES_TAG]
    tag = replaces_tag(running)
    if tag is None:
        progress(
            f"{REPLACES_TAG} tag left off: {revision_name(running)} is longer than "
            f"{_TAG_VALUE_MAX} characters; a rollback will use the numeric rule or --to"
        )
        return kept
    return [*kept, tag]


def _newer_note(ecs: Any, family: str, base: str, running: str) -> str | None:
    """A progress line when the family has a newer ACTIVE revision than the base,
    which this deploy leaves alone."""
    # Without a revision, DescribeTaskDefinition answers the newest ACTIVE one.
    newest = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    arn = str(newest["taskDefinitionArn"])
    if split_revision(arn)[1] <= split_revision(base)[1]:
        return None
    which = "the running" if base == running else "the base"
    return (
        f"{revision_name(arn)} is newer than {which} {revision_name(base)} and is not "
        "deployed (registered outside this tool, e.g. by Terraform); to deploy its settings, "
        f"pass --base {revision_name(arn)}"
    )
