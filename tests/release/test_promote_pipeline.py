"""deploy.yml's two new steps as the job runs them: the real Makefile and the real
finlex-release against moto's server and a finlex look-alike on loopback.

`make --silent verify-record ... >> "$GITHUB_OUTPUT"` must print key=value lines
and nothing else (GitHub rejects any other line in that file), and `make promote`
of a digest staging never verified must stop in one line with nothing registered.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from release_fakes import REGION, manifest, moto_server
from release_lookalike import COMMIT, live

from finlex_release import record
from makedb import make_env
from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]
TAG = COMMIT


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # moto's server runs in this process: its services start with their one task running
    # and their deployment COMPLETED, as a steady service is.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
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


def pushed(endpoint: str, tag: str) -> tuple[str, str]:
    """An image pushed and recorded as tested, as make push leaves it: (uri, digest)."""
    ecr = client(endpoint, "ecr")
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName="finlex", imageTagMutability="IMMUTABLE")
    body = manifest(tag)
    image = ecr.put_image(repositoryName="finlex", imageManifest=body, imageTag=tag)
    ecr.put_image(repositoryName="finlex", imageManifest=body, imageTag=f"tested-{tag}")
    uri = ecr.describe_repositories(repositoryNames=["finlex"])["repositories"][0]
    return str(uri["repositoryUri"]), str(image["image"]["imageId"]["imageDigest"])


def service_running(endpoint: str, name: str, image: str) -> None:
    """The service finlex/`name` on a revision whose container runs `image`; infra/ names the
    container as the service (var.name), as make's TASK_CONTAINER default does."""
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
        containerDefinitions=[{"name": name, "image": image, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="finlex",
        serviceName=name,
        taskDefinition=revision,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}
        },
    )


def make(endpoint: str, *argv: str) -> subprocess.CompletedProcess[str]:
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
    command = ["make", "--no-print-directory", "-o", ".venv/.dev-installed", *argv]
    command += [f"RELEASE={release}", f"AWS_REGION={REGION}"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_the_record_step_prints_only_github_output_lines(endpoint: str) -> None:
    uri, digest = pushed(endpoint, TAG)
    service_running(endpoint, "finlex-staging", f"{uri}@{digest}")
    with live() as url:
        result = make(
            endpoint,
            "--silent",
            "verify-record",
            f"TAG={TAG}",
            "DEPLOY_ENVIRONMENT=staging",
            "SERVICE=finlex-staging",
            f"URL={url}",
            "ALLOW_HTTP=1",
            f"REVISION={COMMIT}",
            "PASSED=probe",
        )
    assert result.returncode == 0, result.stderr
    name = record.parameter_name("staging", digest)
    assert result.stdout == f"digest={digest}\nrecord={name}\n"
    stored = client(endpoint, "ssm").get_parameter(Name=name)["Parameter"]["Value"]
    assert f'"commit":"{COMMIT}"' in stored
    assert "verified: " in result.stderr  # verify's result, with the progress


def test_make_promote_of_an_unverified_digest_stops_with_nothing_registered(
    endpoint: str,
) -> None:
    uri, running = pushed(endpoint, "1" * 40)
    service_running(endpoint, "finlex", f"{uri}@{running}")
    _, digest = pushed(endpoint, TAG)  # tested, in the repository, never verified in staging
    ecs = client(endpoint, "ecs")
    before = ecs.list_task_definitions()["taskDefinitionArns"]
    result = make(endpoint, "promote", f"DIGEST={digest}", "DEPLOY_ENVIRONMENT=production")
    assert result.returncode == 2, result.stdout + result.stderr  # make's code for any failure
    lines = [line for line in result.stderr.splitlines() if line.startswith("finlex-release")]
    assert lines == [
        f"finlex-release promote: finlex@{digest} has no staging verification record "
        f"({record.parameter_name('staging', digest)}): deploy and verify it in staging first "
        "(finlex-release verify-record)"
    ]
    assert "Error 1" in result.stderr  # the tool's own exit code
    assert ecs.list_task_definitions()["taskDefinitionArns"] == before
    service = ecs.describe_services(cluster="finlex", services=["finlex"])["services"][0]
    assert service["taskDefinition"] == before[0]
