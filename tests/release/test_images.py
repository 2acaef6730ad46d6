"""Image references: parsing, tag to digest, the region of a full ECR URI."""

from __future__ import annotations

import boto3
import pytest

from finlex_release import images
from support.release_fakes import HOST, push_image

DIGEST = "sha256:" + "e" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("finlex:1.0.1", images.ImageRef("finlex", tag="1.0.1")),
        (f"finlex@{DIGEST}", images.ImageRef("finlex", digest=DIGEST)),
        ("team/finlex:abc123", images.ImageRef("team/finlex", tag="abc123")),
        (
            f"{HOST}/finlex:1.0.1",
            images.ImageRef("finlex", tag="1.0.1", registry_id="123456789012", host=HOST),
        ),
        (
            f"{HOST}/finlex@{DIGEST}",
            images.ImageRef("finlex", digest=DIGEST, registry_id="123456789012", host=HOST),
        ),
    ],
)
def test_image_references(text, expected) -> None:
    assert images.parse(text) == expected
    assert str(images.parse(text)) == text


@pytest.mark.parametrize("text", ["finlex", "Finlex:1", "finlex:", "finlex:-x", "a@sha256:12"])
def test_invalid_image_references(text) -> None:
    with pytest.raises(images.UsageError):
        images.parse(text)


def test_tag_resolves_to_digest(moto) -> None:
    pushed = push_image(tag="1.0.1")
    image = images.resolve(boto3.client("ecr"), images.parse("finlex:1.0.1"))
    assert image.digest == pushed.digest
    assert image.uri == f"{pushed.uri}@{pushed.digest}"
    assert set(image.tags) == {"1.0.1", "tested-1.0.1"}  # the tag and its test record


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "us-east-1"),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1"),
    ],
)
def test_an_ecr_uri_of_another_region_is_refused(host, region) -> None:
    ref = images.parse(f"{host}/finlex:1.0.1")
    assert ref.region == region
    images.check_region(ref, region)
    with pytest.raises(images.UsageError, match=f"pass --region {region}"):
        images.check_region(ref, "eu-central-1")
    images.check_region(images.parse("finlex:1.0.1"), "eu-central-1")  # no host: no opinion
