"""finlex-release status: the service's task definition, images, deployment
alarms, deployments and target health; `--require-healthy` makes it a check."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from finlex_release import targets
from finlex_release.command import AddCommand, Context, aws, service_options
from finlex_release.errors import ReleaseError
from finlex_release.service import counts, deployment_alarms, describe_service, revision_name


def _yes(value: object) -> str:
    return "yes" if value else "no"


def status(
    ecs: Any,
    *,
    cluster: str,
    service: str,
    out: TextIO,
    elbv2: Any | None = None,
    require_healthy: bool = False,
) -> None:
    """Print the service's task definition, images, deployments and target health."""
    svc = describe_service(ecs, cluster, service)
    current = svc["taskDefinition"]
    print(
        f"{cluster}/{service}: {revision_name(current)}, desired {svc.get('desiredCount', 0)}, "
        f"running {svc.get('runningCount', 0)}, pending {svc.get('pendingCount', 0)}",
        file=out,
    )
    definition = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
    for container in definition.get("containerDefinitions", []):
        print(f"  container {container.get('name')}: {container.get('image')}", file=out)
    alarms = deployment_alarms(svc)
    if alarms:
        names = ", ".join(str(name) for name in alarms.get("alarmNames", [])) or "none"
        print(
            f"  deployment alarms: {names} "
            f"(enabled: {_yes(alarms.get('enable'))}, rollback: {_yes(alarms.get('rollback'))})",
            file=out,
        )
    for deployment in svc.get("deployments", []):
        print(
            f"  deployment {deployment.get('id')} {deployment.get('status')} "
            f"{deployment.get('rolloutState', '-')} "
            f"{revision_name(deployment['taskDefinition'])}: {counts(deployment)}",
            file=out,
        )
    found = targets.health(elbv2, targets.groups(svc)) if elbv2 is not None else []
    for line in targets.lines(found):
        print("  " + line, file=out)
    if require_healthy and not found:
        raise ReleaseError(f"{cluster}/{service}: no load balancer targets registered")
    if require_healthy and not targets.all_healthy(found):
        raise ReleaseError(f"{cluster}/{service}: not every load balancer target is healthy")


# --- the command -------------------------------------------------------------


def run(args: argparse.Namespace, context: Context) -> None:
    clients = aws(args, context)
    status(
        clients("ecs"),
        cluster=args.cluster,
        service=args.service,
        out=context.out,
        elbv2=clients("elbv2"),
        require_healthy=args.require_healthy,
    )


def register(command: AddCommand) -> None:
    """The status subcommand and its options."""
    parser = command(
        "status", run, "Show the service's task definition, deployments and target health."
    )
    service_options(parser)
    parser.add_argument(
        "--require-healthy",
        action="store_true",
        help="exit 1 unless every load balancer target is healthy",
    )
