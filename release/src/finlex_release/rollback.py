"""finlex-release rollback: put back the revision the running one replaced and
follow that deployment.

The target is the revision named by the running one's REPLACES_TAG (what ran
before `deploy` registered it; base_revision.py), so a rollback never lands on
a Terraform revision that never ran; without the tag, the newest ACTIVE
revision older than the running one; with `--to`, the one named.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from finlex_release import rollout
from finlex_release.base_revision import REPLACES_TAG
from finlex_release.command import (
    AddCommand,
    Context,
    aws,
    follow_settings,
    service_options,
    wait_options,
)
from finlex_release.errors import NotFoundError
from finlex_release.service import (
    describe_service,
    require_ecs_controller,
    revision_name,
    split_revision,
)
from finlex_release.waiting import Progress


def rollback(
    ecs: Any,
    *,
    cluster: str,
    service: str,
    to: str | None,
    wait: rollout.Follow,
    out: TextIO,
    elbv2: Any | None = None,
) -> None:
    """Put back the revision the current one replaced (or the named one), follow that."""
    svc = describe_service(ecs, cluster, service)
    require_ecs_controller(svc)
    current = svc["taskDefinition"]
    if to is None:
        target = replaced_revision(ecs, current, wait.progress)
    else:
        split_revision(to)
        described = ecs.describe_task_definition(taskDefinition=to)
        target = described["taskDefinition"]["taskDefinitionArn"]
    wait.progress(
        f"rolling {cluster}/{service} back from {revision_name(current)} to {revision_name(target)}"
    )
    rollout.roll_out(ecs, cluster, service, target, current, wait, out, elbv2)


def replaced_revision(ecs: Any, current: str, progress: Progress) -> str:
    """Where `rollback` without --to goes from `current`.

    The revision named by `current`'s REPLACES_TAG (what ran before `deploy`
    registered it), which must still be ACTIVE; without the tag, the newest
    ACTIVE revision older than `current` by number.
    """
    described = ecs.describe_task_definition(taskDefinition=current, include=["TAGS"])
    tagged = [tag for tag in described.get("tags", []) if tag.get("key") == REPLACES_TAG]
    if not tagged:
        target = previous_revision(ecs, current)
        progress(
            f"{revision_name(current)} has no {REPLACES_TAG} tag (not registered by "
            f"finlex-release deploy); falling back to the newest ACTIVE revision older than "
            f"it: {revision_name(target)}"
        )
        return target
    value = str(tagged[0].get("value", ""))
    found = ecs.describe_task_definition(taskDefinition=value)["taskDefinition"]
    if found.get("status") != "ACTIVE":
        raise NotFoundError(
            f"no ACTIVE rollback target: {revision_name(value)}, which "
            f"{revision_name(current)} replaced ({REPLACES_TAG} tag), is "
            f"{found.get('status', 'not ACTIVE')}; pass --to family:revision"
        )
    target = str(found["taskDefinitionArn"])
    progress(f"{revision_name(current)} replaced {revision_name(target)} ({REPLACES_TAG} tag)")
    return target


def previous_revision(ecs: Any, current: str) -> str:
    """The newest ACTIVE revision of `current`'s family older than `current`."""
    family, revision = split_revision(current)
    older: list[tuple[int, str]] = []
    for page in ecs.get_paginator("list_task_definitions").paginate(
        familyPrefix=family, status="ACTIVE"
    ):
        for arn in page["taskDefinitionArns"]:
            name, number = split_revision(arn)
            if name == family and number < revision:
                older.append((number, arn))
    if not older:
        raise NotFoundError(f"no ACTIVE revision of {family} older than {revision} to roll back to")
    return max(older)[1]


# --- the command -------------------------------------------------------------


def run(args: argparse.Namespace, context: Context) -> None:
    clients = aws(args, context)
    rollback(
        clients("ecs"),
        cluster=args.cluster,
        service=args.service,
        to=args.to,
        wait=follow_settings(args, context),
        out=context.out,
        elbv2=clients("elbv2"),
    )


def register(command: AddCommand) -> None:
    """The rollback subcommand and its options."""
    parser = command(
        "rollback",
        run,
        "Put back the revision the running one replaced (its finlex:replaces tag; without "
        "the tag, the previous ACTIVE revision) and follow that deployment.",
    )
    service_options(parser)
    parser.add_argument(
        "--to",
        help="family:revision or ARN to roll back to (default: the one the running revision "
        "replaced)",
    )
    wait_options(parser, timeout=rollout.DEFAULT_TIMEOUT, interval=rollout.DEFAULT_INTERVAL)
