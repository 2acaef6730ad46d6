"""push: put the image the tests ran into ECR, built for the tasks' CPU, and
record that a run tested it.

Before anything reaches the registry the local image is checked: it exists,
its ID is the one the tests ran (--tested-id, what the test job reported),
and it is linux/<arch> for the cpuArchitecture of the task definition the
service runs (before the service exists: --cpu-architecture). Then ECR is
asked for the tag, which is IMMUTABLE:

- absent: docker login, tag, push, and docker logout whatever happened, so
  no registry credentials stay behind; the manifest ECR now holds under the
  tag must be the tested image, and it is tagged with its test record
  (tested-<TAG>, tested.py);
- the tag holds this very image: nothing to push; the record is written if
  it is missing (this run tested the image);
- the tag holds another build: refused, since the push cannot replace it.
  With --keep-existing that build is kept only when its digest carries the
  record tested-<TAG>: an earlier run (e.g. of the same commit) tested it.

Every refusal is one line and changes nothing. stdout gets one line,
``pushed|same|kept sha256:...``: the manifest digest a deploy pins.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from finlex_release import ecr_login, image_exists, images, tested
from finlex_release.aws import error_code
from finlex_release.command import AddCommand, Context, aws
from finlex_release.errors import NotFoundError, ReleaseError, UsageError
from finlex_release.service import describe_service
from finlex_release.waiting import Progress

# ECS's cpuArchitecture -> the image platform's architecture (Docker's name).
ARCHITECTURES = {"X86_64": "amd64", "ARM64": "arm64"}
_LOCAL_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")
_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class LocalImage:
    """The image in the local Docker engine."""

    ref: str
    id: str
    os: str
    architecture: str

    @property
    def platform(self) -> str:
        return f"{self.os}/{self.architecture}"


@dataclass(frozen=True)
class Tasks:
    """The CPU the tasks run on, and where that was read."""

    architecture: str  # ECS's name: X86_64 or ARM64
    which: str  # "tasks of finlex/finlex", or "tasks"
    source: str  # "(finlex:7)", or "(--cpu-architecture; no service finlex/finlex yet)"

    @property
    def platform(self) -> str:
        # An architecture ECS may add later is named as it is, and matches nothing here.
        return f"linux/{ARCHITECTURES.get(self.architecture, self.architecture.lower())}"


def inspect(docker: str, ref: str, tag: str) -> LocalImage:
    """The local image `ref`; UsageError naming the build to run when it is missing."""
    result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [docker, "image", "inspect", ref], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise UsageError(f"no local image {ref}: run make image TAG={tag} first")
    try:
        found = json.loads(result.stdout)[0]
        return LocalImage(ref, str(found["Id"]), str(found["Os"]), str(found["Architecture"]))
    except (ValueError, LookupError, TypeError):
        raise ReleaseError(f"docker image inspect {ref} printed no image description") from None


def tasks_of(ecs: Any, cluster: str | None, service: str | None, fallback: str | None) -> Tasks:
    """The tasks' CPU: the service's running task definition, else `fallback`."""
    missing = ""
    if cluster and service:
        where = f"{cluster}/{service}"
        try:
            svc = describe_service(ecs, cluster, service)
        except NotFoundError:
            missing = f"; no service {where} yet"
        except ClientError as error:
            if error_code(error) != "ClusterNotFoundException":
                raise
            missing = f"; no service {where} yet"
        else:
            running = str(svc["taskDefinition"])
            definition = ecs.describe_task_definition(taskDefinition=running)["taskDefinition"]
            platform = definition.get("runtimePlatform") or {}
            # Fargate runs X86_64 when the task definition names no architecture.
            architecture = str(platform.get("cpuArchitecture") or "X86_64")
            return Tasks(architecture, f"tasks of {where}", f"({_name(running)})")
    if fallback is None:
        raise UsageError(
            f"nothing says which CPU the tasks run on{missing}: pass --cluster and --service "
            "of a service, or --cpu-architecture"
        )
    return Tasks(fallback, "tasks", f"(--cpu-architecture{missing})")


def check_platform(image: LocalImage, tasks: Tasks) -> str:
    """A progress line when `image` runs on the tasks' CPU; ReleaseError otherwise."""
    if image.platform != tasks.platform:
        raise ReleaseError(
            f"image {image.ref} is {image.platform}, but the {tasks.which} run "
            f"{tasks.architecture} {tasks.source}; they need {tasks.platform}: build it "
            "for them (make image builds for CPU_ARCHITECTURE)"
        )
    where = f"the {tasks.architecture} {tasks.which} {tasks.source}"
    return f"{image.ref}: {image.platform} for {where}"


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _by_tag(ecr: Any, repository: str, tag: str) -> dict[str, Any] | None:
    """ECR's image under `tag` (digest and manifest), or None."""
    found = ecr.batch_get_image(
        repositoryName=repository,
        imageIds=[{"imageTag": tag}],
        acceptedMediaTypes=image_exists.MANIFEST_TYPES,
    ).get("images", [])
    return dict(found[0]) if found else None


def _digest(image: dict[str, Any]) -> str:
    return str(image["imageId"]["imageDigest"])


def record_problem(ecr: Any, repository: str, tag: str, digest: str) -> str | None:
    """Why `digest` (under `tag`) has no test record, or None when it has one."""
    record = tested.record_tag(tag)
    found = _by_tag(ecr, repository, record)
    if found is None:
        return f"no run recorded testing it (no tag {record})"
    if _digest(found) != digest:
        return f"{record} names {_digest(found)}, not {digest}"
    return None


def write_record(ecr: Any, repository: str, tag: str, image: dict[str, Any]) -> str | None:
    """Tag `image` (ECR's image under `tag`) with its test record; return the
    record written, or None when it was there already."""
    digest = _digest(image)
    problem = record_problem(ecr, repository, tag, digest)
    if problem is None:
        return None
    record = tested.record_tag(tag)
    if not problem.startswith("no run recorded"):
        raise ReleaseError(f"{repository}:{tag} ({digest}) cannot be recorded as tested: {problem}")
    ecr.put_image(
        repositoryName=repository,
        imageManifest=image["imageManifest"],
        imageManifestMediaType=image.get("imageManifestMediaType", ""),
        imageTag=record,
        imageDigest=digest,
    )
    return record


@dataclass(frozen=True)
class Push:
    """What to push where, and what the run knows about it."""

    local: LocalImage
    repository: str
    tag: str
    keep_existing: bool


def _docker(executable: str, *args: str) -> str:
    """Run docker; its last output line, or ReleaseError with it."""
    result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [executable, *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ReleaseError(f"docker {args[0]} failed: {ecr_login.last_line(result)}")
    return ecr_login.last_line(result)


def _send(ecr: Any, docker: str, job: Push, progress: Progress) -> dict[str, Any]:
    """docker login, tag, push, then logout whatever happened; ECR's image after it."""
    repository_uri = ecr.describe_repositories(repositoryNames=[job.repository])["repositories"][0][
        "repositoryUri"
    ]
    remote = f"{repository_uri}:{job.tag}"
    host = ecr_login.docker_login(docker, ecr, None)
    try:
        _docker(docker, "tag", job.local.ref, remote)
        progress(f"docker push {remote}: {_docker(docker, 'push', remote)}")
    finally:
        failed = ecr_login.docker_logout(docker, host)
        progress(f"docker logout {host}: {failed or 'done, no credentials left behind'}")
    image = _by_tag(ecr, job.repository, job.tag)
    if image is None:
        raise ReleaseError(f"docker push succeeded but ECR holds no {job.repository}:{job.tag}")
    return image


def push(ecr: Any, docker: str, job: Push, progress: Progress) -> tuple[str, str]:
    """Push, keep or skip; ("pushed" | "same" | "kept", manifest digest)."""
    ref = f"{job.repository}:{job.tag}"
    word, digest = image_exists.state(ecr, job.repository, job.tag, job.local.id)
    if word == "absent":
        image = _send(ecr, docker, job, progress)
        found, _ = image_exists.state(ecr, job.repository, job.tag, job.local.id)
        if found != "same":
            raise ReleaseError(
                f"ECR's {ref} ({_digest(image)}) is not the image pushed ({job.local.id}): "
                "another push won the race; not recorded as tested"
            )
        progress(f"recorded as tested: {write_record(ecr, job.repository, job.tag, image)}")
        return "pushed", _digest(image)
    if digest is None:  # image_exists gives a digest with every answer but absent
        raise ReleaseError(f"ECR named no digest for {ref}")
    if word == "same":
        same = _by_tag(ecr, job.repository, job.tag)
        record = write_record(ecr, job.repository, job.tag, same) if same else None
        note = f"; recorded as tested: {record}" if record else ""
        progress(f"ECR holds this image as {ref} already ({digest}): nothing to push{note}")
        return "same", digest
    problem = record_problem(ecr, job.repository, job.tag, digest)
    held = f"ECR holds another build as {ref} ({digest})"
    if not job.keep_existing:
        why = problem or "an earlier run tested it; pass --keep-existing (KEEP_EXISTING=1)"
        raise ReleaseError(f"{held} and its tags are immutable: {why}; or build under a new TAG")
    if problem is not None:
        raise ReleaseError(
            f"{held} and {problem}: it is not kept; build under a new TAG, or remove that image"
        )
    progress(
        f"{held}; an earlier run tested it ({tested.record_tag(job.tag)}): keeping it, "
        f"a deploy of {ref} deploys that digest"
    )
    return "kept", digest


def _checked(args: argparse.Namespace) -> tuple[str, str, str]:
    """(local reference, repository, tag), each checked before any call."""
    tag = args.tag
    if not images.TAG.match(tag):
        raise UsageError(f"--tag {tag!r} is not a valid tag")
    tested.record_tag(tag)
    if not _LOCAL_REF.match(args.image):
        raise UsageError(f"--image {args.image!r} is not a local image reference")
    repository = images.checked_repository(args.repository)
    if not _IMAGE_ID.match(args.tested_id or ""):
        raise UsageError(
            f"--tested-id {args.tested_id!r} must be the ID of the image the tests ran "
            "(sha256:<64 hex digits>, what make image-save prints)"
        )
    return args.image, repository, tag


def run(args: argparse.Namespace, context: Context) -> None:
    ref, repository, tag = _checked(args)
    docker = ecr_login.docker_command(args.docker)
    local = inspect(docker, ref, tag)
    if local.id != args.tested_id:
        raise ReleaseError(
            f"{ref} is {local.id}, but the tested image is {args.tested_id}: "
            "push only what was tested"
        )
    clients = aws(args, context)
    tasks = tasks_of(clients("ecs"), args.cluster, args.service, args.cpu_architecture)
    context.progress(check_platform(local, tasks))
    job = Push(local, repository, tag, args.keep_existing)
    word, digest = push(clients("ecr"), docker, job, context.progress)
    print(f"{word} {digest}", file=context.out)


def register(command: AddCommand) -> None:
    """The push subcommand and its options."""
    parser = command(
        "push",
        run,
        "Push the local image the tests ran to ECR as REPOSITORY:TAG if its CPU is the "
        "tasks', and record it as tested (prints pushed, same or kept, and the digest).",
    )
    parser.add_argument("--image", required=True, help="local image, e.g. finlex:TAG")
    parser.add_argument("--repository", required=True, help="ECR repository name")
    parser.add_argument("--tag", required=True, help="ECR tag (the commit SHA)")
    parser.add_argument(
        "--tested-id",
        required=True,
        help="ID of the image the tests ran (make image-save prints it); the local one must match",
    )
    parser.add_argument("--cluster", help="ECS cluster whose service's tasks set the CPU")
    parser.add_argument("--service", help="ECS service whose running task definition sets the CPU")
    parser.add_argument(
        "--cpu-architecture",
        choices=sorted(ARCHITECTURES),
        help="the tasks' CPU when the service does not exist yet (its task definition wins)",
    )
    parser.add_argument(
        "--keep-existing",
        action="store_true",
        help="if the tag holds another build, keep it when an earlier run tested it",
    )
    parser.add_argument("--docker", default="docker", help="docker command (default docker)")
