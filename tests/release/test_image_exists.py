"""image-exists, on moto: what `make push` asks before pushing to an IMMUTABLE tag."""

from __future__ import annotations

import pytest

from support.release_fakes import push_image

# release_fakes.manifest() gives every image this config digest (the local image ID).
CONFIG_DIGEST = "sha256:" + "c" * 64
OTHER_ID = "sha256:" + "d" * 64


def test_absent_tag(moto, run) -> None:
    push_image(tag="other")
    result = run("image-exists", "--repository", "finlex", "--tag", "abc123")
    assert result.code == 0, result.err
    assert result.out == "absent\n"
    assert "finlex:abc123 is not in ECR" in result.progress


def test_present_tag_prints_the_manifest_digest(moto, run) -> None:
    pushed = push_image(tag="abc123")
    result = run("image-exists", "--repository", "finlex", "--tag", "abc123")
    assert result.code == 0, result.err
    assert result.out == f"present {pushed.digest}\n"


def test_same_build_by_config_digest(moto, run) -> None:
    pushed = push_image(tag="abc123")
    result = run(
        "image-exists", "--repository", "finlex", "--tag", "abc123", "--local-id", CONFIG_DIGEST
    )
    assert result.code == 0, result.err
    assert result.out == f"same {pushed.digest}\n"


def test_same_build_by_manifest_digest(moto, run) -> None:
    """Docker's containerd image store reports the manifest digest as the image ID."""
    pushed = push_image(tag="abc123")
    result = run(
        "image-exists", "--repository", "finlex", "--tag", "abc123", "--local-id", pushed.digest
    )
    assert result.out == f"same {pushed.digest}\n"


def test_another_build_under_the_tag(moto, run) -> None:
    pushed = push_image(tag="abc123")
    result = run(
        "image-exists", "--repository", "finlex", "--tag", "abc123", "--local-id", OTHER_ID
    )
    assert result.code == 0, result.err
    assert result.out == f"different {pushed.digest}\n"
    assert "another build" in result.progress


def test_missing_repository_is_exit_4(moto, run) -> None:
    result = run("image-exists", "--repository", "nothere", "--tag", "abc123")
    assert result.code == 4
    assert "ECR repository 'nothere' not found" in result.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tag", "bad tag!"], "is not a valid tag"),
        (["--tag", "t", "--local-id", "abc"], "must look like sha256:"),
    ],
)
def test_bad_input_is_exit_2(moto, run, argv, message) -> None:
    result = run("image-exists", "--repository", "finlex", *argv)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err
