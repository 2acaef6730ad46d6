"""verify-record, promote and verified on moto: staging is the stack's service
finlex, production a second service of the same family in the same cluster.

Each refusal of promote is tested against a digest that deploy alone would
put into production (tested, in the repository, a valid base): a promotion
that skipped the check would deploy it, and the test would see the change.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from finlex_release import record
from finlex_release.errors import Exit
from support.release_fakes import (
    REGION,
    EcsController,
    Pushed,
    clients_with,
    controller,
    push_image,
)
from support.servers.lookalike import COMMIT, VERSION, live

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = "finlex-production"


@pytest.fixture
def production(stack) -> str:
    """A second service (production) running the stack's revision 1."""
    ecs = boto3.client("ecs", region_name=REGION)
    svc = ecs.describe_services(cluster=stack.cluster, services=[stack.service])["services"][0]
    ecs.create_service(
        cluster=stack.cluster,
        serviceName=PRODUCTION,
        taskDefinition=stack.task_definition,
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration=svc["networkConfiguration"],
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    return PRODUCTION


def snapshot() -> tuple[str, list[str], list[str]]:
    """What a refused promotion must leave as it was: production's revision, the
    family's revisions, and every SSM parameter name."""
    ecs = boto3.client("ecs", region_name=REGION)
    running = ecs.describe_services(cluster="finlex", services=[PRODUCTION])["services"][0]
    revisions = ecs.list_task_definitions(familyPrefix="finlex")["taskDefinitionArns"]
    ssm = boto3.client("ssm", region_name=REGION)
    names = [item["Name"] for item in ssm.describe_parameters().get("Parameters", [])]
    return running["taskDefinition"], revisions, sorted(names)


def deploy_staging(run, image: str) -> None:
    argv = ("deploy", "--cluster", "finlex", "--service", "finlex", "--image", image)
    result = run(*argv, clients=clients_with(controller()))
    assert result.code == 0, result.err


def verify_record(run, url: str, image: str, *extra: str, ecs: EcsController | None = None):
    argv = (
        "verify-record",
        "--environment",
        "staging",
        "--cluster",
        "finlex",
        "--service",
        "finlex",
        "--image",
        image,
        "--url",
        url,
        "--allow-http",
        "--commit",
        COMMIT,
        "--expected-version",
        VERSION,
        "--timeout",
        "1",
        *extra,
    )
    return run(*argv, clients=clients_with(ecs or controller()))


def promote(run, image: str, ecs: EcsController, *extra: str):
    argv = ("promote", "--from", "staging", "--to", "production", "--image", image)
    argv += ("--cluster", "finlex", "--service", PRODUCTION, "--family", "finlex", *extra)
    return run(*argv, clients=clients_with(ecs))


def put_record(pushed: Pushed, **changes: object) -> str:
    """A record written straight into SSM at the name of `pushed`'s digest."""
    fields = {
        "environment": "staging",
        "repository": pushed.repository,
        "digest": pushed.digest,
        "commit": COMMIT,
        "verified_at": "2026-12-01T10:00:00Z",
        "service": "finlex/finlex",
        "task_definition": "finlex:2",
        "url": "https://staging.example.com",
        "checks": list(record.REQUIRED_CHECKS),
        "reported": ["probe"],
        "format": record.RECORD_FORMAT,
        **changes,
    }
    name = record.parameter_name("staging", pushed.digest)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=name, Value=json.dumps(fields), Type="String", Overwrite=True
    )
    return name


def image_of(service: str) -> str:
    ecs = boto3.client("ecs", region_name=REGION)
    arn = ecs.describe_services(cluster="finlex", services=[service])["services"][0][
        "taskDefinition"
    ]
    definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return str(definition["containerDefinitions"][0]["image"])


def refused(result, code: Exit = Exit.FAILED) -> str:
    assert result.code == code, result.out + result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "COMPLETED" not in result.out
    return lines[0]


# --- the whole path ----------------------------------------------------------


def test_staging_verifies_records_and_production_gets_that_digest(stack, production, run) -> None:
    new = push_image(tag="1.0.1")
    deploy_staging(run, "finlex:1.0.1")
    with live() as url:
        result = verify_record(run, url, "finlex:1.0.1", "--passed", "probe, scan-gate")
    assert result.code == 0, result.err
    name = f"/finlex/staging/verified/{new.digest.removeprefix('sha256:')}"
    # Only key=value lines on stdout: deploy.yml appends them to GITHUB_OUTPUT.
    assert result.out.splitlines() == [f"digest={new.digest}", f"record={name}"]
    assert "verified: " in result.progress
    stored = boto3.client("ssm", region_name=REGION).get_parameter(Name=name)["Parameter"]
    data = json.loads(stored["Value"])
    assert data["digest"] == new.digest
    assert data["repository"] == "finlex"
    assert data["commit"] == COMMIT
    assert data["environment"] == "staging"
    assert data["checks"] == list(record.REQUIRED_CHECKS)
    assert data["reported"] == ["probe", "scan-gate"]
    assert data["verified_at"].endswith("Z")
    assert data["task_definition"].endswith("task-definition/finlex:2")
    assert "staging verified finlex@" in result.progress

    ecs = controller(["IN_PROGRESS", "COMPLETED"])
    result = promote(run, f"finlex@{new.digest}", ecs)
    assert result.code == 0, result.err
    assert image_of(PRODUCTION) == f"{new.uri}@{new.digest}"
    assert len(ecs.updates) == 1
    assert f"promoted {new.digest} from staging to production" in result.out
    assert f"commit {COMMIT}" in result.progress


def test_promote_by_tag_deploys_the_digest_the_tag_named(stack, production, run) -> None:
    new = push_image(tag="1.0.1")
    put_record(new)
    result = promote(run, "finlex:1.0.1", controller())
    assert result.code == 0, result.err
    assert image_of(PRODUCTION) == f"{new.uri}@{new.digest}"


# --- promote's refusals ------------------------------------------------------


def test_promote_refuses_a_digest_without_a_staging_record(stack, production, run) -> None:
    new = push_image(tag="1.0.1")  # tested and in the repository: deploy alone would take it
    before = snapshot()
    ecs = controller()
    line = refused(promote(run, f"finlex@{new.digest}", ecs))
    name = record.parameter_name("staging", new.digest)
    assert line == (
        f"finlex-release promote: finlex@{new.digest} has no staging verification record "
        f"({name}): deploy and verify it in staging first (finlex-release verify-record)"
    )
    assert ecs.updates == []
    assert snapshot() == before


def test_a_record_of_another_environment_does_not_count(stack, production, run) -> None:
    new = push_image(tag="1.0.1")
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=record.parameter_name("preview", new.digest),
        Value=json.dumps({"format": 1}),
        Type="String",
    )
    before = snapshot()
    ecs = controller()
    line = refused(promote(run, f"finlex@{new.digest}", ecs))
    assert "has no staging verification record" in line
    assert ecs.updates == []
    assert snapshot() == before


def test_promote_refuses_a_record_of_another_digest(stack, production, run) -> None:
    new = push_image(tag="1.0.1")
    other = push_image(tag="1.0.2")
    name = put_record(new, digest=other.digest)  # at new's name, of another digest
    before = snapshot()
    ecs = controller()
    line = refused(promote(run, f"finlex@{new.digest}", ecs))
    assert line == (
        f"finlex-release promote: the staging record {name} is of digest {other.digest}, "
        f"not {new.digest}; refusing to promote"
    )
    assert ecs.updates == []
    assert snapshot() == before


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"repository": "other"}, "is of staging's other, not staging's finlex"),
        ({"environment": "preview"}, "is of preview's finlex, not staging's finlex"),
        ({"checks": ["test-record"]}, "does not show service-runs-digest, deployment-completed"),
        ({"format": 0}, "is not a verification record (not a format-1 record)"),
        ({"unknown": 1}, "is not a verification record"),
    ],
)
def test_promote_refuses_a_record_that_does_not_match(stack, production, run, changes, says):
    new = push_image(tag="1.0.1")
    put_record(new, **changes)
    before = snapshot()
    ecs = controller()
    line = refused(promote(run, f"finlex@{new.digest}", ecs))
    assert says in line
    assert ecs.updates == []
    assert snapshot() == before


def test_a_record_that_is_not_json_is_refused(stack, production, run) -> None:
    new = push_image(tag="1.0.1")
    name = record.parameter_name("staging", new.digest)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=name, Value="verified", Type="String"
    )
    ecs = controller()
    line = refused(promote(run, f"finlex@{new.digest}", ecs))
    assert line.startswith(f"finlex-release promote: {name} is not a verification record (")
    assert ecs.updates == []


def test_promote_refuses_a_digest_the_repository_does_not_hold(stack, production, run) -> None:
    new = push_image(tag="1.0.1")
    gone = "sha256:" + "d" * 64
    # Verified once, since deleted (a lifecycle rule): its record alone would let it through.
    put_record(Pushed(new.repository, new.uri, "gone", gone))
    before = snapshot()
    ecs = controller()
    line = refused(promote(run, f"finlex@{gone}", ecs), Exit.NOT_FOUND)
    assert line == (
        f"finlex-release promote: {gone} is not in repository finlex: nothing to verify or promote"
    )
    assert ecs.updates == []
    assert snapshot() == before


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--from", "staging", "--to", "staging"), "--from and --to are both staging"),
        (("--from", "Staging!", "--to", "production"), "argument --from: environment 'Staging!'"),
        (("--from", "staging", "--to", "production", "--image", "finlex"), "needs a :tag"),
    ],
)
def test_promote_bad_input_is_one_line(moto, run, argv, says) -> None:
    argv = ("promote", "--cluster", "c", "--service", "s", "--image", "finlex:1", *argv)
    result = run(*argv, clients=clients_with(controller()))
    assert result.code == Exit.USAGE
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert says in result.err


# --- verify-record's refusals ------------------------------------------------


def parameters() -> list[str]:
    ssm = boto3.client("ssm", region_name=REGION)
    return [item["Name"] for item in ssm.describe_parameters().get("Parameters", [])]


def test_no_record_when_the_service_runs_another_digest(stack, run) -> None:
    push_image(tag="1.0.1")  # pushed, never deployed: staging still runs 1.0.0
    with live() as url:
        line = refused(verify_record(run, url, "finlex:1.0.1"))
    assert f"finlex/finlex runs {stack.image.uri}:1.0.0 in container finlex, not" in line
    assert parameters() == []


def test_no_record_when_the_live_service_answers_from_another_commit(stack, run) -> None:
    push_image(tag="1.0.1")
    deploy_staging(run, "finlex:1.0.1")
    with live(revision="0" * 40) as url:
        result = verify_record(run, url, "finlex:1.0.1")
    assert result.code == Exit.FAILED, result.err  # a wrong answer, not a silent service
    assert f"answered from revision {'0' * 40}, expected {COMMIT}" in result.err
    assert parameters() == []


def test_no_record_while_a_deployment_is_in_progress(stack, run) -> None:
    push_image(tag="1.0.1")
    ecs = controller(["IN_PROGRESS"])
    argv = ("deploy", "--cluster", "finlex", "--service", "finlex", "--image", "finlex:1.0.1")
    run(*argv, "--timeout", "1", "--interval", "1", clients=clients_with(ecs))
    with live() as url:
        line = refused(verify_record(run, url, "finlex:1.0.1", ecs=ecs))
    assert "is in progress on finlex/finlex: verify once it has ended" in line
    assert parameters() == []


class DeployedMeanwhile(EcsController):
    """ECS on which someone deploys `image` right after the first look at the service."""

    def __init__(self, image: str) -> None:
        super().__init__(boto3.client("ecs", region_name=REGION), ["COMPLETED"])
        self.image, self.looks = image, 0

    def describe_services(self, **kwargs):
        self.looks += 1
        if self.looks == 2:
            definition = self.real.describe_task_definition(taskDefinition="finlex")
            settings = {
                k: v
                for k, v in definition["taskDefinition"].items()
                if k in {"family", "containerDefinitions", "networkMode", "cpu", "memory"}
            }
            settings["containerDefinitions"][0]["image"] = self.image
            arn = self.real.register_task_definition(**settings)["taskDefinition"]
            self.real.update_service(
                cluster="finlex", service="finlex", taskDefinition=arn["taskDefinitionArn"]
            )
        return super().describe_services(**kwargs)


def test_no_record_when_another_digest_landed_while_verify_polled(stack, run) -> None:
    push_image(tag="1.0.1")
    other = push_image(tag="1.0.2")
    deploy_staging(run, "finlex:1.0.1")
    ecs = DeployedMeanwhile(f"{other.uri}@{other.digest}")
    with live() as url:
        line = refused(verify_record(run, url, "finlex:1.0.1", ecs=ecs))
    assert f"finlex/finlex runs {other.uri}@{other.digest} in container finlex" in line
    assert ecs.looks == 2  # looked before and after verify
    assert parameters() == []


def test_no_record_of_an_untested_image(stack, run) -> None:
    push_image(tag="1.0.1", tested=False)
    with live() as url:
        line = refused(verify_record(run, url, "finlex:1.0.1"))
    assert "carries no test record" in line
    assert parameters() == []


def test_verify_record_needs_a_commit(moto, run) -> None:
    result = run(
        "verify-record",
        "--environment",
        "staging",
        "--cluster",
        "c",
        "--service",
        "s",
        "--image",
        "finlex:1",
        "--url",
        "https://x.example.com",
        "--commit",
        "",
    )
    assert result.code == Exit.USAGE
    assert "--commit must name the git revision" in result.err


# --- verified: the history a rollback picks from -----------------------------


def test_verified_lists_newest_first(moto, run) -> None:
    older, newer = push_image(tag="1.0.1"), push_image(tag="1.0.2")
    put_record(older, verified_at="2026-12-01T10:00:00Z")
    put_record(newer, verified_at="2026-12-02T10:00:00Z")
    result = run("verified", "--environment", "staging")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert [line.split()[1] for line in lines] == [newer.digest, older.digest]
    assert f"commit {COMMIT}" in lines[0]


def test_verified_without_records_is_not_found(moto, run) -> None:
    result = run("verified", "--environment", "production")
    assert result.code == Exit.NOT_FOUND
    assert "no verification records under /finlex/production/verified/" in result.err


def test_the_record_location_is_documented_for_the_roles() -> None:
    """infra/ scopes the deploy roles to this path: the README names it as the code has it."""
    readme = (REPO / "release" / "README.md").read_text(encoding="utf-8")
    assert record.RECORD_PATH in readme
    assert record.parameter_name("staging", "sha256:" + "a" * 64) == (
        "/finlex/staging/verified/" + "a" * 64
    )
