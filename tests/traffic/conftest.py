"""Fixtures of the traffic rehearsal's tests: the spec Terraform renders, the image, the tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from traffic import spec as specs
from traffic.tasks import Docker

from support.prerequisites import docker_client, require, require_tool

INFRA = Path(__file__).resolve().parents[2] / "infra"


@pytest.fixture(scope="session")
def terraform_spec() -> specs.Spec:
    """The spec read from infra/ through real Terraform and the emulator (~20 s, once)."""
    from rehearse.terraform import MissingError, find_mirror, find_terraform

    try:
        find_mirror(find_terraform())
    except MissingError as error:
        require(False, f"no Terraform or provider mirror: {error}")
    return specs.from_terraform(INFRA)


@pytest.fixture(scope="session")
def haproxy_binary() -> str:
    return require_tool("haproxy")


@pytest.fixture(scope="session")
def image() -> tuple[str, str]:
    """(docker client, image): FINLEX_TEST_IMAGE (.ci/run builds it), else finlex:latest."""
    client = docker_client()
    name = os.environ.get("FINLEX_TEST_IMAGE") or "finlex:latest"
    engine = subprocess.run(
        [client, "image", "inspect", "--format", "{{.Id}}", name],
        capture_output=True,
        text=True,
        check=False,
    )
    require(
        engine.returncode == 0,
        f"no image {name} in a running Docker engine (make image; or set FINLEX_TEST_IMAGE)",
    )
    return client, name


@pytest.fixture
def docker(image: tuple[str, str]) -> Docker:
    client, name = image
    return Docker(client, name, f"finlex-traffic-test-{os.getpid()}")
