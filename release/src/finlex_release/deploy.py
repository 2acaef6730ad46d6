"""finlex-release deploy: register a copy of the revision the service runs with
a new, tested image (pinned by digest), update the service, follow that
deployment.

The steps, each in its own module: no overlap with a deployment in progress
(rollout.idle_service, `--wait`), the base revision and its checks
(base_revision.py), the image's test record (tested.py), then the registration
and the roll-out (rollout.py). Every check comes before the registration.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from finlex_release import base_revision, images, rollout, tested
from finlex_release.command import (
    AddCommand,
    Context,
    aws,
    follow_settings,
    service_options,
    wait_options,
)
from finlex_release.service import (
    describe_service,
    require_ecs_controller,
    revision_name,
    service_name,
    split_revision,
)


def deploy(
    ecs: Any,
    ecr: Any,
    *,
    cluster: str,
    service: str,
    image: images.ImageRef,
    container: str,
    wait: rollout.Follow,
    out: TextIO,
    elbv2: Any | None = None,
    base: str | None = None,
    family: str | None = None,
    wait_for_others: bool = False,
) -> None:
    """Register a copy of the service's revision (or `base`) with `image`, roll it
    out, follow it. Every check comes before the registration.

    The new revision is tagged REPLACES_TAG = the revision the service ran.
    """
    if base is not None:
        split_revision(base)
    svc = describe_service(ecs, cluster, service)
    require_ecs_controller(svc)
    svc = rollout.idle_service(ecs, cluster, service, svc, wait if wait_for_others else None)
    previous = svc["taskDefinition"]
    expected = family or service_name(service)
    why = "--family" if family else "the service's"
    definition, tags = base_revision.describe(ecs, base or previous)
    pinned = images.resolve(ecr, image)
    base_revision.check_base(definition, expected, container, pinned, why)
    tested.require(pinned, image)
    kwargs = base_revision.copy_with_image(
        ecs,
        definition,
        tags,
        running=previous,
        family=expected,
        container=container,
        image_uri=pinned.uri,
        progress=wait.progress,
    )
    new = ecs.register_task_definition(**kwargs)["taskDefinition"]["taskDefinitionArn"]
    wait.progress(
        f"registered {revision_name(new)} with {pinned.uri} "
        f"({base_revision.REPLACES_TAG} {revision_name(previous)})"
    )
    rollout.roll_out(ecs, cluster, service, new, previous, wait, out, elbv2)


# --- the command -------------------------------------------------------------


def run(args: argparse.Namespace, context: Context) -> None:
    ref = images.parse(args.image)
    clients = aws(args, context)
    ecr = clients("ecr")
    images.check_region(ref, getattr(getattr(ecr, "meta", None), "region_name", None))
    deploy(
        clients("ecs"),
        ecr,
        cluster=args.cluster,
        service=args.service,
        image=ref,
        container=args.container_name,
        wait=follow_settings(args, context),
        out=context.out,
        elbv2=clients("elbv2"),
        base=args.base,
        family=args.family,
        wait_for_others=args.wait,
    )


def register(command: AddCommand) -> None:
    """The deploy subcommand and its options."""
    parser = command(
        "deploy",
        run,
        "Register a copy of the revision the service runs with a new, tested image (pinned "
        "by digest), update the service and follow that deployment until COMPLETED.",
    )
    service_options(parser)
    parser.add_argument(
        "--image",
        required=True,
        help="repo:tag, repo@sha256:..., or ECR image URI; its digest must carry a test record",
    )
    parser.add_argument(
        "--container-name",
        default=base_revision.DEFAULT_CONTAINER,
        help=f"container whose image is replaced (default {base_revision.DEFAULT_CONTAINER})",
    )
    parser.add_argument(
        "--base",
        help="family:revision or ARN to copy instead of the running revision (e.g. "
        "Terraform's newer one)",
    )
    parser.add_argument(
        "--family",
        help="task-definition family the base must belong to (default: the service's name)",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="wait (up to --timeout) for a deployment in progress instead of refusing",
    )
    wait_options(parser, timeout=rollout.DEFAULT_TIMEOUT, interval=rollout.DEFAULT_INTERVAL)
