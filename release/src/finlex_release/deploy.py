"""deploy and rollback: change the service's task definition, then follow that
deployment by its ID until ECS says COMPLETED, FAILED or rolled back.

Following the deployment we started, not "the service is stable", is what
keeps a pipeline from reporting success after the circuit breaker rolled back.

A deploy copies the revision the service runs: a revision anyone registered
in the family (the newest ACTIVE one) is never its base unless named with
`--base`, which is how Terraform's task-definition changes (cpu, memory,
environment) reach the service on purpose. The base must belong to the
family and its container must use the repository of the image deployed,
and the image must carry a test record (tested.py); otherwise the deploy
refuses, naming what it found, before it registers anything.

A deploy never overlaps another: while a deployment of the service is in
progress it refuses, or with `--wait` waits for it to end.

Each revision a deploy registers is tagged with the revision that ran before
it (REPLACES_TAG), and rollback follows that tag, so it never lands on a
Terraform revision that never ran.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, TextIO

from finlex_release import images, targets, tested
from finlex_release.errors import NotFoundError, ReleaseError, UsageError, WaitTimeoutError
from finlex_release.waiting import Clock, Progress, duration, ticks

DEFAULT_CONTAINER = "finlex"
DEFAULT_TIMEOUT = 30 * 60.0
DEFAULT_INTERVAL = 15.0
# Tag on every revision `deploy` registers: the revision the service ran before.
REPLACES_TAG = "finlex:replaces"
_TAG_VALUE_MAX = 256  # ECS tag values: at most 256 characters
_REVISION = re.compile(r"^(?:arn:[^:]+:ecs:[^:]*:\d*:task-definition/)?([A-Za-z0-9_-]+):(\d+)$")


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
        name = _revision_name(self.task_definition)
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


def describe_service(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    """The service, or NotFoundError; ClusterNotFoundException is translated upstream."""
    response = ecs.describe_services(cluster=cluster, services=[service])
    found: list[dict[str, Any]] = [
        item for item in response.get("services", []) if item.get("status") != "INACTIVE"
    ]
    if not found:
        raise NotFoundError(f"service {service!r} not found in cluster {cluster!r}")
    return found[0]


def registrable(ecs: Any, task_definition: dict[str, Any], tags: list[Any]) -> dict[str, Any]:
    """The arguments that register a copy of `task_definition`.

    Keeps exactly what RegisterTaskDefinition accepts, read from botocore's
    service model, so read-only fields (ARN, revision, status, registeredAt,
    compatibilities, requiresAttributes...) are dropped and new API fields kept.
    """
    accepted = ecs.meta.service_model.operation_model("RegisterTaskDefinition").input_shape.members
    kwargs = {key: copy.deepcopy(val) for key, val in task_definition.items() if key in accepted}
    if tags:
        kwargs["tags"] = copy.deepcopy(tags)
    return kwargs


def container_of(task_definition: dict[str, Any], container: str) -> dict[str, Any]:
    """The definition of `container` in a task definition (or its registration
    arguments); UsageError naming the containers there are."""
    containers: list[dict[str, Any]] = task_definition.get("containerDefinitions", [])
    for definition in containers:
        if definition.get("name") == container:
            return definition
    names = ", ".join(str(item.get("name")) for item in containers) or "none"
    raise UsageError(f"no container {container!r} in the task definition (containers: {names})")


def swap_image(kwargs: dict[str, Any], container: str, image_uri: str) -> str:
    """Point `container` at `image_uri` in place; return the image it had."""
    definition = container_of(kwargs, container)
    previous = str(definition.get("image", ""))
    definition["image"] = image_uri
    return previous


def _repository_uri(image: str) -> str:
    """`host/repository` of an image reference, without its tag or digest."""
    name = image.split("@", 1)[0]
    path, slash, last = name.rpartition("/")
    return f"{path}{slash}{last.split(':', 1)[0]}"


def check_base(
    task_definition: dict[str, Any], family: str, container: str, image: images.Image, why: str
) -> None:
    """ReleaseError unless the base belongs to `family` and its `container`
    runs an image of the repository `image` comes from."""
    name = _revision_name(task_definition["taskDefinitionArn"])
    if task_definition.get("family") != family:
        raise ReleaseError(
            f"base {name} is not a revision of family {family} ({why}); refusing to deploy from it"
        )
    current = str(container_of(task_definition, container).get("image", ""))
    repository = _repository_uri(image.uri)
    if _repository_uri(current) != repository:
        raise ReleaseError(
            f"base {name}: container {container} runs {current or 'no image'}, not an image "
            f"of {repository}; refusing to deploy from it"
        )


def busy(svc: dict[str, Any]) -> dict[str, Any] | None:
    """The deployment in progress on the service, if one is: a PRIMARY deployment
    still IN_PROGRESS, or one that older ACTIVE deployments are still leaving."""
    deployments: list[dict[str, Any]] = svc.get("deployments", [])
    primary = next((item for item in deployments if item.get("status") == "PRIMARY"), None)
    if primary is None:
        return deployments[0] if deployments else None
    if len(deployments) > 1 or primary.get("rolloutState") == "IN_PROGRESS":
        return primary
    return None


def _busy_text(deployment: dict[str, Any]) -> str:
    revision = _revision_name(str(deployment.get("taskDefinition", "")))
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


def _require_ecs_controller(svc: dict[str, Any]) -> None:
    kind = svc.get("deploymentController", {}).get("type", "ECS")
    if kind != "ECS":
        raise UsageError(
            f"service {svc.get('serviceName')!r} uses the {kind} deployment controller; "
            "this tool drives ECS rolling deployments only"
        )


def _started(svc: dict[str, Any], task_definition: str) -> dict[str, Any]:
    deployments: list[dict[str, Any]] = svc.get("deployments", [])
    for deployment in deployments:
        primary = deployment.get("status") == "PRIMARY"
        if primary and deployment["taskDefinition"] == task_definition:
            return deployment
    raise ReleaseError(f"ECS started no deployment of {task_definition}")


def _revision_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _counts(deployment: dict[str, Any]) -> str:
    return (
        f"running {deployment.get('runningCount', 0)}/{deployment.get('desiredCount', 0)}, "
        f"pending {deployment.get('pendingCount', 0)}, "
        f"failed tasks {deployment.get('failedTasks', 0)}"
    )


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
        last = f"{state}: {_counts(ours)}"
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


def deployment_alarms(svc: dict[str, Any]) -> dict[str, Any]:
    """The service's deployment alarms configuration ({} when there is none)."""
    found: dict[str, Any] = svc.get("deploymentConfiguration", {}).get("alarms") or {}
    return found


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
    now = _revision_name(primary["taskDefinition"])
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


def _report_targets(elbv2: Any | None, svc: dict[str, Any], progress: Progress) -> None:
    groups = targets.groups(svc)
    if elbv2 is None or not groups:
        return
    for line in targets.lines(targets.health(elbv2, groups)):
        progress(line)


def replaces_tag(task_definition_arn: str) -> dict[str, str] | None:
    """The REPLACES_TAG that points at `task_definition_arn`.

    The ARN when it fits ECS's tag value limit, else family:revision (both are
    accepted by DescribeTaskDefinition and UpdateService); None when neither fits.
    """
    for value in (task_definition_arn, _revision_name(task_definition_arn)):
        if len(value) <= _TAG_VALUE_MAX:
            return {"key": REPLACES_TAG, "value": value}
    return None


def _with_replaces(tags: list[Any], running: str, progress: Progress) -> list[Any]:
    kept = [tag for tag in tags if tag.get("key") != REPLACES_TAG]
    tag = replaces_tag(running)
    if tag is None:
        progress(
            f"{REPLACES_TAG} tag left off: {_revision_name(running)} is longer than "
            f"{_TAG_VALUE_MAX} characters; a rollback will use the numeric rule or --to"
        )
        return kept
    return [*kept, tag]


def _newer_note(ecs: Any, family: str, base: str, running: str) -> str | None:
    """A progress line when the family has a newer ACTIVE revision than the base,
    which this deploy leaves alone."""
    # Without a revision, DescribeTaskDefinition answers the newest ACTIVE one.
    newest = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    arn = str(newest["taskDefinitionArn"])
    if _split(arn)[1] <= _split(base)[1]:
        return None
    which = "the running" if base == running else "the base"
    return (
        f"{_revision_name(arn)} is newer than {which} {_revision_name(base)} and is not "
        "deployed (registered outside this tool, e.g. by Terraform); to deploy its settings, "
        f"pass --base {_revision_name(arn)}"
    )


def _service_name(service: str) -> str:
    """The name of a service given by name or ARN (.../cluster/name)."""
    return service.rsplit("/", 1)[-1]


def deploy(
    ecs: Any,
    ecr: Any,
    *,
    cluster: str,
    service: str,
    image: images.ImageRef,
    container: str,
    wait: Follow,
    out: TextIO,
    elbv2: Any | None = None,
    base: str | None = None,
    family: str | None = None,
    wait_for_others: bool = False,
) -> None:
    """Register a copy of the service's revision (or `base`) with `image`, roll it
    out, follow it. Every check comes before the registration.

    The new revision is tagged REPLACES_TAG = the revision the service ran.
    """
    if base is not None:
        _split(base)
    svc = describe_service(ecs, cluster, service)
    _require_ecs_controller(svc)
    svc = idle_service(ecs, cluster, service, svc, wait if wait_for_others else None)
    previous = svc["taskDefinition"]
    expected = family or _service_name(service)
    why = "--family" if family else "the service's"
    described = ecs.describe_task_definition(taskDefinition=base or previous, include=["TAGS"])
    definition = described["taskDefinition"]
    base_arn = str(definition["taskDefinitionArn"])
    pinned = images.resolve(ecr, image)
    check_base(definition, expected, container, pinned, why)
    tested.require(pinned, image)
    if base_arn != previous:
        wait.progress(
            f"base {_revision_name(base_arn)} (--base), not the running "
            f"{_revision_name(previous)}: its settings are deployed with the new image"
        )
    note = _newer_note(ecs, expected, base_arn, previous)
    if note:
        wait.progress(note)
    tags = _with_replaces(described.get("tags", []), previous, wait.progress)
    kwargs = registrable(ecs, definition, tags)
    old_image = swap_image(kwargs, container, pinned.uri)
    wait.progress(f"{_revision_name(base_arn)}: container {container} runs {old_image}")
    new = ecs.register_task_definition(**kwargs)["taskDefinition"]["taskDefinitionArn"]
    wait.progress(
        f"registered {_revision_name(new)} with {pinned.uri} "
        f"({REPLACES_TAG} {_revision_name(previous)})"
    )
    _roll_out(ecs, cluster, service, new, previous, wait, out, elbv2)


def _roll_out(
    ecs: Any,
    cluster: str,
    service: str,
    task_definition: str,
    previous: str,
    wait: Follow,
    out: TextIO,
    elbv2: Any | None,
) -> None:
    wait.in_flight = InFlight(cluster, service, task_definition)
    updated = ecs.update_service(cluster=cluster, service=service, taskDefinition=task_definition)
    started = _started(updated["service"], task_definition)
    deployment_id = str(started["id"])
    wait.in_flight = InFlight(cluster, service, task_definition, deployment_id)
    wait.progress(
        f"deployment {deployment_id} of {_revision_name(task_definition)} started on "
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


def _yes(value: object) -> str:
    return "yes" if value else "no"


def _split(task_definition: str) -> tuple[str, int]:
    match = _REVISION.match(task_definition)
    if not match:
        raise UsageError(f"task definition {task_definition!r} is not family:revision or an ARN")
    return match.group(1), int(match.group(2))


def previous_revision(ecs: Any, current: str) -> str:
    """The newest ACTIVE revision of `current`'s family older than `current`."""
    family, revision = _split(current)
    older: list[tuple[int, str]] = []
    for page in ecs.get_paginator("list_task_definitions").paginate(
        familyPrefix=family, status="ACTIVE"
    ):
        for arn in page["taskDefinitionArns"]:
            name, number = _split(arn)
            if name == family and number < revision:
                older.append((number, arn))
    if not older:
        raise NotFoundError(f"no ACTIVE revision of {family} older than {revision} to roll back to")
    return max(older)[1]


def replaced_revision(ecs: Any, current: str, progress: Progress) -> str:
    """Where `rollback` without --to goes from `current`.

    The revision named by `current`'s REPLACES_TAG (what ran before `deploy`
    registered it), which must still be ACTIVE; without the tag, the newest
    ACTIVE revision older than `current` by number.
    """
    described = ecs.describe_task_definition(taskDefinition=current, include=["TAGS"])
    tagged = [tag for tag in described.get("tags", []) if tag.get("key") == REPLACES_TAG]
    if not tagged:
        target = previous_revision(ecs, current)
        progress(
            f"{_revision_name(current)} has no {REPLACES_TAG} tag (not registered by "
            f"finlex-release deploy); falling back to the newest ACTIVE revision older than "
            f"it: {_revision_name(target)}"
        )
        return target
    value = str(tagged[0].get("value", ""))
    found = ecs.describe_task_definition(taskDefinition=value)["taskDefinition"]
    if found.get("status") != "ACTIVE":
        raise NotFoundError(
            f"no ACTIVE rollback target: {_revision_name(value)}, which "
            f"{_revision_name(current)} replaced ({REPLACES_TAG} tag), is "
            f"{found.get('status', 'not ACTIVE')}; pass --to family:revision"
        )
    target = str(found["taskDefinitionArn"])
    progress(f"{_revision_name(current)} replaced {_revision_name(target)} ({REPLACES_TAG} tag)")
    return target


def rollback(
    ecs: Any,
    *,
    cluster: str,
    service: str,
    to: str | None,
    wait: Follow,
    out: TextIO,
    elbv2: Any | None = None,
) -> None:
    """Put back the revision the current one replaced (or the named one), follow that."""
    svc = describe_service(ecs, cluster, service)
    _require_ecs_controller(svc)
    current = svc["taskDefinition"]
    if to is None:
        target = replaced_revision(ecs, current, wait.progress)
    else:
        _split(to)
        described = ecs.describe_task_definition(taskDefinition=to)
        target = described["taskDefinition"]["taskDefinitionArn"]
    wait.progress(
        f"rolling {cluster}/{service} back from {_revision_name(current)} "
        f"to {_revision_name(target)}"
    )
    _roll_out(ecs, cluster, service, target, current, wait, out, elbv2)


def status(
    ecs: Any,
    *,
    cluster: str,
    service: str,
    out: TextIO,
    elbv2: Any | None = None,
    require_healthy: bool = False,
) -> None:
    """Print the service's task definition, images, deployments and target health."""
    svc = describe_service(ecs, cluster, service)
    current = svc["taskDefinition"]
    print(
        f"{cluster}/{service}: {_revision_name(current)}, desired {svc.get('desiredCount', 0)}, "
        f"running {svc.get('runningCount', 0)}, pending {svc.get('pendingCount', 0)}",
        file=out,
    )
    definition = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
    for container in definition.get("containerDefinitions", []):
        print(f"  container {container.get('name')}: {container.get('image')}", file=out)
    alarms = deployment_alarms(svc)
    if alarms:
        names = ", ".join(str(name) for name in alarms.get("alarmNames", [])) or "none"
        print(
            f"  deployment alarms: {names} "
            f"(enabled: {_yes(alarms.get('enable'))}, rollback: {_yes(alarms.get('rollback'))})",
            file=out,
        )
    for deployment in svc.get("deployments", []):
        print(
            f"  deployment {deployment.get('id')} {deployment.get('status')} "
            f"{deployment.get('rolloutState', '-')} "
            f"{_revision_name(deployment['taskDefinition'])}: {_counts(deployment)}",
            file=out,
        )
    found = targets.health(elbv2, targets.groups(svc)) if elbv2 is not None else []
    for line in targets.lines(found):
        print("  " + line, file=out)
    if require_healthy and not found:
        raise ReleaseError(f"{cluster}/{service}: no load balancer targets registered")
    if require_healthy and not targets.all_healthy(found):
        raise ReleaseError(f"{cluster}/{service}: not every load balancer target is healthy")
