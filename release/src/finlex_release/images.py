"""Image references (`repo:tag`, `repo@sha256:...`, full ECR URIs) and their digests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from finlex_release.aws import error_code
from finlex_release.errors import NotFoundError, UsageError

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# An image tag as Docker and ECR accept it.
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


@dataclass(frozen=True)
class ImageRef:
    """What the user named: a repository plus a tag or a digest."""

    repository: str
    tag: str | None = None
    digest: str | None = None
    registry_id: str | None = None
    host: str | None = None

    def __str__(self) -> str:
        name = f"{self.host}/{self.repository}" if self.host else self.repository
        return f"{name}@{self.digest}" if self.digest else f"{name}:{self.tag}"

    @property
    def region(self) -> str | None:
        """The region of a full ECR URI's registry host; None without a host."""
        match = _ECR_HOST.match(self.host or "")
        return match.group(2) if match else None


@dataclass(frozen=True)
class Image:
    """An image that exists in ECR, pinned by digest."""

    repository: str
    registry_id: str
    digest: str
    uri: str  # <registry>/<repository>@<digest>
    tags: tuple[str, ...]


def parse(reference: str) -> ImageRef:
    """Parse `[registry/]repository(:tag|@sha256:digest)`; raise UsageError if invalid."""
    text = reference.strip()
    host = registry_id = None
    first, slash, rest = text.partition("/")
    if slash and ("." in first or ":" in first):
        match = _ECR_HOST.match(first)
        if not match:
            raise UsageError(f"image {reference!r}: {first!r} is not an ECR registry")
        host, registry_id, text = first, match.group(1), rest
    tag = digest = None
    if "@" in text:
        text, _, digest = text.partition("@")
        if not _DIGEST.match(digest):
            raise UsageError(f"image {reference!r}: digest must look like sha256:<64 hex digits>")
    elif ":" in text:
        text, _, tag = text.rpartition(":")
        if not TAG.match(tag):
            raise UsageError(f"image {reference!r}: invalid tag {tag!r}")
    else:
        raise UsageError(f"image {reference!r} needs a :tag or an @sha256: digest")
    return ImageRef(
        repository=checked_repository(text, reference),
        tag=tag,
        digest=digest,
        registry_id=registry_id,
        host=host,
    )


def checked_repository(name: str, context: str | None = None) -> str:
    if not _REPOSITORY.match(name):
        raise UsageError(f"image {context or name!r}: invalid repository name {name!r}")
    return name


def digest_ref(repository: str, digest: str | None, tag: str | None) -> ImageRef:
    """An ImageRef from --repository and --image-digest / --image-tag options."""
    checked_repository(repository)
    if digest is not None and not _DIGEST.match(digest):
        raise UsageError(f"--image-digest {digest!r} must look like sha256:<64 hex digits>")
    if tag is not None and not TAG.match(tag):
        raise UsageError(f"--image-tag {tag!r} is not a valid tag")
    return ImageRef(repository=repository, tag=tag, digest=digest)


def check_region(ref: ImageRef, region: str | None) -> None:
    """UsageError when a full ECR URI names another region than the clients use.

    The digest is looked up in the clients' region, so an image of another
    region would be looked up in the wrong registry.
    """
    if ref.region and region and ref.region != region:
        raise UsageError(
            f"image {ref}: the registry is in {ref.region} but the AWS region is {region}; "
            f"pass --region {ref.region} or an image of {region}"
        )


def resolve(ecr: Any, ref: ImageRef) -> Image:
    """Look the image up in ECR and pin it by digest; NotFoundError if absent."""
    check_region(ref, getattr(getattr(ecr, "meta", None), "region_name", None))
    registry = {"registryId": ref.registry_id} if ref.registry_id else {}
    image_id = {"imageDigest": ref.digest} if ref.digest else {"imageTag": ref.tag}
    try:
        details = ecr.describe_images(
            repositoryName=ref.repository, imageIds=[image_id], **registry
        )["imageDetails"]
    except ClientError as error:
        if error_code(error) == "ImageNotFoundException":
            raise NotFoundError(f"image {ref} not found in ECR") from None
        if error_code(error) == "RepositoryNotFoundException":
            raise NotFoundError(f"ECR repository {ref.repository!r} not found") from None
        raise
    if not details:
        raise NotFoundError(f"image {ref} not found in ECR")
    detail = details[0]
    if ref.host:
        base = f"{ref.host}/{ref.repository}"
    else:
        repositories = ecr.describe_repositories(repositoryNames=[ref.repository], **registry)
        base = repositories["repositories"][0]["repositoryUri"]
    return Image(
        repository=ref.repository,
        registry_id=detail["registryId"],
        digest=detail["imageDigest"],
        uri=f"{base}@{detail['imageDigest']}",
        tags=tuple(detail.get("imageTags", ())),
    )
