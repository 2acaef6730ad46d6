"""The rehearsal's promotion steps, against the emulator, without Terraform.

The full rehearsal (test_rehearsal.py) runs them under the roles infra/ makes.
Here the administrator makes what they act on by API: the shared repository
with one pushed release (and its test record), a staging and a production
cluster, service and task definition, and two deploy roles whose statements
are named and scoped as modules/pipeline_roles' are for the records (each its
own environment's path; production's reads staging's under
ReadVerificationRecordsToPromote). The IAM gate enforces. The environment's URL
is a small server answering as the application does (the rehearsal serves the
image itself there).

Then the steps run with the real finlex-release, and once more with a
finlex-release whose promote skips the record check: each refusal step must
then fail, or the steps would pass whatever promote does.

The emulator patches moto process-wide, so it runs in a subprocess of its own
(as in test_gate.py); the subprocess prints what each step returned or raised.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.rehearsal]

SCRIPT = r"""
import contextlib, http.server, json, sys, threading, time
from pathlib import Path
from rehearse import account, emulator, served, steps

work, version = Path(sys.argv[1]), sys.argv[2]
REVISION = "0123456789abcdef0123456789abcdef01234567"
e = emulator.start()
admin = lambda service: account.client(e.url, service)
ARN = f"arn:aws:ssm:{emulator.REGION}:{emulator.ACCOUNT_ID}:parameter/finlex/{{}}/verified"

def role(name, environment, promotes_from=None):
    statements = [
        {"Sid": "ReleaseTheService", "Effect": "Allow", "Resource": "*",
         "Action": ["ecr:*", "ecs:*", "elasticloadbalancing:Describe*"]},
        {"Sid": "OwnVerificationRecords", "Effect": "Allow",
         "Action": ["ssm:PutParameter", "ssm:GetParameter"],
         "Resource": ARN.format(environment) + "/*"},
        {"Sid": "ListOwnVerificationRecords", "Effect": "Allow",
         "Action": "ssm:GetParametersByPath", "Resource": ARN.format(environment)},
    ]
    if promotes_from:
        statements.append({
            "Sid": "ReadVerificationRecordsToPromote", "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParametersByPath"],
            "Resource": [ARN.format(promotes_from), ARN.format(promotes_from) + "/*"]})
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{emulator.ACCOUNT_ID}:root"}}]}
    arn = admin("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"]["Arn"]
    admin("iam").put_role_policy(RoleName=name, PolicyName="deploy", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    return account.assume(e.url, arn, name)

ecr = admin("ecr")
ecr.create_repository(repositoryName="finlex")
layer = "sha256:" + "1" * 64
manifest = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 10,
               "digest": "sha256:" + "2" * 64},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": 20,
                "digest": layer}]}, indent=3)
for tag in ("rehearsal-1", "tested-rehearsal-1"):
    steps.image.put(ecr, "finlex", tag, manifest)
ecs = admin("ecs")
REGISTRY = f"{emulator.ACCOUNT_ID}.dkr.ecr.{emulator.REGION}.amazonaws.com"
for name in ("finlex", "finlex-staging"):
    ecs.create_cluster(clusterName=name)
    ecs.register_task_definition(
        family=name, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": name, "image": f"{REGISTRY}/finlex:seed"}])
    ecs.create_service(cluster=name, serviceName=name, taskDefinition=name, desiredCount=1,
                       launchType="FARGATE")

class App(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": version}).encode() if self.path == "/version" else b"ok"
        self.send_response(200)
        self.send_header("X-Finlex-Revision", REVISION)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

@contextlib.contextmanager
def app(docker, image):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield served.Served(f"http://127.0.0.1:{server.server_port}", REVISION)
    finally:
        server.shutdown()

served.served = app
run = steps.Rehearsal(report=steps.Report(), account=e, infra=work, workdir=work,
                      terraform="terraform", mirror=work, image="finlex:test", docker="docker")
run.tags = ["rehearsal-1"]
run.manifest = manifest
run.staging_service = ("finlex-staging", "finlex-staging")
run.staging_container = "finlex-staging"  # infra/ names the container as the service
results = {}

def attempt(name, step):
    began = time.monotonic()
    try:
        results[name] = {"ok": True, "line": step(), "seconds": time.monotonic() - began}
    except Exception as error:  # as Report.step: any failure is the step's
        results[name] = {"ok": False, "line": f"{type(error).__name__}: {error}"}

with e.gate.enforced():
    run.staging_sessions["deploy"] = role("staging-deploy", "staging")
    run.sessions["deploy"] = role("production-deploy", "production", promotes_from="staging")
    for name, step in run._promotion_steps():
        attempt(name, step)
    # promote without its record check: what the refusal steps must catch.
    run.release_tool = [sys.executable, "-c",
        "import sys\n"
        "from finlex_release import cli, record\n"
        "record.require = lambda ssm, env, image: record.Record(\n"
        "    env, image.repository, image.digest, *['unchecked'] * 5)\n"
        "sys.exit(cli.main())\n"]
    attempt("unchecked: record of another digest", run.mismatched_record_refused)
    # A third digest with its test record and no staging record at all.
    for tag in ("rehearsal-3", "tested-rehearsal-3"):
        never = steps.image.put(ecr, "finlex", tag, json.dumps(json.loads(manifest)))
    attempt("unchecked: no record", lambda: run._refused(never, "has no staging"))
    results["_denied"] = [
        f"{r.principal.rsplit('/', 1)[-1]} {a.action} {a.resource}"
        for i, r in enumerate(e.gate.records()) if r.denied
        and not any(first <= i < last for first, last in run._broken_windows)
        for a in r.authorizations if a.decision and a.decision.name != "ALLOWED"]
e.stop()
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("promotion")
    version = (REPO / "application" / "VERSION").read_text().strip()
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(work), version],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    print(done.stdout[-6000:])
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def line(results: dict[str, Any], name: str) -> str:
    outcome = results[name]
    assert outcome["ok"], outcome["line"]
    return str(outcome["line"])


DIGEST = r"sha256:[0-9a-f]{64}"


def test_staging_deploys_the_pushed_digest_under_its_deploy_role(results: dict[str, Any]) -> None:
    said = line(results, "promote: staging deploys the pushed digest")
    assert re.search(rf"^finlex:rehearsal-1 = {DIGEST}: finlex-staging/finlex-staging runs it "
                     r"by digest on finlex-staging:\d+; status exit 0", said)  # fmt: skip


def test_staging_writes_its_record_under_its_own_path(results: dict[str, Any]) -> None:
    said = line(results, "promote: staging verifies it and writes its record")
    assert re.match(r"/finlex/staging/verified/[0-9a-f]{64} \(staging's deploy role\): commit "
                    r"0123456789abcdef", said), said  # fmt: skip


def test_production_promotes_it_and_runs_it_by_digest(results: dict[str, Any]) -> None:
    said = line(results, "promote: production promotes it from staging")
    assert re.match(rf"promoted {DIGEST} from staging to production; finlex/finlex runs it by "
                    r"digest on finlex:\d+", said), said  # fmt: skip
    listed = line(results, "promote: production verifies it, verified lists it")
    assert re.match(r"/finlex/production/verified/[0-9a-f]{64}; verified --environment "
                    rf"production: \S+ {DIGEST} commit 0123", listed), listed  # fmt: skip


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("promote: a digest staging never verified is refused", "has no staging verification"),
        ("promote: a record of another digest is refused", "is of digest sha256:"),
    ],
)
def test_each_refusal_is_one_line_exit_1_production_unchanged(
    results: dict[str, Any], name: str, why: str
) -> None:
    said = line(results, name)
    assert re.match(
        r"exit 1, production unchanged on finlex:\d+: finlex-release promote: ", said
    ), said
    assert why in said


def test_without_the_grant_to_read_stagings_records_promote_is_denied_naming_it(
    results: dict[str, Any],
) -> None:
    said = line(
        results,
        "broken copy: production's deploy role without ReadVerificationRecordsToPromote",
    )
    assert re.match(
        r"failed as it must: ssm:GetParameter on arn:aws:ssm:us-east-1:\d{12}:"
        r"parameter/finlex/staging/verified/[0-9a-f]{64} denied; ",
        said,
    ), said


@pytest.mark.parametrize("name", ["unchecked: record of another digest", "unchecked: no record"])
def test_a_promote_that_skips_the_record_check_fails_the_refusal_steps(
    results: dict[str, Any], name: str
) -> None:
    assert results[name]["ok"] is False, results[name]
    assert "exit 0, expected 1" in results[name]["line"], results[name]


def test_no_call_was_denied_outside_the_broken_copy(results: dict[str, Any]) -> None:
    assert results["_denied"] == []
