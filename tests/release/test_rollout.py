"""The roll-out: no overlap with a deployment in progress (--wait), then following our
deployment by its ID until ECS says COMPLETED, FAILED or rolled back."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import Stubber

from finlex_release import rollout
from finlex_release.errors import Exit, ReleaseError, WaitTimeoutError
from finlex_release.waiting import Progress
from support.release_fakes import (
    ALARMS,
    DEPLOYMENT_ALARMS,
    REGION,
    FakeClock,
    alarm_stop,
    clients_with,
    controller,
    deploy_argv,
    push_image,
    revision,
    revisions,
)


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
    wait = rollout.Follow(timeout=timeout, interval=interval, clock=clock, progress=Progress())
    with stub:
        try:
            followed = rollout.follow(
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
    with pytest.raises(ReleaseError) as caught:
        follow_with(aws_env, [IN_PROGRESS, rolled_back], started_at=NOW)
    # ECS's reason names no alarm: the line names the configured ones as candidates.
    assert alarm_stop(caught.value.message)["alarms"] == [
        f"one of {DEPLOYMENT_ALARMS[0]}",
        *DEPLOYMENT_ALARMS[1:],
    ]


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
