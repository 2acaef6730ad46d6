"""The test record: an ECR tag that says a run tested the image it names.

`finlex-release push` pushes only the image the tests ran (its local ID is
the ID the test job reported), and then tags the very manifest it pushed
with ``tested-<TAG>`` as well. ECR's tags are immutable, so the record can
neither move to another image nor be written twice, and a later run of the
same commit finds it on the digest that ``<TAG>`` names: that is how it
proves an earlier run tested the image ECR holds. Only principals that may
push to the repository can write a record (its repository policy lets the
pipeline's deploy role alone push).

`deploy` refuses an image whose digest carries no record.
"""

from __future__ import annotations

from collections.abc import Iterable

from finlex_release.errors import ReleaseError, UsageError
from finlex_release.images import Image, ImageRef

PREFIX = "tested-"
TAG_LIMIT = 128  # ECR's longest tag
# The longest release tag whose record still fits ECR's limit.
MAX_RELEASE_TAG = TAG_LIMIT - len(PREFIX)


def record_tag(tag: str) -> str:
    """The record of `tag`: tested-<tag>; UsageError for a tag that cannot have one."""
    if tag.startswith(PREFIX):
        raise UsageError(f"tag {tag!r} starts with {PREFIX!r}: such tags are test records")
    if len(tag) > MAX_RELEASE_TAG:
        raise UsageError(
            f"tag {tag!r} is longer than {MAX_RELEASE_TAG} characters: its test record "
            f"{PREFIX}<tag> would exceed ECR's {TAG_LIMIT}"
        )
    return PREFIX + tag


def records(tags: Iterable[str]) -> list[str]:
    """The test records among an image's tags."""
    return sorted(tag for tag in tags if tag.startswith(PREFIX))


def require(image: Image, ref: ImageRef) -> None:
    """ReleaseError unless `image` (what `ref` resolved to) carries a test record."""
    if records(image.tags):
        return
    wanted = f"no tag {PREFIX}{ref.tag}, nor any {PREFIX}* tag" if ref.tag else "no tested-* tag"
    raise ReleaseError(
        f"image {image.uri} carries no test record ({wanted}): deploy only what a run "
        "tested (finlex-release push records it)"
    )
