"""Test doubles for the release tool: a fake clock, moto-backed images, and an
ECS deployment controller on top of moto (which has none)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from finlex_release.waiting import Clock
from localhost import free_port
from support import REPO_ROOT, TESTS
from support.makedb import make_env
from support.prerequisites import require_tool

REGION = "eu-west-1"
HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"  # moto's ECR registry in REGION
_CREDENTIAL_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


def isolate_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No credentials from this machine: empty config files, no IMDS."""
    for name in _CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_REGION", raising=False)


class FakeClock(Clock):
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        super().__init__(monotonic=lambda: self.now, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


CONFIG_DIGEST = "sha256:" + "c" * 64  # the config digest (local image ID) of manifest()


def manifest(seed: str, config: str = CONFIG_DIGEST) -> str:
    """A valid Docker v2 manifest; the seed makes its digest unique, `config`
    is its config digest (what Docker reports as the local image's ID)."""
    layer = seed.encode().hex().ljust(64, "0")[:64]
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 7023,
                "digest": config,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 32654,
                    "digest": "sha256:" + layer,
                }
            ],
        }
    )


@dataclass
class Pushed:
    repository: str
    uri: str  # repository URI, no tag
    tag: str
    digest: str


def push_image(repository: str = "finlex", tag: str = "1.0.1", *, tested: bool = True) -> Pushed:
    """Put an image into moto's ECR as `repository:tag`; `tested`: with the
    record `finlex-release push` writes for an image a run tested (tested-<tag>)."""
    ecr = boto3.client("ecr", region_name=REGION)
    try:
        uri = ecr.create_repository(repositoryName=repository)["repository"]["repositoryUri"]
    except ecr.exceptions.RepositoryAlreadyExistsException:
        uri = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0][
            "repositoryUri"
        ]
    image = ecr.put_image(repositoryName=repository, imageManifest=manifest(tag), imageTag=tag)
    if tested:
        ecr.put_image(
            repositoryName=repository, imageManifest=manifest(tag), imageTag=f"tested-{tag}"
        )
    return Pushed(repository, uri, tag, image["image"]["imageId"]["imageDigest"])


@contextmanager
def moto_server() -> Iterator[str]:
    """moto as a server on loopback, for processes the test starts (make, docker stand-ins)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # moto keeps one backend per process: start from an empty account.
    reset = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def run_make(
    *argv: str, docker: FakeDocker | None = None, endpoint: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real Makefile in this process's environment for make (makedb.make_env) without
    the caller's AWS settings, the venv taken as
    installed, `docker` as DOCKER; with `endpoint`, against moto's server there,
    with moto's credentials and this venv's finlex-release as RELEASE."""
    require_tool("make")
    env = make_env("AWS_", AWS_EC2_METADATA_DISABLED="true")
    command = ["make", "--no-print-directory", "-o", ".venv/.dev-installed", *argv]
    if docker is not None:
        command.append(f"DOCKER={docker.path}")
    if endpoint is not None:
        release = Path(sys.executable).parent / "finlex-release"
        assert release.exists(), "finlex-release is not installed next to this interpreter"
        env |= {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        command += [f"RELEASE={release}", f"AWS_REGION={REGION}"]
    return subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def server_client(endpoint: str, service: str) -> Any:
    """A boto3 client of moto's server at `endpoint`, with moto's fixed credentials."""
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fixed test credentials
    )


def fargate_service(
    endpoint: str,
    *,
    name: str = "finlex",
    image: str = "finlex:0",
    container: str = "finlex",
    desired: int = 1,
    architecture: str | None = None,
) -> None:
    """The ECS service finlex/`name` on Fargate in a VPC of its own, its `container`
    running `image` (on `architecture`, when given), as infra/ makes it."""
    ec2 = server_client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="t", Description="t", VpcId=vpc)["GroupId"]
    ecs = server_client(endpoint, "ecs")
    ecs.create_cluster(clusterName="finlex")
    platform = (
        {"runtimePlatform": {"cpuArchitecture": architecture, "operatingSystemFamily": "LINUX"}}
        if architecture
        else {}
    )
    revision = ecs.register_task_definition(
        family="finlex",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": container, "image": image, "essential": True}],
        **platform,
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="finlex",
        serviceName=name,
        taskDefinition=revision,
        desiredCount=desired,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}
        },
    )


_FAKE_DOCKER = """\
#!{python}
# A docker stand-in: answers from {state}, logs each command to {log}.
# `push` puts a manifest whose config digest is the local image ID into the
# ECR at AWS_ENDPOINT_URL, as docker's push would.
import json, sys
import boto3
sys.path[:0] = [{tests!r}, {tools!r}]
from support.release_fakes import manifest

args = sys.argv[1:]
state = json.load(open({state!r}))
with open({log!r}, "a") as log:
    log.write(" ".join(args) + "\\n")
if args[:2] == ["image", "inspect"]:
    if not state["id"]:
        sys.exit("Error: No such image: " + args[-1])
    if "--format" in args:
        print(state["id"])
    else:
        print(json.dumps([{{"Id": state["id"], "Os": state["os"],
                            "Architecture": state["architecture"]}}]))
elif args[0] == "login":
    sys.stdin.read()
    if state.get("login_fails"):
        sys.exit("Error response from daemon: login attempt failed")
    print("Login Succeeded")
elif args[0] == "logout":
    print("Removing login credentials for " + args[1])
elif args[0] == "push":
    if state.get("push_fails"):
        sys.exit("denied: not authorized to perform: ecr:InitiateLayerUpload")
    host, _, name = args[1].partition("/")
    repository, _, tag = name.rpartition(":")
    ecr = boto3.client("ecr", region_name={region!r})
    body = manifest(state["id"], config=state["id"])
    image = ecr.put_image(repositoryName=repository, imageManifest=body, imageTag=tag)
    print(tag + ": digest: " + image["image"]["imageId"]["imageDigest"] + " size: 528")
"""


@dataclass
class FakeDocker:
    """A `docker` stand-in holding one local image (`image_id`, linux/`architecture`)."""

    path: Path
    log: Path
    state: Path

    def set(self, **values: Any) -> None:
        self.state.write_text(json.dumps({**json.loads(self.state.read_text()), **values}))

    def commands(self, *prefixes: str) -> list[str]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [line for line in lines if not prefixes or line.startswith(prefixes)]


def fake_docker(folder: Path, image_id: str | None, architecture: str = "amd64") -> FakeDocker:
    folder.mkdir(parents=True, exist_ok=True)
    docker = FakeDocker(folder / "docker", folder / "docker.log", folder / "docker-state.json")
    docker.state.write_text(json.dumps({"id": image_id, "os": "linux"}))
    docker.set(architecture=architecture)
    docker.path.write_text(
        _FAKE_DOCKER.format(
            python=sys.executable,
            state=str(docker.state),
            log=str(docker.log),
            tests=str(TESTS),
            tools=str(REPO_ROOT / "tools"),
            region=REGION,
        ),
        encoding="utf-8",
    )
    docker.path.chmod(0o755)
    return docker


class EcsController:
    """A moto ECS client plus the deployment controller that moto lacks.

    moto never starts tasks and never rolls deployments; this wrapper plays
    ECS's part on top of moto's real task definitions and services. After
    update_service, each describe_services call applies the next step of
    `script` (the last step repeats): IN_PROGRESS, COMPLETED, FAILED (no
    rollback), ROLLED_BACK (circuit breaker puts the previous revision back),
    ROLLED_BACK_GONE (the same, and our failed deployment is no longer
    listed), ALARM_ROLLED_BACK (a deployment alarm went into ALARM and ECS
    rolled back) and ALARM_FAILED (the same with rollback off).

    A rollback is a new deployment: new ID, new createdAt, as real ECS makes
    it. `alarms` is the service's deploymentConfiguration.alarms, which moto
    does not keep; `firing` the ones of them an ALARM_* step puts in ALARM
    (all of them unless given).

    What it did is kept as data for the tests to assert on: `started` (the IDs
    of the deployments update_service made), `alarmed` (the alarms it put in
    ALARM) and `rollback` (the deployment it rolled back to), never only as
    the text of its reasons and events.
    """

    def __init__(
        self,
        real: Any,
        script: list[str],
        alarms: dict[str, Any] | None = None,
        firing: list[str] | None = None,
    ) -> None:
        self.real = real
        self.script = list(script)
        self.alarms = alarms
        self.firing = firing
        self.started: list[str] = []
        self.alarmed: list[str] = []
        self.rollback: dict[str, Any] | None = None
        self.deployments: list[dict[str, Any]] | None = None
        self.events: list[dict[str, Any]] = []
        self.updates: list[str] = []
        self.polls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def update_service(self, **kwargs: Any) -> dict[str, Any]:
        before = self.real.describe_services(
            cluster=kwargs["cluster"], services=[kwargs["service"]]
        )["services"][0]
        response = self.real.update_service(**kwargs)
        self.updates.append(kwargs["taskDefinition"])
        now = dt.datetime.now(dt.UTC)
        started = {
            "id": f"ecs-svc/{1000 + len(self.updates)}",
            "status": "PRIMARY",
            "taskDefinition": kwargs["taskDefinition"],
            "desiredCount": before["desiredCount"],
            "pendingCount": 0,
            "runningCount": 0,
            "failedTasks": 0,
            "createdAt": now,
            "updatedAt": now,
            "launchType": "FARGATE",
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": "ECS deployment in progress.",
        }
        old = [{**item, "status": "ACTIVE"} for item in before["deployments"][:1]]
        old[0]["rolloutState"] = "COMPLETED"
        old[0]["runningCount"] = before["desiredCount"]
        self.deployments = [started, *old]
        self.started.append(started["id"])
        response["service"]["deployments"] = copy.deepcopy(self.deployments)
        return response

    def describe_services(self, **kwargs: Any) -> dict[str, Any]:
        response = self.real.describe_services(**kwargs)
        if self.alarms is not None:
            for svc in response["services"]:
                configuration = svc.setdefault("deploymentConfiguration", {})
                configuration["alarms"] = copy.deepcopy(self.alarms)
        if self.deployments is None or not response["services"]:
            return response
        self.polls += 1
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        self._apply(step)
        response["services"][0]["deployments"] = copy.deepcopy(self.deployments)
        response["services"][0]["events"] = copy.deepcopy(self.events)
        return response

    def _event(self, message: str) -> None:
        now = dt.datetime.now(dt.UTC)
        event = {"id": f"event-{len(self.events)}", "createdAt": now, "message": message}
        self.events.insert(0, event)

    def _apply(self, step: str) -> None:
        assert self.deployments is not None
        ours = self.deployments[0]
        if step == "IN_PROGRESS":
            ours["pendingCount"], ours["runningCount"] = 1, 1
        elif step == "COMPLETED":
            ours.update(runningCount=ours["desiredCount"], pendingCount=0, rolloutState="COMPLETED")
            ours["rolloutStateReason"] = f"ECS deployment {ours['id']} completed."
            del self.deployments[1:]
            if not self.events:
                self._event("(service finlex) has reached a steady state.")
        elif step == "FAILED":
            ours.update(failedTasks=3, rolloutState="FAILED")
            ours["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
        elif step == "ALARM_FAILED":
            ours.update(rolloutState="FAILED")
            self.alarmed = self._firing()
            ours["rolloutStateReason"] = (
                f"ECS deployment {ours['id']} failed because alarm(s) "
                f"{', '.join(self.alarmed)} are in ALARM state."
            )
            self._event(
                f"(service finlex) (deployment {ours['id']}) deployment failed: alarm detected."
            )
        elif step in {"ROLLED_BACK", "ROLLED_BACK_GONE", "ALARM_ROLLED_BACK"}:
            if ours["status"] == "PRIMARY" and ours["id"] != "ecs-svc/rollback":
                self._roll_back(ours, alarm=step == "ALARM_ROLLED_BACK")
            if step == "ROLLED_BACK_GONE":
                failed = [item for item in self.deployments if item["rolloutState"] == "FAILED"]
                self.deployments[:] = [item for item in self.deployments if item not in failed]

    def _firing(self) -> list[str]:
        configured = list((self.alarms or {}).get("alarmNames", []))
        firing = self.firing if self.firing is not None else configured
        assert firing, "an ALARM step needs an alarm to fire"
        assert set(firing) <= set(configured), "only a configured deployment alarm can fire"
        return list(firing)

    def _roll_back(self, ours: dict[str, Any], *, alarm: bool) -> None:
        assert self.deployments is not None
        previous = self.deployments[1]
        now = dt.datetime.now(dt.UTC)
        if alarm:
            ours.update(status="ACTIVE", rolloutState="FAILED")
            self.alarmed = self._firing()
            ours["rolloutStateReason"] = (
                f"ECS deployment {ours['id']} has been rolled back because alarm(s) "
                f"{', '.join(self.alarmed)} are in ALARM state."
            )
            cause = "alarm detected"
        else:
            ours.update(status="ACTIVE", failedTasks=3, rolloutState="FAILED")
            ours["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
            cause = "tasks failed to start"
        rollback = {
            **previous,
            "id": "ecs-svc/rollback",
            "status": "PRIMARY",
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": "ECS deployment in progress.",
            "createdAt": now,  # ECS makes a rollback a new deployment
            "updatedAt": now,
        }
        self.deployments[:] = [rollback, ours]
        self.rollback = copy.deepcopy(rollback)
        self._event(
            f"(service finlex) (deployment {ours['id']}) deployment failed: "
            f"{cause}. Rolling back to deployment ecs-svc/rollback."
        )


def clients_with(ecs: Any) -> Callable[[str], Any]:
    """A client factory: `ecs` for ECS, plain moto clients for the rest."""

    def make(service: str) -> Any:
        return ecs if service == "ecs" else boto3.client(service, region_name=REGION)

    return make


# --- the ECS service of the `stack` fixture (tests/release/conftest.py) ---------

READ_ONLY = {
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
}
# modules/monitoring's deployment alarms (its output deployment_alarm_names).
DEPLOYMENT_ALARMS = ["finlex-target-5xx-rate", "finlex-p99-latency", "finlex-unhealthy-hosts"]
# A service's deploymentConfiguration.alarms, for EcsController(alarms=...).
ALARMS = {"alarmNames": DEPLOYMENT_ALARMS, "enable": True, "rollback": True}
# deploy's one line when deployment alarms stopped the roll-out (release/README's wording).
ALARM_STOP = re.compile(
    r"deployment (?P<deployment>\S+) (?:was rolled back by ECS|FAILED) because deployment "
    r"alarm\(s\) (?P<alarms>.+?) went into ALARM; "
    r"(?:the service returned to (?P<revision>\S+) \(deployment (?P<rollback>[^)\s]+)\)"
    r"|ECS did not roll it back)"
)


def controller(
    script: list[str] | None = None, alarms: dict | None = None, firing: list[str] | None = None
) -> EcsController:
    """An EcsController on a moto client; without a script, deployments complete at once."""
    return EcsController(
        boto3.client("ecs", region_name=REGION), script or ["COMPLETED"], alarms, firing
    )


def alarm_stop(line: str) -> dict[str, str | list[str] | None]:
    """The fields of deploy's alarm line: deployment, alarms, revision and rollback."""
    found = ALARM_STOP.search(line)
    assert found, f"not a deployment-alarm failure: {line}"
    fields: dict[str, str | list[str] | None] = dict(found.groupdict())
    fields["alarms"] = found["alarms"].split(", ")
    return fields


def family_revision(task_definition_arn: str) -> str:
    """`finlex:1` of `arn:aws:ecs:...:task-definition/finlex:1`."""
    return task_definition_arn.rsplit("/", 1)[-1]


def described(arn: str) -> dict:
    return boto3.client("ecs", region_name=REGION).describe_task_definition(
        taskDefinition=arn, include=["TAGS"]
    )


def deploy_argv(image: str, *extra: str) -> tuple[str, ...]:
    return ("deploy", "--cluster", "finlex", "--service", "finlex", "--image", image, *extra)


def terraform_registers(memory: str, image: str) -> str:
    """What `terraform apply` does to the family: a new revision with other
    settings and the tfvars image tag; the service is left alone."""
    ecs = boto3.client("ecs", region_name=REGION)
    latest = ecs.describe_task_definition(taskDefinition="finlex", include=["TAGS"])
    settings = {k: v for k, v in latest["taskDefinition"].items() if k not in READ_ONLY}
    settings["memory"] = memory
    settings["containerDefinitions"][0]["image"] = image
    settings["containerDefinitions"][0]["environment"] = [
        {"name": "FINLEX_LOG_LEVEL", "value": "warning"}
    ]
    tags = [{"key": "app", "value": "finlex"}, {"key": "managed-by", "value": "terraform"}]
    registered = ecs.register_task_definition(**settings, tags=tags)
    return str(registered["taskDefinition"]["taskDefinitionArn"])


def stray_registers(image: str, family: str = "finlex") -> str:
    """Anyone with RegisterTaskDefinition adds a revision: other settings, another image."""
    ecs = boto3.client("ecs", region_name=REGION)
    latest = ecs.describe_task_definition(taskDefinition="finlex", include=["TAGS"])
    settings = {k: v for k, v in latest["taskDefinition"].items() if k not in READ_ONLY}
    settings["family"] = family
    settings["memory"] = "2048"
    settings["containerDefinitions"][0]["image"] = image
    settings["containerDefinitions"][0]["environment"] = [{"name": "STRAY", "value": "1"}]
    registered = ecs.register_task_definition(**settings)
    return str(registered["taskDefinition"]["taskDefinitionArn"])


def revisions() -> list[str]:
    ecs = boto3.client("ecs", region_name=REGION)
    return ecs.list_task_definitions(familyPrefix="finlex")["taskDefinitionArns"]


def revision(number: int) -> str:
    return f"arn:aws:ecs:eu-west-1:123456789012:task-definition/finlex:{number}"
