"""`make push` pushes only the image the tests ran, for the task's CPU, and
is re-runnable: ECR tags are immutable, so it asks ECR first.

The real Makefile and the real finlex-release run against moto's server; only
`docker` is a stand-in (release_fakes.fake_docker), which holds one local
image, "pushes" its manifest into moto's ECR and logs the commands it gets.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from release_fakes import CONFIG_DIGEST, REGION, FakeDocker, fake_docker, manifest, moto_server

from makedb import make_env, without_make_errors
from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]
OTHER_ID = "sha256:" + "d" * 64
TAG = "0123456789abcdef0123456789abcdef01234567"
RECORD = f"tested-{TAG}"


@pytest.fixture
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fixed test credentials
    )


@pytest.fixture
def ecr(endpoint: str) -> Any:
    ecr = client(endpoint, "ecr")
    ecr.create_repository(repositoryName="finlex", imageTagMutability="IMMUTABLE")
    return ecr


def service_on(endpoint: str, architecture: str) -> None:
    """The ECS service finlex/finlex, its tasks on `architecture` (as infra/ makes it)."""
    ec2 = client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="t", Description="t", VpcId=vpc)["GroupId"]
    ecs = client(endpoint, "ecs")
    ecs.create_cluster(clusterName="finlex")
    revision = ecs.register_task_definition(
        family="finlex",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        runtimePlatform={"cpuArchitecture": architecture, "operatingSystemFamily": "LINUX"},
        containerDefinitions=[{"name": "finlex", "image": "finlex:0", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="finlex",
        serviceName="finlex",
        taskDefinition=revision,
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}
        },
    )


def tags_of(ecr: Any, digest: str) -> list[str]:
    details = ecr.describe_images(repositoryName="finlex", imageIds=[{"imageDigest": digest}])
    return sorted(details["imageDetails"][0].get("imageTags", []))


def held(ecr: Any, tag: str, *, tested: bool, config: str = CONFIG_DIGEST) -> str:
    """ECR holds `tag` from an earlier push; `tested`: with that run's test record."""
    body = manifest("earlier", config=config)
    digest = ecr.put_image(repositoryName="finlex", imageManifest=body, imageTag=tag)
    if tested:
        ecr.put_image(repositoryName="finlex", imageManifest=body, imageTag=f"tested-{tag}")
    return str(digest["image"]["imageId"]["imageDigest"])


def make(
    endpoint: str, docker: FakeDocker, *goals: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    release = Path(sys.executable).parent / "finlex-release"
    require_tool("make")
    assert release.exists(), "finlex-release is not installed next to this interpreter"
    env = {
        **make_env("AWS_"),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    argv = ["make", "--no-print-directory", "-o", ".venv/.dev-installed", *goals]
    argv += [f"DOCKER={docker.path}", f"RELEASE={release}", f"AWS_REGION={REGION}"]
    argv += [f"{k}={v}" for k, v in {"TAG": TAG, **variables}.items()]
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def make_push(
    endpoint: str, docker: FakeDocker, **variables: str
) -> subprocess.CompletedProcess[str]:
    return make(endpoint, docker, "push", **{"IMAGE_ID": CONFIG_DIGEST, **variables})


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The tool's one line saying why it refused (progress lines aside)."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("finlex-release")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_absent_tag_is_pushed_recorded_as_tested_and_logged_out(
    endpoint: str, ecr: Any, tmp_path: Path
) -> None:
    docker = fake_docker(tmp_path, CONFIG_DIGEST)
    result = make_push(endpoint, docker)
    assert result.returncode == 0, result.stderr
    commands = docker.commands("login", "push", "logout")
    assert commands[0].startswith("login --username AWS --password-stdin"), commands
    assert commands[1].startswith("push "), commands
    assert commands[1].endswith(f"/finlex:{TAG}"), commands
    assert commands[2].startswith("logout "), commands  # no credentials left in docker's config
    digest = ecr.batch_get_image(repositoryName="finlex", imageIds=[{"imageTag": TAG}])
    pushed = digest["images"][0]["imageId"]["imageDigest"]
    assert tags_of(ecr, pushed) == sorted([TAG, RECORD])
    assert f"pushed {pushed}" in result.stdout


def test_same_image_is_not_pushed_again(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    digest = held(ecr, TAG, tested=False)  # this run tested this very image: recorded now
    docker = fake_docker(tmp_path, CONFIG_DIGEST)
    result = make_push(endpoint, docker)
    assert result.returncode == 0, result.stderr
    assert "nothing to push" in result.stderr
    assert not docker.commands("push", "login")
    assert tags_of(ecr, digest) == sorted([TAG, RECORD])


def test_another_build_under_the_tag_fails_clearly(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    digest = held(ecr, TAG, tested=True)
    docker = fake_docker(tmp_path, OTHER_ID)
    result = make_push(endpoint, docker, IMAGE_ID=OTHER_ID)
    assert result.returncode != 0
    line = refusal(result)
    assert f"ECR holds another build as finlex:{TAG} ({digest})" in line
    assert "immutable" in line
    assert not docker.commands("push")


def test_keep_existing_refuses_a_digest_no_run_tested(
    endpoint: str, ecr: Any, tmp_path: Path
) -> None:
    """Issue 19: the deploy must never ship ECR's digest when no run tested it."""
    digest = held(ecr, TAG, tested=False)
    docker = fake_docker(tmp_path, OTHER_ID)
    result = make_push(endpoint, docker, IMAGE_ID=OTHER_ID, KEEP_EXISTING="1")
    assert result.returncode != 0, result.stdout
    line = refusal(result)
    assert f"ECR holds another build as finlex:{TAG} ({digest})" in line
    assert f"no run recorded testing it (no tag {RECORD})" in line
    assert not docker.commands("push", "login")
    assert tags_of(ecr, digest) == [TAG]  # nothing changed


def test_keep_existing_keeps_a_digest_an_earlier_run_tested(
    endpoint: str, ecr: Any, tmp_path: Path
) -> None:
    digest = held(ecr, TAG, tested=True)
    docker = fake_docker(tmp_path, OTHER_ID)
    result = make_push(endpoint, docker, IMAGE_ID=OTHER_ID, KEEP_EXISTING="1")
    assert result.returncode == 0, result.stderr
    assert f"kept {digest}" in result.stdout
    assert f"an earlier run tested it ({RECORD})" in result.stderr
    assert not docker.commands("push", "login")


def test_a_record_on_another_digest_proves_nothing(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    digest = held(ecr, TAG, tested=False)
    other = ecr.put_image(
        repositoryName="finlex", imageManifest=manifest("another"), imageTag=RECORD
    )["image"]["imageId"]["imageDigest"]
    docker = fake_docker(tmp_path, OTHER_ID)
    result = make_push(endpoint, docker, IMAGE_ID=OTHER_ID, KEEP_EXISTING="1")
    assert result.returncode != 0
    assert f"{RECORD} names {other}, not {digest}" in refusal(result)


def test_only_the_tested_image_is_pushed(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    docker = fake_docker(tmp_path, OTHER_ID)
    result = make_push(endpoint, docker, IMAGE_ID=CONFIG_DIGEST)
    assert result.returncode != 0
    line = refusal(result)
    assert f"finlex:{TAG} is {OTHER_ID}, but the tested image is {CONFIG_DIGEST}" in line
    assert not docker.commands("push", "login")


def test_push_needs_the_id_of_the_tested_image(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    docker = fake_docker(tmp_path, CONFIG_DIGEST)
    result = make(endpoint, docker, "push")
    assert result.returncode != 0
    assert "set IMAGE_ID" in result.stderr
    assert not docker.commands("push", "login")


def test_an_arm64_image_is_not_pushed_for_x86_64_tasks(
    endpoint: str, ecr: Any, tmp_path: Path
) -> None:
    """Issue 19: an image built on an arm64 laptop never reaches X86_64 tasks."""
    service_on(endpoint, "X86_64")
    docker = fake_docker(tmp_path, CONFIG_DIGEST, architecture="arm64")
    result = make_push(endpoint, docker)
    assert result.returncode != 0, result.stdout
    line = refusal(result)
    assert f"finlex:{TAG} is linux/arm64" in line
    assert "but the tasks of finlex/finlex run X86_64 (finlex:1)" in line
    assert not docker.commands("push", "login")


def test_the_services_architecture_wins_over_the_default(
    endpoint: str, ecr: Any, tmp_path: Path
) -> None:
    service_on(endpoint, "ARM64")
    docker = fake_docker(tmp_path, CONFIG_DIGEST, architecture="arm64")
    result = make_push(endpoint, docker)  # CPU_ARCHITECTURE defaults to X86_64
    assert result.returncode == 0, result.stderr
    assert "linux/arm64 for the ARM64 tasks of finlex/finlex (finlex:1)" in result.stderr


def test_before_the_service_exists_cpu_architecture_decides(
    endpoint: str, ecr: Any, tmp_path: Path
) -> None:
    docker = fake_docker(tmp_path, CONFIG_DIGEST, architecture="amd64")
    refused = make_push(endpoint, docker, CPU_ARCHITECTURE="ARM64")
    assert refused.returncode != 0
    assert "is linux/amd64, but the tasks run ARM64 (--cpu-architecture" in refusal(refused)
    assert not docker.commands("push")
    result = make_push(endpoint, docker)
    assert result.returncode == 0, result.stderr
    assert "no service finlex/finlex yet" in result.stderr


def test_no_local_image_says_what_to_run(endpoint: str, ecr: Any, tmp_path: Path) -> None:
    docker = fake_docker(tmp_path, None)
    result = make_push(endpoint, docker)
    assert result.returncode != 0
    assert f"no local image finlex:{TAG}: run make image TAG={TAG} first" in refusal(result)


def image_handoff(tmp_path: Path, image_id: str, *args: str) -> subprocess.CompletedProcess[str]:
    docker = fake_docker(tmp_path, image_id)
    argv = ["make", "--no-print-directory", *args, f"DOCKER={docker.path}", f"TAG={TAG}"]
    argv.append(f"IMAGE_ARCHIVE={tmp_path / 'image.tar'}")
    return subprocess.run(
        argv, cwd=REPO, env=make_env(), capture_output=True, text=True, timeout=60, check=False
    )


def test_image_save_prints_the_id_for_github_output(tmp_path: Path) -> None:
    result = image_handoff(tmp_path, CONFIG_DIGEST, "--silent", "image-save")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"image-id={CONFIG_DIGEST}\n"


def test_image_load_accepts_the_image_ci_tested(tmp_path: Path) -> None:
    result = image_handoff(tmp_path, CONFIG_DIGEST, "image-load", f"IMAGE_ID={CONFIG_DIGEST}")
    assert result.returncode == 0, result.stderr
    assert "the image CI tested" in result.stdout


def test_image_load_refuses_another_image(tmp_path: Path) -> None:
    result = image_handoff(tmp_path, OTHER_ID, "image-load", f"IMAGE_ID={CONFIG_DIGEST}")
    assert result.returncode != 0
    assert without_make_errors(result.stderr) == [
        f"make image-load: finlex:{TAG} is {OTHER_ID}, but CI tested {CONFIG_DIGEST}"
    ]
    assert "Error 1" in result.stderr


def test_image_load_needs_the_id(tmp_path: Path) -> None:
    result = image_handoff(tmp_path, CONFIG_DIGEST, "image-load")
    assert result.returncode != 0
    assert "set IMAGE_ID" in result.stderr
