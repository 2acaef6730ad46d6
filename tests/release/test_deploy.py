"""deploy, rollback and status: moto for the real API calls, a scripted
deployment controller and botocore's Stubber for what moto never does."""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from release_fakes import REGION, EcsController, FakeClock, clients_with, push_image

from finlex_release import deploy
from finlex_release.errors import Exit, ReleaseError, WaitTimeoutError
from finlex_release.waiting import Progress

ORIGINAL_SIGTERM = signal.getsignal(signal.SIGTERM)
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


ALARMS = {"alarmNames": ["finlex-5xx-rate", "finlex-p99"], "enable": True, "rollback": True}


def controller(script: list[str], alarms: dict | None = None) -> EcsController:
    return EcsController(boto3.client("ecs", region_name=REGION), script, alarms)


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


def revision(number: int) -> str:
    return f"arn:aws:ecs:eu-west-1:123456789012:task-definition/finlex:{number}"


# --- deploy ------------------------------------------------------------------


def test_deploy_completes(stack, run) -> None:
    new = push_image(tag="1.0.1")
    ecs = controller(["IN_PROGRESS", "IN_PROGRESS", "COMPLETED"])
    clock = FakeClock()
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs), clock=clock)
    assert result.code == 0, result.err
    assert ecs.updates == ["arn:aws:ecs:eu-west-1:123456789012:task-definition/finlex:2"]
    assert "deployment ecs-svc/1001 of" in result.out
    assert "COMPLETED" in result.out
    assert clock.sleeps == [15.0, 15.0]  # three polls, the default interval between them
    assert "running 1/2, pending 1" in result.progress
    assert "event: (service finlex) has reached a steady state." in result.progress
    assert "target group finlex: 10.0.1.10:5000 healthy" in result.progress

    old, fresh = described(stack.task_definition), described(ecs.updates[0])
    finlex = fresh["taskDefinition"]["containerDefinitions"][0]
    assert finlex["image"] == f"{new.uri}@{new.digest}"  # pinned by digest, not by tag
    # Everything but the image is what the previous revision had.
    for definition in (old, fresh):
        definition["taskDefinition"]["containerDefinitions"][0].pop("image")
        for key in READ_ONLY:
            definition["taskDefinition"].pop(key, None)
    assert fresh["taskDefinition"] == old["taskDefinition"]
    # The base's tags, plus the revision the service ran before this deploy.
    assert fresh["tags"] == [
        {"key": "app", "value": "finlex"},
        {"key": "finlex:replaces", "value": stack.task_definition},
    ]
    assert "newer than the running" not in result.progress  # the base was the running one


def test_deploy_by_digest_and_full_uri(stack, run) -> None:
    new = push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    result = run(*deploy_argv(f"{new.uri}@{new.digest}"), clients=clients_with(ecs))
    assert result.code == 0, result.err
    image = described(ecs.updates[0])["taskDefinition"]["containerDefinitions"][0]["image"]
    assert image == f"{new.uri}@{new.digest}"


def test_deploy_fails_when_the_circuit_breaker_rolls_back(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["IN_PROGRESS", "ROLLED_BACK", "COMPLETED"])
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert (
        "deployment ecs-svc/1001 was rolled back by the circuit breaker to finlex:1" in result.err
    )
    assert "tasks failed to start" in result.err
    assert "Rolling back to deployment ecs-svc/rollback" in result.progress
    assert "COMPLETED" not in result.out


def test_deploy_fails_when_the_rollback_replaced_our_deployment_from_the_list(stack, run) -> None:
    # ECS lists the rollback (a new deployment, created after ours) and no longer ours.
    push_image(tag="1.0.1")
    ecs = controller(["IN_PROGRESS", "ROLLED_BACK_GONE", "COMPLETED"])
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED, result.err
    assert "ecs-svc/1001 was rolled back by the circuit breaker to finlex:1" in result.err
    assert ecs.polls == 2  # no waiting for a deployment that is gone


def test_deploy_reports_an_alarm_rollback(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["IN_PROGRESS", "ALARM_ROLLED_BACK", "COMPLETED"], alarms=ALARMS)
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert (
        "deployment ecs-svc/1001 was rolled back by ECS because deployment alarm(s) "
        "finlex-5xx-rate, finlex-p99 went into ALARM; the service returned to finlex:1 "
        "(deployment ecs-svc/rollback)"
    ) in result.err
    assert "circuit breaker" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_deploy_reports_an_alarm_failure_without_rollback(stack, run) -> None:
    push_image(tag="1.0.1")
    alarms = {**ALARMS, "alarmNames": ["finlex-5xx-rate"], "rollback": False}
    ecs = controller(["IN_PROGRESS", "ALARM_FAILED"], alarms=alarms)
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert (
        "deployment ecs-svc/1001 FAILED because deployment alarm(s) finlex-5xx-rate went into "
        "ALARM; ECS did not roll it back"
    ) in result.err


@pytest.fixture
def terminal_sigint() -> Iterator[None]:
    """SIGINT as a terminal's Ctrl-C meets it: Python's own handler, whatever an
    earlier test in this process left installed."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize(
    ("raise_signal", "code", "how"),
    [
        (signal.SIGTERM, Exit.TERMINATED, "terminated (SIGTERM)"),
        (signal.SIGINT, Exit.INTERRUPTED, "interrupted (Ctrl-C)"),
    ],
)
@pytest.mark.usefixtures("terminal_sigint")
def test_interrupt_names_the_deployment_in_progress(stack, run, raise_signal, code, how) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["IN_PROGRESS"])
    clock = FakeClock()
    clock.sleep = lambda seconds: signal.raise_signal(raise_signal)
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs), clock=clock)
    assert result.code == code
    assert result.err == (
        f"finlex-release deploy: {how}; deployment ecs-svc/1001 of finlex:2 on finlex/finlex "
        "is still in progress (ECS carries on without this tool); show it with "
        "`finlex-release status --cluster finlex --service finlex`, undo it with "
        "`finlex-release rollback --cluster finlex --service finlex`\n"
    )
    assert signal.getsignal(signal.SIGTERM) == ORIGINAL_SIGTERM  # the CLI's handler is gone


def test_interrupt_before_the_update_says_nothing_was_started(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])

    def interrupted_register(**kwargs: object) -> dict:
        raise KeyboardInterrupt

    ecs.register_task_definition = interrupted_register
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == Exit.INTERRUPTED
    assert "no deployment of this run is in progress" in result.err
    assert ecs.updates == []


def test_deploy_rejects_an_image_of_another_region(stack, run) -> None:
    new = push_image(tag="1.0.1")
    other = new.uri.replace(f".{REGION}.", ".us-east-1.") + ":1.0.1"
    ecs = controller(["COMPLETED"])
    result = run(*deploy_argv(other), clients=clients_with(ecs))
    assert result.code == Exit.USAGE
    assert "the registry is in us-east-1 but the AWS region is eu-west-1" in result.err
    assert "pass --region us-east-1" in result.err
    assert ecs.updates == []


def test_deploy_fails_when_the_deployment_fails(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["IN_PROGRESS", "FAILED"])
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert "deployment ecs-svc/1001 FAILED: ECS deployment circuit breaker" in result.err


def test_deploy_times_out(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["IN_PROGRESS"])
    clock = FakeClock()
    argv = deploy_argv("finlex:1.0.1", "--timeout", "120", "--interval", "30")
    result = run(*argv, clients=clients_with(ecs), clock=clock)
    assert result.code == Exit.TIMEOUT
    assert "not COMPLETED after 2m00s (last: IN_PROGRESS: running 1/2" in result.err
    assert ecs.polls == 5  # at 0, 30, 60, 90 and 120 s
    assert clock.now == 120


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (
            ("--cluster", "nope", "--service", "finlex", "--image", "finlex:1.0.0"),
            4,
            "Cluster not found",
        ),
        (
            ("--cluster", "finlex", "--service", "nope", "--image", "finlex:1.0.0"),
            4,
            "service 'nope' not found in cluster 'finlex'",
        ),
        (
            ("--cluster", "finlex", "--service", "finlex", "--image", "finlex:9.9.9"),
            4,
            "image finlex:9.9.9 not found in ECR",
        ),
        (
            (
                "--cluster",
                "finlex",
                "--service",
                "finlex",
                "--image",
                "finlex:1.0.0",
                "--container-name",
                "web",
            ),
            2,
            "no container 'web' in the task definition (containers: finlex, sidecar)",
        ),
        (("--cluster", "finlex", "--service", "finlex", "--image", "finlex"), 2, "needs a :tag"),
        (("--cluster", "finlex", "--image", "finlex:1.0.0"), 2, "required: --service"),
        (
            ("--cluster", "finlex", "--service", "finlex", "--image", "x:1", "--timeout", "0"),
            2,
            "must be greater than 0",
        ),
        *(
            (
                ("--cluster", "finlex", "--service", "finlex", "--image", "finlex:1.0.0", *opt),
                2,
                message,
            )
            for opt, message in (
                (("--timeout", "inf"), "'inf' is too long: at most 86400 seconds"),
                (("--timeout", "1e999"), "'1e999' is too long"),
                (("--timeout", "nan"), "'nan' must be greater than 0"),
                (("--timeout", "86401"), "'86401' is too long"),
                (("--interval", "1e12"), "'1e12' is too long"),
            )
        ),
    ],
)
def test_deploy_input_errors(stack, run, argv, code, message) -> None:
    ecs = controller(["COMPLETED"])
    result = run("deploy", *argv, clients=clients_with(ecs))
    assert result.code == code
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert ecs.updates == []


def test_deploy_without_credentials(no_credentials, run) -> None:
    result = run(*deploy_argv("finlex:1.0.1"))
    assert result.code == Exit.CREDENTIALS
    assert "no usable AWS credentials" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_expired_token_is_a_credentials_error(aws_env, run) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    stub = Stubber(ecs)
    stub.add_client_error(
        "describe_services", "ExpiredTokenException", "The security token included has expired"
    )
    with stub:
        result = run(*deploy_argv("finlex:1.0.1"), clients=lambda _: ecs)
    assert result.code == Exit.CREDENTIALS
    assert "The security token included has expired" in result.err


def test_other_aws_errors_are_exit_6(aws_env, run) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    stub = Stubber(ecs)
    stub.add_client_error("describe_services", "ServerException", "internal error")
    with stub:
        result = run(*deploy_argv("finlex:1.0.1"), clients=lambda _: ecs)
    assert result.code == Exit.AWS
    assert "ServerException: internal error" in result.err


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


def test_deploy_bases_the_revision_on_the_services_own_not_the_newest(stack, run) -> None:
    """Issue 19: a stray revision, the family's newest ACTIVE one, is not the base."""
    assert stray_registers("public.ecr.aws/someone/else:1") == revision(2)
    new = push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates == [revision(3)]
    fresh, running = described(revision(3)), described(stack.task_definition)
    definition = fresh["taskDefinition"]
    assert definition["memory"] == running["taskDefinition"]["memory"] == "512"
    finlex = definition["containerDefinitions"][0]
    assert finlex["image"] == f"{new.uri}@{new.digest}"
    assert finlex["environment"] == [{"name": "FINLEX_LOG_LEVEL", "value": "info"}]
    assert fresh["tags"] == [
        {"key": "app", "value": "finlex"},
        {"key": "finlex:replaces", "value": stack.task_definition},
    ]
    assert (
        "finlex:2 is newer than the running finlex:1 and is not deployed (registered "
        "outside this tool, e.g. by Terraform); to deploy its settings, pass --base finlex:2"
    ) in result.progress


def test_deploy_with_base_takes_terraforms_newer_revision(stack, run) -> None:
    terraform = terraform_registers("1024", f"{stack.image.uri}:0.1.0")  # an old tfvars tag
    assert terraform == revision(2)
    new = push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    result = run(*deploy_argv("finlex:1.0.1", "--base", "finlex:2"), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates == [revision(3)]
    assert "base finlex:2 (--base), not the running finlex:1" in result.progress

    fresh = described(revision(3))
    definition = fresh["taskDefinition"]
    assert definition["memory"] == "1024"  # Terraform's setting reaches the service
    finlex, sidecar = definition["containerDefinitions"]
    assert finlex["image"] == f"{new.uri}@{new.digest}"  # with the new image, not 0.1.0
    assert finlex["environment"] == [{"name": "FINLEX_LOG_LEVEL", "value": "warning"}]
    assert sidecar["image"] == "public.ecr.aws/example/sidecar:1"
    assert fresh["tags"] == [
        {"key": "app", "value": "finlex"},
        {"key": "managed-by", "value": "terraform"},
        {"key": "finlex:replaces", "value": stack.task_definition},  # what ran, not the base
    ]


def test_deploy_refuses_a_base_of_another_family(stack, run) -> None:
    other = stray_registers(f"{stack.image.uri}:1.0.0", family="finlex-worker")
    push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    before = revisions()
    argv = deploy_argv("finlex:1.0.1", "--base", "finlex-worker:1")
    result = run(*argv, clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert result.err == (
        f"finlex-release deploy: base {other.rsplit('/', 1)[-1]} is not a revision of "
        "family finlex (the service's); refusing to deploy from it\n"
    )
    assert (revisions(), ecs.updates) == (before, [])  # nothing registered, nothing updated


def test_deploy_refuses_a_base_whose_container_uses_another_repository(stack, run) -> None:
    assert stray_registers("public.ecr.aws/someone/else:1") == revision(2)
    new = push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    result = run(*deploy_argv("finlex:1.0.1", "--base", "finlex:2"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert result.err == (
        "finlex-release deploy: base finlex:2: container finlex runs "
        f"public.ecr.aws/someone/else:1, not an image of {new.uri}; refusing to deploy from it\n"
    )
    assert (len(revisions()), ecs.updates) == (2, [])


def test_deploy_refuses_while_another_deployment_is_in_progress(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["IN_PROGRESS"])
    ecs.deployments = [
        {
            "id": "ecs-svc/777",
            "status": "PRIMARY",
            "taskDefinition": stack.task_definition,
            "rolloutState": "IN_PROGRESS",
            "desiredCount": 2,
            "runningCount": 1,
            "pendingCount": 1,
            "failedTasks": 0,
        }
    ]
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert result.err == (
        "finlex-release deploy: deployment ecs-svc/777 of finlex:1 is IN_PROGRESS on "
        "finlex/finlex; a deploy never overlaps another: wait for it (--wait) or see "
        "`finlex-release status --cluster finlex --service finlex`\n"
    )
    assert (len(revisions()), ecs.updates) == (1, [])


def test_deploy_waits_for_the_deployment_in_progress_with_wait(stack, run) -> None:
    push_image(tag="1.0.1")
    # The other deployment: in progress, in progress, completed; then ours completes.
    ecs = controller(["IN_PROGRESS", "IN_PROGRESS", "COMPLETED", "COMPLETED"])
    ecs.deployments = [
        {
            "id": "ecs-svc/777",
            "status": "PRIMARY",
            "taskDefinition": stack.task_definition,
            "rolloutState": "IN_PROGRESS",
            "desiredCount": 2,
            "runningCount": 0,
            "pendingCount": 2,
            "failedTasks": 0,
        }
    ]
    clock = FakeClock()
    argv = deploy_argv("finlex:1.0.1", "--wait", "--interval", "10")
    result = run(*argv, clients=clients_with(ecs), clock=clock)
    assert result.code == 0, result.err
    assert "waiting for deployment ecs-svc/777 of finlex:1 (IN_PROGRESS)" in result.progress
    assert ecs.updates == [revision(2)]
    assert clock.sleeps[:2] == [10.0, 10.0]  # two polls found it busy, the third idle


def test_deploy_wait_gives_up_at_the_timeout(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["IN_PROGRESS"])
    ecs.deployments = [
        {"id": "ecs-svc/777", "status": "PRIMARY", "taskDefinition": stack.task_definition,
         "rolloutState": "IN_PROGRESS"},
        {"id": "ecs-svc/776", "status": "ACTIVE", "taskDefinition": stack.task_definition,
         "rolloutState": "COMPLETED"},
    ]  # fmt: skip
    argv = deploy_argv("finlex:1.0.1", "--wait", "--timeout", "60", "--interval", "30")
    result = run(*argv, clients=clients_with(ecs), clock=FakeClock())
    assert result.code == Exit.TIMEOUT
    assert "deployment ecs-svc/777 of finlex:1 still IN_PROGRESS after 1m00s" in result.err
    assert (len(revisions()), ecs.updates) == (1, [])


def test_deploy_refuses_an_image_no_run_tested(stack, run) -> None:
    pushed = push_image(tag="1.0.1", tested=False)
    ecs = controller(["COMPLETED"])
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert result.err == (
        f"finlex-release deploy: image {pushed.uri}@{pushed.digest} carries no test record "
        "(no tag tested-1.0.1, nor any tested-* tag): deploy only what a run tested "
        "(finlex-release push records it)\n"
    )
    assert (len(revisions()), ecs.updates) == (1, [])


def test_replaces_tag_fits_the_ecs_tag_value_limit() -> None:
    arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/{}:12"
    assert deploy.replaces_tag(arn.format("finlex")) == {
        "key": "finlex:replaces",
        "value": arn.format("finlex"),
    }
    long_family = "f" * 240  # families may have up to 255 characters
    assert len(arn.format(long_family)) > 256
    assert deploy.replaces_tag(arn.format(long_family)) == {
        "key": "finlex:replaces",
        "value": f"{long_family}:12",
    }
    assert deploy.replaces_tag(arn.format("f" * 255)) is None


# --- follow, with botocore's Stubber -----------------------------------------

NEW = "arn:aws:ecs:eu-west-1:123456789012:task-definition/finlex:8"
OLD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/finlex:7"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def deployment(ident: str, status: str, task_definition: str, rollout: str, **counts: int) -> dict:
    return {
        "id": ident,
        "status": status,
        "taskDefinition": task_definition,
        "desiredCount": 2,
        "runningCount": counts.get("running", 0),
        "pendingCount": counts.get("pending", 0),
        "failedTasks": counts.get("failed", 0),
        "createdAt": NOW,
        "updatedAt": NOW,
        "rolloutState": rollout,
        "rolloutStateReason": f"{ident} {rollout.lower()}",
    }


def service(*deployments: dict) -> dict:
    return {
        "services": [
            {
                "serviceName": "finlex",
                "status": "ACTIVE",
                "taskDefinition": deployments[0]["taskDefinition"],
                "deployments": list(deployments),
                "events": [],
            }
        ],
        "failures": [],
    }


IN_PROGRESS = service(
    deployment("ecs-svc/new", "PRIMARY", NEW, "IN_PROGRESS", running=1, pending=1),
    deployment("ecs-svc/old", "ACTIVE", OLD, "COMPLETED", running=2),
)


def follow_with(
    aws_env, responses: list[dict], timeout: float = 60, interval: float = 15, started_at=None
):
    ecs = boto3.client("ecs", region_name=REGION)
    stub = Stubber(ecs)
    for response in responses:
        stub.add_response("describe_services", response, {"cluster": "c", "services": ["s"]})
    clock = FakeClock()
    wait = deploy.Follow(timeout=timeout, interval=interval, clock=clock, progress=Progress())
    with stub:
        try:
            followed = deploy.follow(
                ecs, "c", "s", "ecs-svc/new", previous=OLD, wait=wait, started_at=started_at
            )
            return followed, clock
        finally:
            stub.assert_no_pending_responses()


def test_follow_completed(aws_env) -> None:
    done = service(deployment("ecs-svc/new", "PRIMARY", NEW, "COMPLETED", running=2))
    result, clock = follow_with(aws_env, [IN_PROGRESS, IN_PROGRESS, done])
    assert result["rolloutState"] == "COMPLETED"
    assert clock.now == 30


def test_follow_failed(aws_env) -> None:
    failed = service(deployment("ecs-svc/new", "PRIMARY", NEW, "FAILED", failed=4))
    with pytest.raises(ReleaseError, match="ecs-svc/new FAILED: ecs-svc/new failed") as caught:
        follow_with(aws_env, [IN_PROGRESS, failed])
    assert caught.value.code == Exit.FAILED


def test_follow_circuit_breaker_rollback(aws_env) -> None:
    rolled_back = service(
        deployment("ecs-svc/rollback", "PRIMARY", OLD, "IN_PROGRESS", running=2),
        deployment("ecs-svc/new", "ACTIVE", NEW, "FAILED", failed=3),
    )
    with pytest.raises(ReleaseError, match="rolled back by the circuit breaker to finlex:7"):
        follow_with(aws_env, [IN_PROGRESS, rolled_back])


def test_follow_rollback_after_our_deployment_is_gone(aws_env) -> None:
    gone = service(deployment("ecs-svc/rollback", "PRIMARY", OLD, "COMPLETED", running=2))
    with pytest.raises(ReleaseError, match="rolled back by the circuit breaker to finlex:7"):
        follow_with(aws_env, [gone])


def test_follow_rollback_listed_alone_after_ours_started(aws_env) -> None:
    # Ours is no longer listed; the PRIMARY one is a rollback ECS created after ours.
    rollback = deployment("ecs-svc/rollback", "PRIMARY", OLD, "IN_PROGRESS", running=1)
    rollback["createdAt"] = NOW + dt.timedelta(minutes=4)
    with pytest.raises(ReleaseError, match="rolled back by the circuit breaker to finlex:7"):
        follow_with(aws_env, [service(rollback)], started_at=NOW)


def test_follow_names_the_alarm_from_the_reason_alone(aws_env) -> None:
    # No alarms configuration read (or names not in it): the reason's own words.
    ours = deployment("ecs-svc/new", "ACTIVE", NEW, "FAILED")
    ours["rolloutStateReason"] = (
        "ECS deployment ecs-svc/new has been rolled back because alarm(s) finlex-5xx-rate, "
        "finlex-unhealthy-hosts are in ALARM state."
    )
    rollback = deployment("ecs-svc/rollback", "PRIMARY", OLD, "IN_PROGRESS")
    rollback["createdAt"] = NOW + dt.timedelta(minutes=4)
    expected = (
        "alarm\\(s\\) finlex-5xx-rate, finlex-unhealthy-hosts went into ALARM; "
        "the service returned to finlex:7"
    )
    with pytest.raises(ReleaseError, match=expected) as caught:
        follow_with(aws_env, [IN_PROGRESS, service(rollback, ours)], started_at=NOW)
    assert caught.value.code == Exit.FAILED


def test_follow_alarm_rollback_in_other_words_still_names_the_configured_alarms(aws_env) -> None:
    ours = deployment("ecs-svc/new", "ACTIVE", NEW, "FAILED")
    ours["rolloutStateReason"] = "ECS deployment ecs-svc/new failed: alarm detected."
    rollback = deployment("ecs-svc/rollback", "PRIMARY", OLD, "IN_PROGRESS")
    rollback["createdAt"] = NOW + dt.timedelta(minutes=4)
    rolled_back = service(rollback, ours)
    rolled_back["services"][0]["deploymentConfiguration"] = {"alarms": ALARMS}
    with pytest.raises(
        ReleaseError, match="alarm\\(s\\) one of finlex-5xx-rate, finlex-p99 went into ALARM"
    ):
        follow_with(aws_env, [IN_PROGRESS, rolled_back], started_at=NOW)


def test_follow_waits_out_a_stale_read(aws_env) -> None:
    stale = deployment("ecs-svc/old", "PRIMARY", OLD, "COMPLETED", running=2)
    stale["createdAt"] = NOW - dt.timedelta(days=1)
    done = service(deployment("ecs-svc/new", "PRIMARY", NEW, "COMPLETED", running=2))
    result, _ = follow_with(aws_env, [service(stale), done], started_at=NOW)
    assert result["id"] == "ecs-svc/new"


def test_follow_replaced_by_another_deployment(aws_env) -> None:
    other = "arn:aws:ecs:eu-west-1:123456789012:task-definition/finlex:9"
    replaced = service(
        deployment("ecs-svc/other", "PRIMARY", other, "IN_PROGRESS"),
        deployment("ecs-svc/new", "ACTIVE", NEW, "IN_PROGRESS"),
    )
    with pytest.raises(ReleaseError, match="replaced by deployment ecs-svc/other of finlex:9"):
        follow_with(aws_env, [replaced])


def test_follow_timeout(aws_env) -> None:
    with pytest.raises(WaitTimeoutError, match="not COMPLETED after 1m00s") as caught:
        follow_with(aws_env, [IN_PROGRESS] * 5)  # at 0, 15, 30, 45 and 60 s
    assert caught.value.code == Exit.TIMEOUT


# --- rollback ----------------------------------------------------------------


def rollback_argv(*extra: str) -> tuple[str, ...]:
    return ("rollback", "--cluster", "finlex", "--service", "finlex", *extra)


def test_rollback_puts_the_previous_revision_back(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    assert run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs)).code == 0
    ecs.deployments = None  # the first deployment is over
    ecs.script = ["IN_PROGRESS", "COMPLETED"]
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates[-1] == stack.task_definition
    assert "finlex:2 replaced finlex:1 (finlex:replaces tag)" in result.progress
    assert "rolling finlex/finlex back from finlex:2 to finlex:1" in result.progress
    assert "COMPLETED" in result.out


def test_rollback_skips_a_terraform_revision_that_never_ran(stack, run) -> None:
    push_image(tag="1.0.1")
    push_image(tag="1.0.2")
    ecs = controller(["COMPLETED"])
    assert run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs)).code == 0  # rev 2
    assert terraform_registers("1024", f"{stack.image.uri}:0.1.0") == revision(3)
    ecs.deployments = None
    assert run(*deploy_argv("finlex:1.0.2"), clients=clients_with(ecs)).code == 0  # rev 4
    assert ecs.updates == [revision(2), revision(4)]
    # rev 4 was based on rev 2, the running one, and replaced it; rev 2's own tag is gone.
    tags = described(revision(4))["tags"]
    assert [t for t in tags if t["key"] == "finlex:replaces"] == [
        {"key": "finlex:replaces", "value": revision(2)}
    ]

    ecs.deployments = None
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates[-1] == revision(2)  # not rev 3, whose image never ran
    assert "rolling finlex/finlex back from finlex:4 to finlex:2" in result.progress
    listed = boto3.client("ecs", region_name=REGION).list_task_definitions(familyPrefix="finlex")
    assert len(listed["taskDefinitionArns"]) == 4  # rolling back registers nothing


def test_rollback_without_the_tag_uses_the_numeric_rule(stack, run) -> None:
    # The service runs a revision this tool did not register (Terraform's).
    terraform = terraform_registers("1024", f"{stack.image.uri}:1.0.0")
    boto3.client("ecs", region_name=REGION).update_service(
        cluster="finlex", service="finlex", taskDefinition=terraform
    )
    ecs = controller(["COMPLETED"])
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates == [stack.task_definition]
    assert (
        "finlex:2 has no finlex:replaces tag (not registered by finlex-release deploy); "
        "falling back to the newest ACTIVE revision older than it: finlex:1" in result.progress
    )


def test_rollback_to_an_inactive_tagged_revision_fails(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    assert run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs)).code == 0
    boto3.client("ecs", region_name=REGION).deregister_task_definition(
        taskDefinition=stack.task_definition
    )
    ecs.deployments = None
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == Exit.NOT_FOUND
    assert len(result.err.strip().splitlines()) == 1
    assert (
        "no ACTIVE rollback target: finlex:1, which finlex:2 replaced (finlex:replaces tag), "
        "is INACTIVE; pass --to family:revision" in result.err
    )
    assert ecs.updates == [revision(2)]  # only the deploy's


def test_rollback_to_a_named_revision(stack, run) -> None:
    push_image(tag="1.0.1")
    push_image(tag="1.0.2")
    ecs = controller(["COMPLETED"])
    for tag in ("1.0.1", "1.0.2"):
        ecs.deployments = None
        assert run(*deploy_argv(f"finlex:{tag}"), clients=clients_with(ecs)).code == 0
    ecs.deployments = None
    result = run(*rollback_argv("--to", "finlex:1"), clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert ecs.updates[-1] == stack.task_definition


def test_rollback_that_fails_exits_1(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["COMPLETED"])
    assert run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs)).code == 0
    ecs.deployments = None
    ecs.script = ["FAILED"]
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert "FAILED" in result.err


def test_rollback_without_an_older_revision(stack, run) -> None:
    ecs = controller(["COMPLETED"])
    result = run(*rollback_argv(), clients=clients_with(ecs))
    assert result.code == Exit.NOT_FOUND
    assert "no ACTIVE revision of finlex older than 1" in result.err
    assert ecs.updates == []


def test_rollback_to_an_unknown_revision(stack, run) -> None:
    ecs = controller(["COMPLETED"])
    result = run(*rollback_argv("--to", "finlex:42"), clients=clients_with(ecs))
    assert result.code == Exit.NOT_FOUND
    assert ecs.updates == []


def test_previous_revision_skips_other_families_and_newer_revisions(aws_env) -> None:
    arns = [
        f"arn:aws:ecs:eu-west-1:123456789012:task-definition/{name}"
        for name in (
            "finlex:3",
            "finlex-worker:4",
            "finlex:5",
            "finlex:1",
        )
    ]
    ecs = boto3.client("ecs", region_name=REGION)
    stub = Stubber(ecs)
    stub.add_response(
        "list_task_definitions",
        {"taskDefinitionArns": arns},
        {"familyPrefix": "finlex", "status": "ACTIVE"},
    )
    with stub:
        assert deploy.previous_revision(ecs, arns[2].replace(":5", ":4")) == arns[0]


# --- status (ELBv2 target health) ---------------------------------------------


def test_status_shows_image_deployments_and_target_health(stack, run) -> None:
    result = run("status", "--cluster", "finlex", "--service", "finlex", "--require-healthy")
    assert result.code == 0, result.err
    assert f"container finlex: {stack.image.uri}:1.0.0" in result.out
    assert "PRIMARY" in result.out
    assert "target group finlex: 10.0.1.10:5000 healthy" in result.out


def test_status_require_healthy_fails_without_targets(stack, run) -> None:
    boto3.client("elbv2", region_name=REGION).deregister_targets(
        TargetGroupArn=stack.target_group, Targets=[{"Id": "10.0.1.10", "Port": 5000}]
    )
    result = run("status", "--cluster", "finlex", "--service", "finlex", "--require-healthy")
    assert result.code == Exit.FAILED
    assert "no load balancer targets registered" in result.err


def test_status_shows_the_deployment_alarms(stack, run) -> None:
    ecs = controller(["COMPLETED"], alarms=ALARMS)
    result = run("status", "--cluster", "finlex", "--service", "finlex", clients=clients_with(ecs))
    assert result.code == 0, result.err
    assert (
        "  deployment alarms: finlex-5xx-rate, finlex-p99 (enabled: yes, rollback: yes)\n"
        in result.out
    )


def test_status_without_deployment_alarms_says_nothing_of_them(stack, run) -> None:
    result = run("status", "--cluster", "finlex", "--service", "finlex")
    assert result.code == 0, result.err
    assert "deployment alarms" not in result.out
