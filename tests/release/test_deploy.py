"""deploy: the checks before anything is registered, the roll-out it follows to the end,
and what an interrupt reports; moto for the real API calls, a scripted deployment
controller and botocore's Stubber for what moto never does."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from finlex_release.errors import Exit
from support.release_fakes import (
    ALARMS,
    DEPLOYMENT_ALARMS,
    READ_ONLY,
    REGION,
    FakeClock,
    alarm_stop,
    clients_with,
    controller,
    deploy_argv,
    described,
    family_revision,
    push_image,
    revisions,
)

ORIGINAL_SIGTERM = signal.getsignal(signal.SIGTERM)


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
    (line,) = result.err.strip().splitlines()
    assert ecs.rollback is not None
    assert alarm_stop(line) == {
        "deployment": ecs.started[0],
        "alarms": ecs.alarmed,
        "revision": family_revision(ecs.rollback["taskDefinition"]),
        "rollback": ecs.rollback["id"],
    }
    assert ecs.alarmed == DEPLOYMENT_ALARMS
    assert "circuit breaker" not in line


def test_deploy_names_only_the_deployment_alarms_that_fired(stack, run) -> None:
    push_image(tag="1.0.1")
    fired = ["finlex-p99-latency"]
    ecs = controller(["IN_PROGRESS", "ALARM_ROLLED_BACK", "COMPLETED"], ALARMS, fired)
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert alarm_stop(result.err)["alarms"] == ecs.alarmed == fired


def test_deploy_reports_an_alarm_failure_without_rollback(stack, run) -> None:
    push_image(tag="1.0.1")
    alarms = {**ALARMS, "rollback": False}
    ecs = controller(["IN_PROGRESS", "ALARM_FAILED"], alarms, ["finlex-target-5xx-rate"])
    result = run(*deploy_argv("finlex:1.0.1"), clients=clients_with(ecs))
    assert result.code == Exit.FAILED
    assert alarm_stop(result.err) == {
        "deployment": ecs.started[0],
        "alarms": ecs.alarmed,
        "revision": None,  # no rollback: ECS did not roll it back
        "rollback": None,
    }
    assert ecs.rollback is None


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
