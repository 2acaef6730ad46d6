"""Roll a revision out and follow that deployment by its ID until ECS says
COMPLETED, FAILED or rolled back; deploy, rollback and promote all end here.

Following the deployment we started, not "the service is stable", is what
keeps a pipeline from reporting success after the circuit breaker rolled back.

A deploy never overlaps another: while a deployment of the service is in
progress it refuses, or with `--wait` waits for it to end (`idle_service`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, TextIO

from finlex_release import targets
from finlex_release.errors import ReleaseError, WaitTimeoutError
from finlex_release.service import (
    busy,
    counts,
    deployment_alarms,
    describe_service,
    revision_name,
)
from finlex_release.waiting import Clock, Progress, duration, ticks

DEFAULT_TIMEOUT = 30 * 60.0
DEFAULT_INTERVAL = 15.0
_ALARM_REASON = re.compile(r"alarm\(s\)\s+(.+?)\s+(?:is|are)\s+in\s+ALARM", re.IGNORECASE)


@dataclass(frozen=True)
class InFlight:
    """A service update this tool sent and has not seen finish."""

    cluster: str
    service: str
    task_definition: str
    deployment_id: str | None = None  # None: UpdateService sent, answer not seen

    def describe(self) -> str:
        where = f"{self.cluster}/{self.service}"
        show = f"finlex-release status --cluster {self.cluster} --service {self.service}"
        undo = f"finlex-release rollback --cluster {self.cluster} --service {self.service}"
        name = revision_name(self.task_definition)
        if self.deployment_id is None:
            what = f"the update of {where} to {name} was sent and may have started a deployment"
        else:
            what = (
                f"deployment {self.deployment_id} of {name} on {where} is still in progress "
                "(ECS carries on without this tool)"
            )
        return f"{what}; show it with `{show}`, undo it with `{undo}`"


@dataclass
class Follow:
    """How to wait for a deployment and where to report."""

    timeout: float = DEFAULT_TIMEOUT
    interval: float = DEFAULT_INTERVAL
    clock: Clock = field(default_factory=Clock)
    progress: Progress = field(default_factory=Progress)
    # Set while a deployment this tool started is unfinished (for interrupts).
    in_flight: InFlight | None = None


# --- no overlap --------------------------------------------------------------


def _busy_text(deployment: dict[str, Any]) -> str:
    revision = revision_name(str(deployment.get("taskDefinition", "")))
    return f"deployment {deployment.get('id')} of {revision}"


def _state(deployment: dict[str, Any]) -> str:
    return str(deployment.get("rolloutState") or "IN_PROGRESS")


def idle_service(
    ecs: Any, cluster: str, service: str, svc: dict[str, Any], wait: Follow | None
) -> dict[str, Any]:
    """`svc` (or its newer description) once no deployment is in progress.

    Without `wait`, a deployment in progress is a ReleaseError; with it, the
    service is polled until the deployment ends or `wait.timeout` passes.
    """
    found = busy(svc)
    if found is None:
        return svc
    where = f"{cluster}/{service}"
    if wait is None:
        raise ReleaseError(
            f"{_busy_text(found)} is {_state(found)} on {where}; a deploy never overlaps "
            "another: wait for it (--wait) or see "
            f"`finlex-release status --cluster {cluster} --service {service}`"
        )
    for elapsed in ticks(wait.timeout, wait.interval, wait.clock):
        if elapsed > 0:
            svc = describe_service(ecs, cluster, service)
            now = busy(svc)
            if now is None:
                return svc
            found = now
        wait.progress(f"waiting for {_busy_text(found)} ({_state(found)}) on {where}", elapsed)
    raise WaitTimeoutError(
        f"{_busy_text(found)} still {_state(found)} after {duration(wait.timeout)} on {where}; "
        "nothing was deployed"
    )


# --- roll out ----------------------------------------------------------------


def roll_out(
    ecs: Any,
    cluster: str,
    service: str,
    task_definition: str,
    previous: str,
    wait: Follow,
    out: TextIO,
    elbv2: Any | None,
) -> None:
    """Update the service to `task_definition`, follow that deployment to COMPLETED,
    report target health; `wait.in_flight` names it meanwhile."""
    wait.in_flight = InFlight(cluster, service, task_definition)
    updated = ecs.update_service(cluster=cluster, service=service, taskDefinition=task_definition)
    started = _started(updated["service"], task_definition)
    deployment_id = str(started["id"])
    wait.in_flight = InFlight(cluster, service, task_definition, deployment_id)
    wait.progress(
        f"deployment {deployment_id} of {revision_name(task_definition)} started on "
        f"{cluster}/{service}; following it for up to {duration(wait.timeout)}"
    )
    follow(
        ecs,
        cluster,
        service,
        deployment_id,
        previous=previous,
        wait=wait,
        started_at=started.get("createdAt"),
    )
    wait.in_flight = None
    _report_targets(elbv2, describe_service(ecs, cluster, service), wait.progress)
    print(
        f"{cluster}/{service}: deployment {deployment_id} of {task_definition} COMPLETED",
        file=out,
    )


def _started(svc: dict[str, Any], task_definition: str) -> dict[str, Any]:
    deployments: list[dict[str, Any]] = svc.get("deployments", [])
    for deployment in deployments:
        primary = deployment.get("status") == "PRIMARY"
        if primary and deployment["taskDefinition"] == task_definition:
            return deployment
    raise ReleaseError(f"ECS started no deployment of {task_definition}")


def _report_targets(elbv2: Any | None, svc: dict[str, Any], progress: Progress) -> None:
    groups = targets.groups(svc)
    if elbv2 is None or not groups:
        return
    for line in targets.lines(targets.health(elbv2, groups)):
        progress(line)


# --- follow ------------------------------------------------------------------


def follow(
    ecs: Any,
    cluster: str,
    service: str,
    deployment_id: str,
    *,
    previous: str,
    wait: Follow,
    started_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Poll the service until deployment `deployment_id` completes.

    Raise ReleaseError when it fails or is replaced by another PRIMARY
    deployment (the circuit breaker's rollback to `previous`), and
    WaitTimeoutError when `wait.timeout` passes first. A PRIMARY deployment
    created before ours (`started_at`) while ours is not listed yet is a stale
    read of ECS's eventually consistent API, not a rollback: keep polling.
    """
    seen_events: set[str] | None = None
    news: list[str] = []  # messages of the events that appeared while following
    last = "no answer yet"
    for elapsed in ticks(wait.timeout, wait.interval, wait.clock):
        svc = describe_service(ecs, cluster, service)
        events = svc.get("events", [])
        if seen_events is not None:
            for event in reversed(events):
                if event.get("id") not in seen_events:
                    news.append(str(event.get("message", "")))
                    wait.progress(f"event: {event.get('message', '')}", elapsed)
        seen_events = {event.get("id", "") for event in events}
        alarms = deployment_alarms(svc)

        deployments: list[dict[str, Any]] = svc.get("deployments", [])
        ours = next((item for item in deployments if item.get("id") == deployment_id), None)
        primary = next((item for item in deployments if item.get("status") == "PRIMARY"), None)
        if primary is not None and primary.get("id") != deployment_id:
            created = primary.get("createdAt")
            if ours is None and started_at and created and created < started_at:
                last = f"not listed yet (PRIMARY is still {primary.get('id')})"
                wait.progress(f"deployment {deployment_id} {last}", elapsed)
                continue
            triggered = _alarm_names(ours, news, alarms)
            raise _replaced(deployment_id, ours, primary, previous, triggered)
        if ours is None:
            raise ReleaseError(f"deployment {deployment_id} is gone and no deployment is PRIMARY")
        state = ours.get("rolloutState", "IN_PROGRESS")
        reason = ours.get("rolloutStateReason", "")
        last = f"{state}: {counts(ours)}"
        detail = f" ({reason})" if reason else ""
        wait.progress(f"deployment {deployment_id} {last}{detail}", elapsed)
        if state == "COMPLETED":
            return ours
        if state == "FAILED":
            triggered = _alarm_names(ours, news, alarms)
            if triggered:
                raise ReleaseError(
                    f"deployment {deployment_id} FAILED because deployment alarm(s) "
                    f"{', '.join(triggered)} went into ALARM; ECS did not roll it back "
                    f"(rollback off): {reason or 'no reason given'}"
                )
            raise ReleaseError(f"deployment {deployment_id} FAILED: {reason or 'no reason given'}")
    raise WaitTimeoutError(
        f"deployment {deployment_id} not COMPLETED after {duration(wait.timeout)} (last: {last}); "
        "ECS may still finish or roll it back: check `finlex-release status`"
    )


def _alarm_names(ours: dict[str, Any] | None, news: list[str], alarms: dict[str, Any]) -> list[str]:
    """The deployment alarms that stopped our deployment, if an alarm did.

    Read from our deployment's rolloutStateReason and the service events that
    appeared while following: the configured alarm names they mention, else
    the names in "... alarm(s) NAME[, NAME] are in ALARM state", else, when
    they speak of an alarm at all, "one of <the configured names>".
    """
    texts = [str(ours.get("rolloutStateReason", ""))] if ours else []
    texts += news
    configured = [str(name) for name in alarms.get("alarmNames", [])]
    named = [name for name in configured if any(name in text for text in texts)]
    if named:
        return named
    for text in texts:
        match = _ALARM_REASON.search(text)
        if match:
            return [name.strip() for name in re.split(r",\s*|\s+and\s+", match.group(1))]
    if configured and any("alarm" in text.lower() for text in texts):
        return [f"one of {', '.join(configured)}"]  # an alarm, not named in ECS's words
    return []


def _replaced(
    deployment_id: str,
    ours: dict[str, Any] | None,
    primary: dict[str, Any],
    previous: str,
    triggered: list[str] | None = None,
) -> ReleaseError:
    now = revision_name(primary["taskDefinition"])
    why = ""
    if ours is not None and ours.get("rolloutStateReason"):
        why = f" ({ours.get('rolloutState')}: {ours['rolloutStateReason']})"
    if triggered:
        return ReleaseError(
            f"deployment {deployment_id} was rolled back by ECS because deployment alarm(s) "
            f"{', '.join(triggered)} went into ALARM; the service returned to {now} "
            f"(deployment {primary.get('id')}){why}"
        )
    if primary["taskDefinition"] == previous:
        return ReleaseError(
            f"deployment {deployment_id} was rolled back by the circuit breaker to {now}{why}"
        )
    return ReleaseError(
        f"deployment {deployment_id} was replaced by deployment {primary.get('id')} of {now}{why}"
    )
