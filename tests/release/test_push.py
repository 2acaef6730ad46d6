"""finlex-release push, in-process, against moto's server and a docker stand-in:
its one-line refusals, and the logout after a push that failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from finlex_release.errors import Exit
from support.release_fakes import CONFIG_DIGEST, REGION, FakeDocker, fake_docker, moto_server

TAG = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def ecr(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with moto_server() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)  # the docker stand-in reads it too
        client = boto3.client("ecr", region_name=REGION)
        client.create_repository(repositoryName="finlex", imageTagMutability="IMMUTABLE")
        yield client


def push(run, docker: FakeDocker, *extra: str, tag: str = TAG, tested: str = CONFIG_DIGEST):
    argv = ["push", "--image", f"finlex:{tag}", "--repository", "finlex", "--tag", tag]
    argv += ["--tested-id", tested, "--cpu-architecture", "X86_64"]
    return run(*argv, "--docker", str(docker.path), *extra)


def test_a_failed_push_still_logs_out(ecr, run, tmp_path: Path) -> None:
    docker = fake_docker(tmp_path, CONFIG_DIGEST)
    docker.set(push_fails=True)
    result = push(run, docker)
    assert result.code == Exit.FAILED
    assert result.err == (
        "finlex-release push: docker push failed: "
        "denied: not authorized to perform: ecr:InitiateLayerUpload\n"
    )
    commands = [line.split()[0] for line in docker.commands("login", "tag", "push", "logout")]
    assert commands == ["login", "tag", "push", "logout"]
    assert "no credentials left behind" in result.progress
    listed = ecr.list_images(repositoryName="finlex")["imageIds"]
    assert listed == []  # nothing pushed, nothing recorded


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("tested-abc", "starts with 'tested-': such tags are test records"),
        ("a" * 122, "is longer than 121 characters: its test record"),
        ("x;y", "is not a valid tag"),
    ],
)
def test_a_tag_that_cannot_carry_a_record_is_refused(ecr, run, tmp_path, tag, message) -> None:
    docker = fake_docker(tmp_path, CONFIG_DIGEST)
    result = push(run, docker, tag=tag)
    assert result.code == Exit.USAGE
    assert message in result.err
    assert len(result.err.splitlines()) == 1
    assert docker.commands() == []  # refused before docker ran


def test_the_tested_id_must_be_an_image_id(ecr, run, tmp_path: Path) -> None:
    docker = fake_docker(tmp_path, CONFIG_DIGEST)
    result = push(run, docker, tested="")
    assert result.code == Exit.USAGE
    assert "--tested-id '' must be the ID of the image the tests ran" in result.err
    assert docker.commands() == []


def test_something_must_name_the_tasks_cpu(ecr, run, tmp_path: Path) -> None:
    docker = fake_docker(tmp_path, CONFIG_DIGEST)
    argv = ["push", "--image", f"finlex:{TAG}", "--repository", "finlex", "--tag", TAG]
    result = run(*argv, "--tested-id", CONFIG_DIGEST, "--docker", str(docker.path))
    assert result.code == Exit.USAGE
    assert "nothing says which CPU the tasks run on" in result.err
    assert not docker.commands("push", "login")
