"""image-exists: does ECR already hold this tag, and is it the image built here?

ECR tags are IMMUTABLE, so a second push of a tag is refused even for the same
commit. `make push` asks this first and prints one word on stdout:

- ``absent``: the tag is not in ECR; push it.
- ``same sha256:...``: the tag holds the local image (its image ID is the
  manifest's config digest, or the manifest digest itself under Docker's
  containerd image store); nothing to push.
- ``different sha256:...``: the tag holds another build; ECR will refuse the
  push. `make push` stops, or with KEEP_EXISTING=1 keeps ECR's image.
- ``present sha256:...``: the tag exists (no --local-id given).

The digest printed is the manifest digest, the one a deploy pins.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from botocore.exceptions import ClientError

from finlex_release import images
from finlex_release.aws import error_code
from finlex_release.command import AddCommand, Context, aws
from finlex_release.errors import NotFoundError, ReleaseError, UsageError

_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
]


def state(ecr: Any, repository: str, tag: str, local_id: str | None) -> tuple[str, str | None]:
    """(word, manifest digest or None) for repository:tag against the local image ID."""
    if local_id is not None and not _IMAGE_ID.match(local_id):
        raise UsageError(f"--local-id {local_id!r} must look like sha256:<64 hex digits>")
    try:
        response = ecr.batch_get_image(
            repositoryName=repository,
            imageIds=[{"imageTag": tag}],
            acceptedMediaTypes=MANIFEST_TYPES,
        )
    except ClientError as error:
        if error_code(error) == "RepositoryNotFoundException":
            raise NotFoundError(f"ECR repository {repository!r} not found") from None
        raise
    found = response.get("images", [])
    if not found:
        return "absent", None
    image = found[0]
    digest = str(image["imageId"]["imageDigest"])
    if local_id is None:
        return "present", digest
    try:
        config = json.loads(image.get("imageManifest", "{}")).get("config", {})
    except ValueError:
        raise ReleaseError(f"ECR returned an unreadable manifest for {repository}:{tag}") from None
    same = local_id in {digest, config.get("digest") if isinstance(config, dict) else None}
    return ("same" if same else "different"), digest


def run(args: argparse.Namespace, context: Context) -> None:
    repository = images.checked_repository(args.repository)
    if not images.TAG.match(args.tag):
        raise UsageError(f"--tag {args.tag!r} is not a valid tag")
    ecr = aws(args, context)("ecr")
    word, digest = state(ecr, repository, args.tag, args.local_id)
    print(f"{word} {digest}" if digest else word, file=context.out)
    context.progress(
        {
            "absent": f"{repository}:{args.tag} is not in ECR",
            "present": f"{repository}:{args.tag} is in ECR as {digest}",
            "same": f"{repository}:{args.tag} is in ECR as {digest}: the same image",
            "different": f"{repository}:{args.tag} is in ECR as {digest}: another build",
        }[word]
    )


def register(command: AddCommand) -> None:
    """The image-exists subcommand and its options."""
    parser = command(
        "image-exists",
        run,
        "Say whether ECR holds REPOSITORY:TAG and whether it is the local image "
        "(prints absent, present, same or different, and the digest).",
    )
    parser.add_argument("--repository", required=True, help="ECR repository name")
    parser.add_argument("--tag", required=True, help="image tag")
    parser.add_argument(
        "--local-id",
        help="local image ID (docker image inspect --format '{{.Id}}'), compared with ECR's",
    )
