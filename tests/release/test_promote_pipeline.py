"""deploy.yml's two new steps as the job runs them: the real Makefile and the real
finlex-release against moto's server and a finlex look-alike on loopback.

`make --silent verify-record ... >> "$GITHUB_OUTPUT"` must print key=value lines
and nothing else (GitHub rejects any other line in that file), and `make promote`
of a digest staging never verified must stop in one line with nothing registered.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator

import pytest

from finlex_release import record
from support.release_fakes import (
    fargate_service,
    manifest,
    moto_server,
    run_make,
    server_client,
)
from support.servers.lookalike import COMMIT, live

TAG = COMMIT


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # moto's server runs in this process: its services start with their one task running
    # and their deployment COMPLETED, as a steady service is.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    with moto_server() as url:
        yield url


def pushed(endpoint: str, tag: str) -> tuple[str, str]:
    """An image pushed and recorded as tested, as make push leaves it: (uri, digest)."""
    ecr = server_client(endpoint, "ecr")
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName="finlex", imageTagMutability="IMMUTABLE")
    body = manifest(tag)
    image = ecr.put_image(repositoryName="finlex", imageManifest=body, imageTag=tag)
    ecr.put_image(repositoryName="finlex", imageManifest=body, imageTag=f"tested-{tag}")
    uri = ecr.describe_repositories(repositoryNames=["finlex"])["repositories"][0]
    return str(uri["repositoryUri"]), str(image["image"]["imageId"]["imageDigest"])


def make(endpoint: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return run_make(*argv, endpoint=endpoint)


def test_the_record_step_prints_only_github_output_lines(endpoint: str) -> None:
    uri, digest = pushed(endpoint, TAG)
    # infra/ names the container as the service (var.name), as make's TASK_CONTAINER does.
    fargate_service(
        endpoint, name="finlex-staging", image=f"{uri}@{digest}", container="finlex-staging"
    )
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
    stored = server_client(endpoint, "ssm").get_parameter(Name=name)["Parameter"]["Value"]
    assert f'"commit":"{COMMIT}"' in stored
    assert "verified: " in result.stderr  # verify's result, with the progress


def test_make_promote_of_an_unverified_digest_stops_with_nothing_registered(
    endpoint: str,
) -> None:
    uri, running = pushed(endpoint, "1" * 40)
    fargate_service(endpoint, name="finlex", image=f"{uri}@{running}")
    _, digest = pushed(endpoint, TAG)  # tested, in the repository, never verified in staging
    ecs = server_client(endpoint, "ecs")
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
