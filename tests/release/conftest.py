"""Fixtures for the release tool: fake AWS credentials, moto, an ECS service
behind an ALB, and a way to run the CLI in-process."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from finlex_release import cli, command
from finlex_release.waiting import Clock, Progress
from support.release_fakes import REGION, FakeClock, Pushed, isolate_aws, push_image


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    isolate_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    isolate_aws(monkeypatch, tmp_path)


@pytest.fixture
def moto(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


@dataclass
class Result:
    code: int
    out: str
    progress: str
    err: str


Runner = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run the CLI in-process: run(*argv, clients=..., clock=..., today=..., cwd=...)."""

    def invoke(
        *argv: str,
        clients: Callable[[str], Any] | None = None,
        clock: Clock | None = None,
        today: dt.date | None = None,
        cwd: Any = None,
    ) -> Result:
        out, progress = io.StringIO(), io.StringIO()
        context = command.Context(
            clients=clients, clock=clock or FakeClock(), out=out, progress=Progress(progress)
        )
        if today is not None:
            context.today = lambda: today
        if cwd is not None:
            context.cwd = lambda: cwd
        capsys.readouterr()
        try:
            code = cli.main(list(argv), context)
        except SystemExit as stop:  # argparse
            code = int(stop.code or 0)
        return Result(code, out.getvalue(), progress.getvalue(), capsys.readouterr().err)

    return invoke


@dataclass
class Stack:
    cluster: str
    service: str
    task_definition: str  # ARN of revision 1
    target_group: str
    image: Pushed  # the image the service runs now


@pytest.fixture
def stack(moto: None, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """An ECS Fargate service behind an ALB target group, as infra/ builds it,
    steady: its tasks run and its one deployment is COMPLETED."""
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
    running = push_image(tag="1.0.0")
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for n, z in ((1, "a"), (2, "b"))
    ]
    group = ec2.create_security_group(GroupName="finlex", Description="finlex", VpcId=vpc)
    elbv2 = boto3.client("elbv2", region_name=REGION)
    alb = elbv2.create_load_balancer(
        Name="finlex", Subnets=subnets, SecurityGroups=[group["GroupId"]]
    )["LoadBalancers"][0]
    target_group = elbv2.create_target_group(
        Name="finlex",
        Protocol="HTTP",
        Port=5000,
        VpcId=vpc,
        TargetType="ip",
        HealthCheckPath="/healthz",
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )
    elbv2.register_targets(TargetGroupArn=target_group, Targets=[{"Id": "10.0.1.10", "Port": 5000}])

    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="finlex")
    task_definition = ecs.register_task_definition(
        family="finlex",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn="arn:aws:iam::123456789012:role/finlex-execution",
        taskRoleArn="arn:aws:iam::123456789012:role/finlex-task",
        containerDefinitions=[
            {
                "name": "finlex",
                "image": f"{running.uri}:{running.tag}",
                "essential": True,
                "portMappings": [{"containerPort": 5000, "protocol": "tcp"}],
                "environment": [{"name": "FINLEX_LOG_LEVEL", "value": "info"}],
                "readonlyRootFilesystem": True,
                "stopTimeout": 30,
                "healthCheck": {
                    "command": ["CMD", "bash", "/app/healthcheck.sh"],
                    "interval": 10,
                    "retries": 3,
                },
            },
            {"name": "sidecar", "image": "public.ecr.aws/example/sidecar:1", "memory": 64},
        ],
        tags=[{"key": "app", "value": "finlex"}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="finlex",
        serviceName="finlex",
        taskDefinition=task_definition,
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group["GroupId"]]}
        },
        loadBalancers=[
            {"targetGroupArn": target_group, "containerName": "finlex", "containerPort": 5000}
        ],
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    return Stack("finlex", "finlex", task_definition, target_group, running)
