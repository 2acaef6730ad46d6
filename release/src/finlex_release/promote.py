"""verify-record, promote and verified: one image digest, verified in one
environment, deployed to the next.

`verify-record` checks, in the environment it names, that the image carries
its test record, that the service runs that very digest with no deployment in
progress, and that every answer of the public URL comes from the commit (the
checks of `verify`); then it writes the verification record (record.py).

`promote --from staging --to production` deploys a digest to the target's
service only when the source's record of that digest exists and matches it.
It refuses a digest the repository does not hold, a digest without a record,
and a record of another digest, repository or environment, each in one line
and before anything changes; then it runs `deploy` (deploy.py), whose own
checks (test record, base revision, no overlap) follow.

`verified` lists an environment's records, newest first: the previous verified
digest is what a production rollback promotes again.
"""

from __future__ import annotations

import argparse
import io
import re
from typing import Any

from finlex_release import base_revision, deploy, images, record, rollout, tested, verify
from finlex_release.command import (
    AddCommand,
    Context,
    aws,
    follow_settings,
    seconds,
    whole_number,
)
from finlex_release.errors import NotFoundError, ReleaseError, UsageError
from finlex_release.service import busy, describe_service
from finlex_release.waiting import Progress

_CHECK = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def _pinned(ecr: Any, ref: images.ImageRef) -> images.Image:
    """The image in ECR, pinned by digest; NotFoundError naming the repository."""
    images.check_region(ref, getattr(getattr(ecr, "meta", None), "region_name", None))
    try:
        return images.resolve(ecr, ref)
    except NotFoundError as error:
        if error.message.startswith("ECR repository"):
            raise
        which = ref.digest or f"tag {ref.tag}"
        raise NotFoundError(
            f"{which} is not in repository {ref.repository}: nothing to verify or promote"
        ) from None


def _by_digest(ref: images.ImageRef, image: images.Image) -> images.ImageRef:
    """`ref` pinned to the digest it resolved to, so that a deploy cannot see another."""
    return images.ImageRef(
        repository=ref.repository, digest=image.digest, registry_id=ref.registry_id, host=ref.host
    )


def service_runs(ecs: Any, cluster: str, service: str, container: str, image: images.Image) -> str:
    """The service's task definition ARN when its `container` runs `image` by digest
    and no deployment is in progress; ReleaseError otherwise."""
    svc = describe_service(ecs, cluster, service)
    found = busy(svc)
    if found is not None:
        raise ReleaseError(
            f"a deployment ({found.get('id')}, {found.get('rolloutState')}) is in progress on "
            f"{cluster}/{service}: verify once it has ended"
        )
    arn = str(svc["taskDefinition"])
    described = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    running = str(base_revision.container_of(described, container).get("image", ""))
    if running != image.uri:
        raise ReleaseError(
            f"{cluster}/{service} runs {running or 'no image'} in container {container}, not "
            f"{image.uri}: deploy the digest there first (finlex-release deploy)"
        )
    return arn


def run_verify_record(args: argparse.Namespace, context: Context) -> None:
    env = record.environment(args.environment)
    base = verify.base_url(args.url, allow_http=args.allow_http)
    commit = verify.expected_revision(args.commit)
    if not commit:
        raise UsageError("--commit must name the git revision the image was built from")
    expected = verify.Expected(
        verify.expected_version(args.expected_version, None, context.cwd()), commit
    )
    ref = images.parse(args.image)
    clients = aws(args, context)
    image = _pinned(clients("ecr"), ref)
    tested.require(image, ref)
    ecs = clients("ecs")
    arn = service_runs(ecs, args.cluster, args.service, args.container_name, image)
    progress: Progress = context.progress
    progress(f"{args.cluster}/{args.service} runs {image.uri} ({arn.rsplit('/', 1)[-1]})")
    # stdout is the record's key=value lines (deploy.yml appends them to GITHUB_OUTPUT);
    # verify's result line goes with the progress.
    verified = io.StringIO()
    verify.verify(
        base,
        expected,
        timeout=args.timeout,
        interval=args.interval,
        allow_http=args.allow_http,
        clock=context.clock,
        progress=progress,
        out=verified,
    )
    progress(verified.getvalue().strip())
    # The service may have changed while verify polled: the record is of what still runs.
    service_runs(ecs, args.cluster, args.service, args.container_name, image)
    written = record.Record(
        environment=env,
        repository=image.repository,
        digest=image.digest,
        commit=commit,
        verified_at=record.now(),
        service=f"{args.cluster}/{args.service}",
        task_definition=arn,
        url=base,
        reported=tuple(args.passed),
    )
    name = record.write(clients("ssm"), written)
    progress(written.summary())
    print(f"digest={image.digest}", file=context.out)
    print(f"record={name}", file=context.out)


def run_promote(args: argparse.Namespace, context: Context) -> None:
    source, target = record.environment(args.source), record.environment(args.target)
    if source == target:
        raise UsageError(f"--from and --to are both {source}: promote moves between two")
    ref = images.parse(args.image)
    clients = aws(args, context)
    ecr = clients("ecr")
    image = _pinned(ecr, ref)
    found = record.require(clients("ssm"), source, image)
    progress: Progress = context.progress
    progress(found.summary())
    progress(f"promoting {image.uri} from {source} to {target} ({args.cluster}/{args.service})")
    wait = follow_settings(args, context)
    deploy.deploy(
        clients("ecs"),
        ecr,
        cluster=args.cluster,
        service=args.service,
        image=_by_digest(ref, image),
        container=args.container_name,
        wait=wait,
        out=context.out,
        elbv2=clients("elbv2"),
        base=args.base,
        family=args.family,
        wait_for_others=args.wait,
    )
    print(f"promoted {image.digest} from {source} to {target}", file=context.out)


def run_verified(args: argparse.Namespace, context: Context) -> None:
    found = record.listing(aws(args, context)("ssm"), record.environment(args.environment))
    if not found:
        path = record.RECORD_PATH.format(environment=args.environment)
        raise NotFoundError(f"no verification records under {path}")
    for item in found[: args.limit]:
        print(
            f"{item.verified_at}  {item.digest}  commit {item.commit}  {item.service}",
            file=context.out,
        )


def _environment_arg(text: str) -> str:
    try:
        return record.environment(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(error.message) from None


def _check_names(text: str) -> list[str]:
    """One or more check names, separated by commas or spaces."""
    names = text.replace(",", " ").split()
    for name in names or [text]:
        if not _CHECK.match(name):
            raise argparse.ArgumentTypeError(
                f"{name!r} is not a check name (lower-case letters, digits and '-', at most 32)"
            )
    return names


def _service_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", required=True, help="ECS cluster name or ARN")
    parser.add_argument("--service", required=True, help="ECS service name or ARN")
    parser.add_argument(
        "--container-name",
        default=base_revision.DEFAULT_CONTAINER,
        help=f"container that runs the image (default {base_revision.DEFAULT_CONTAINER})",
    )


def _register_verify_record(command: AddCommand) -> None:
    parser: argparse.ArgumentParser = command(
        "verify-record",
        run_verify_record,
        "Check that the environment's service runs the image's digest and that its public "
        "URL answers healthy from COMMIT, then write the verification record (prints "
        "digest= and record=).",
    )
    parser.add_argument("--environment", required=True, type=_environment_arg, help="e.g. staging")
    _service_options(parser)
    parser.add_argument("--image", required=True, help="repo:tag, repo@sha256:..., or ECR URI")
    parser.add_argument("--url", required=True, help="the environment's public base URL")
    parser.add_argument(
        "--commit",
        required=True,
        help=f"git revision every answer must carry in {verify.REVISION_HEADER}; recorded",
    )
    parser.add_argument("--expected-version", help="default: the repository's version file")
    parser.add_argument(
        "--passed",
        action="extend",
        type=_check_names,
        default=[],
        metavar="CHECK",
        help="checks the caller ran before and saw pass (e.g. probe; repeat, or separate by "
        "commas or spaces); recorded as reported",
    )
    parser.add_argument(
        "--allow-http", action="store_true", help="accept a plain http:// URL (local servers)"
    )
    parser.add_argument("--timeout", type=seconds, default=300.0, help="verify: give up after")
    parser.add_argument("--interval", type=seconds, default=2.0, help="verify: first pause")


def _register_promote(command: AddCommand) -> None:
    parser: argparse.ArgumentParser = command(
        "promote",
        run_promote,
        "Deploy to the --to environment's service the digest the --from environment "
        "verified; refuse a digest without a matching record or not in the repository.",
    )
    parser.add_argument(
        "--from", dest="source", required=True, type=_environment_arg, help="e.g. staging"
    )
    parser.add_argument(
        "--to", dest="target", required=True, type=_environment_arg, help="e.g. production"
    )
    parser.add_argument(
        "--image", required=True, help="repo@sha256:... (or repo:tag, resolved once)"
    )
    _service_options(parser)
    parser.add_argument("--base", help="family:revision or ARN to copy (deploy --base)")
    parser.add_argument("--family", help="family the base must belong to (deploy --family)")
    parser.add_argument(
        "--wait", action="store_true", help="wait for a deployment in progress (deploy --wait)"
    )
    parser.add_argument(
        "--timeout", type=seconds, default=rollout.DEFAULT_TIMEOUT, help="deploy: give up after"
    )
    parser.add_argument(
        "--interval", type=seconds, default=rollout.DEFAULT_INTERVAL, help="deploy: poll every"
    )


def register(command: AddCommand) -> None:
    """The verify-record, promote and verified subcommands and their options."""
    _register_verify_record(command)
    _register_promote(command)
    verified = command(
        "verified", run_verified, "List an environment's verification records, newest first."
    )
    verified.add_argument(
        "--environment", required=True, type=_environment_arg, help="e.g. staging"
    )
    verified.add_argument(
        "--limit",
        type=whole_number(1, 1000),
        default=10,
        help="at most this many, 1 to 1000 (default 10)",
    )
