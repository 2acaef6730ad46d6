"""The rehearsal's steps, in order, and the summary they add up to."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from botocore.exceptions import ClientError

import tfplan
from finlex_release import record
from finlex_release.errors import Exit
from iamsim.evaluate import Decision, Request, evaluate
from rehearse import account, emulator, environments, grants, image, served
from rehearse.account import Session
from rehearse.emulator import Emulator
from rehearse.terraform import (
    INIT,
    Terraform,
    TerraformError,
    automation_env,
    backend_config,
    cli_config,
    credentials,
    without_aws,
    working_copy,
)

T = TypeVar("T")

STATE_BUCKET = f"finlex-tfstate-{emulator.ACCOUNT_ID}-{emulator.REGION}"
PRODUCTION_KEY = "finlex/terraform.tfstate"  # environments/production.backend.hcl's key
LOGS_BUCKET = f"finlex-alb-logs-{emulator.ACCOUNT_ID}-{emulator.REGION}"
# The pipeline's roles, by the job that holds each, as the root's outputs name them.
ROLE_OUTPUTS = {
    "plan": "github_terraform_plan_role_arn",
    "apply": "github_terraform_apply_role_arn",
    "deploy": "github_deploy_role_arn",
}
# Broken copies: per role, a statement it needs, the step that needs it, and
# the action and resource the denial must name.
BROKEN = {
    "plan": ("StateRead", "s3:GetObject", f"arn:aws:s3:::{STATE_BUCKET}/finlex/terraform.tfstate"),
    "apply": ("CloudWatchFinlexAlarms", "cloudwatch:PutMetricAlarm", ":alarm:finlex-cpu-high"),
    "deploy": ("EcsTaskDefinitionsNoResourceLevel", "ecs:DescribeTaskDefinition", "*"),
}
EXIT_CREDENTIALS = Exit.CREDENTIALS  # finlex-release's code for access denied
SERVICE_TYPE = "aws_ecs_service"
PIPELINE = "pipeline_roles"  # the module of the pipeline's roles
# The one service block in both autoscaling modes; no flip may replace or move it.
SERVICE_ADDRESS = "module.ecs_cluster.aws_ecs_service.this"
_EMULATOR_FINDING = "moto reports it for every image"
# The checks after the applies, in the order they run (--checks picks some).
CHECKS = ("promote", "release", "secret", "plan", "replace", "planfile", "broken", "destroy")
# promote (beside staging only): one digest deployed and verified in staging under its
# deploy role, promoted to production under production's (deploy.yml's two jobs).
PROMOTE_FROM, PROMOTE_TO = "staging", "production"  # environments/production.tfvars's promotes_from
UNVERIFIED_TAG = "rehearsal-unverified"  # a digest pushed to staging, never verified there
# Production's deploy role's statement that reads the records it promotes (modules/pipeline_roles).
STAGING_RECORDS = "ReadVerificationRecordsToPromote"
RELEASE_WAITS = ("--timeout", "60", "--interval", "1")
# secret: one SSM parameter passed as a secret (-var=secrets), read as the ECS agent reads it.
SECRET_NAME = "FINLEX_API_KEY"  # noqa: S105 - a variable's name, not a password
SECRET_PARAMETER = "/finlex/api-key"  # noqa: S105 - a parameter's name
UNMAPPED_PARAMETER = "/finlex/not-a-secret-of-the-service"
TASK_DEFINITION = "module.ecs_cluster.aws_ecs_task_definition.this"
# planfile: the reviewed change, a plan made beside it, and the out-of-band drift.
TFPLAN = Path(__file__).resolve().parents[1] / "tfplan.py"
LOG_GROUP = "module.ecs_cluster.aws_cloudwatch_log_group.this"
CPU_ALARM = "module.monitoring.aws_cloudwatch_metric_alarm.cpu_high"
RETENTION_REVIEWED, RETENTION_OTHER, RETENTION_DRIFT = 60, 90, 7
_MODULE_CALL = re.compile(r'^module "([^"]+)" \{\s*source\s*=\s*"(\./[^"]+)"', re.MULTILINE)
_APPLIED = re.compile(r"Resources: (\d+) added, (\d+) changed, (\d+) destroyed")


class StepError(Exception):
    """A step did not do what it must; the message says what and where."""


@dataclass
class Row:
    name: str
    ok: bool
    seconds: float
    detail: str


@dataclass
class Report:
    """Progress lines while it runs, one summary at the end."""

    rows: list[Row] = field(default_factory=list)
    created: int = 0
    roles: list[str] = field(default_factory=list)  # one line per pipeline role
    started: float = field(default_factory=time.monotonic)

    def step(self, name: str, run: Callable[[], T]) -> T | None:
        print(f"==> {name}", flush=True)
        began = time.monotonic()
        try:
            result = run()
        except (StepError, TerraformError) as error:
            self._failed(name, began, str(error).strip() or type(error).__name__)
            return None
        except Exception as error:  # any other failure is a failed step too, reported
            self._failed(name, began, f"{type(error).__name__}: {error}")
            return None
        detail = result if isinstance(result, str) else ""
        self.rows.append(Row(name, True, time.monotonic() - began, detail))
        if detail:
            print(f"    {detail}", flush=True)
        return result

    def _failed(self, name: str, began: float, detail: str) -> None:
        self.rows.append(Row(name, False, time.monotonic() - began, detail))
        print(f"    failed: {detail}", flush=True)

    @property
    def failed(self) -> bool:
        return any(not row.ok for row in self.rows)

    def finish(self) -> int:
        print("\nrehearsal summary")
        for row in self.rows:
            mark = "✔" if row.ok else "✘"
            first, *rest = row.detail.splitlines() or [""]
            print(f"  {mark} {row.name:<34} {row.seconds:6.1f} s  {first}")
            for line in rest:
                print(f"  {'':<45}{line}")
        total = time.monotonic() - self.started
        print(f"  resources created: {self.created}; time: {total:.0f} s")
        if self.roles:
            print("  the pipeline's roles, as the emulator's IAM gate saw them:")
            for line in self.roles:
                print(f"    {line}")
        print("  what the emulator cannot do (docs/rehearsal.md):")
        for gap in emulator.GAPS:
            print(f"    - {gap}")
        verdict = "FAILED" if self.failed else "passed"
        print(f"rehearsal {verdict}")
        return 1 if self.failed else 0


@dataclass
class Rehearsal:
    report: Report
    account: Emulator
    infra: Path
    workdir: Path
    terraform: str
    mirror: Path
    image: str
    docker: str
    examples: list[str] | None = None
    autoscaling: list[str] = field(default_factory=lambda: ["true", "false"])
    bootstrap_by_api: bool = False
    checks: tuple[str, ...] = CHECKS
    # Staging beside production (infra/environments); off: production alone.
    staging: bool = True
    _vars: list[str] = field(default_factory=list)
    _staging_vars: list[str] = field(default_factory=list)
    # Sessions of staging's own roles (step "staging: roles"), by job.
    staging_sessions: dict[str, Session] = field(default_factory=dict)
    # Sessions of the pipeline's roles (step "roles"), by job: plan, apply, deploy.
    sessions: dict[str, Session] = field(default_factory=dict)
    # What each role was granted, read while it exists (the destroy removes it).
    _granted: dict[str, set[str]] = field(default_factory=dict)
    # Gate records made by the broken copies on purpose: (first, last) indexes.
    _broken_windows: list[tuple[int, int]] = field(default_factory=list)
    # finlex-release's command line; None: the one installed beside this Python.
    release_tool: list[str] | None = None
    # Staging's cluster and service, and the app's container, from its outputs.
    staging_service: tuple[str, str] = ("", "")
    staging_container: str = ""
    # The promotion: the digest staging verified, its record's value, the unverified digest.
    promoted: str = ""
    _staging_record: str = ""
    _unverified: str = ""

    # --- plumbing ---------------------------------------------------------

    def _tf(self, folder: Path, role: str | None = None) -> Terraform:
        """Terraform in `folder`, as the administrator or under a pipeline role's session."""
        env = {
            **automation_env(self.workdir / "terraform.rc"),
            **credentials(self._session(role).env() if role else None),
        }
        return Terraform(folder, self.workdir / "terraform.log", env, self.terraform)

    def _session(self, role: str) -> Session:
        if role not in self.sessions:
            raise StepError(f"no session of the {role} role: the step 'roles' did not run")
        return self.sessions[role]

    def _count(self, output: str) -> str:
        match = _APPLIED.search(output)
        if not match:
            return "applied"
        added, changed, destroyed = (int(value) for value in match.groups())
        self.report.created += added
        return f"{added} created, {changed} changed, {destroyed} destroyed"

    def _release(
        self, *args: str, session: Session | None = None
    ) -> subprocess.CompletedProcess[str]:
        """finlex-release under a deploy role's session (production's unless `session`),
        as the deploy job runs it."""
        tool = self.release_tool or [str(Path(sys.executable).with_name("finlex-release"))]
        env = {
            **without_aws(os.environ),
            "AWS_ENDPOINT_URL": self.account.url,
            "AWS_REGION": emulator.REGION,
            **(session or self._session("deploy")).env(),
        }
        result = subprocess.run(  # noqa: S603 - argument list, no shell
            [*tool, *args], env=env, capture_output=True, text=True, check=False
        )
        with (self.workdir / "release.log").open("a") as log:
            log.write(f"\n$ finlex-release {' '.join(args)} -> {result.returncode}\n")
            log.write(result.stdout + result.stderr)
        return result

    def _expect(self, result: subprocess.CompletedProcess[str], code: int, what: str) -> str:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()
        line = last[-1] if last else ""
        if result.returncode != code:
            raise StepError(f"{what}: exit {result.returncode}, expected {code}: {line}")
        return line

    # --- steps ------------------------------------------------------------

    def run(self) -> None:
        """Every step, with the gate enforcing: only the administrator is never denied."""
        with self.account.gate.enforced():
            self._run()

    def _run(self) -> None:
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("working copy of infra/", self.prepare),
            ("validate", self.validate),
            (
                "bootstrap: state bucket by API" if self.bootstrap_by_api else "bootstrap: apply",
                self.bootstrap,
            ),
            ("root: init on the s3 backend", self.init_root),
        ]
        # The first apply creates the pipeline's roles: an administrator's step,
        # like the bootstrap. Every later one is CI's: plan role, then apply role.
        for example in self.selected_examples():
            for autoscaling in self.autoscaling:
                first = len(steps) == 4
                who = "administrator" if first else "plan role, then apply role"
                label = f"root: apply {example.stem}, autoscaling {autoscaling} ({who})"
                steps.append((label, self.applier(example, autoscaling, admin=first)))
                if first:
                    steps.append(("roles: sessions from the root's outputs", self.roles))
                    if self.staging:
                        steps += self._staging_steps()
        steps.append(("image: manifest into ECR", self.push_image))
        if self.staging:
            name = "environments: staging's roles on production's, denied"
            steps.append((name, self.cross_denials))
        for name, run in steps:
            if self.report.step(name, run) is None and self.report.failed:
                return
        # What follows checks the applied account: each check runs, and reports,
        # even when an earlier one failed (a broken policy hides no broken plan).
        checks: dict[str, list[tuple[str, Callable[[], Any]]]] = {
            "promote": self._promotion_steps() if self.staging else [],
            "release": [("release: under the deploy role", self.release)],
            "secret": [("secret: resolved into the task definition", self.secret_resolved)],
            "plan": [("plan after deploy is empty", self.plan_is_empty)],
            "replace": [
                ("create_before_destroy: plans", self.replacement_plans),
                ("create_before_destroy: apply", self.replacement_apply),
            ],
            "planfile": [
                ("saved plan: a changed file is refused", self.changed_plan_refused),
                ("saved plan: the reviewed file applies", self.saved_plan_applies),
                ("saved plan: a stale plan is refused", self.stale_plan_refused),
                ("drift: an out-of-band change is reported", self.drift_reported),
            ],
            "broken": [
                (f"broken copy: {role} role without {sid}", self.breaker(role))
                for role, (sid, _, _) in BROKEN.items()
            ],
            "destroy": [
                *([("staging: destroy", self.staging_destroy)] if self.staging else []),
                ("destroy", self.destroy),
                ("nothing left but the bootstrap", self.nothing_left),
            ],
        }
        for group in CHECKS:
            if group in self.checks:
                for name, run in checks[group]:
                    self.report.step(name, run)
        if self.sessions:
            self.report.step("roles: 0 denied, every grant called or listed", self.role_use)

    def _read_grants(self) -> None:
        """Add what each role's policies allow now to what they were granted so far."""
        for job, session in self.sessions.items():
            role_name = session.role_arn.rsplit("/", 1)[-1]
            statements = account.role_statements(self.account.url, role_name)
            self._granted.setdefault(job, set()).update(
                a for acts in statements.values() for a in acts
            )

    def role_use(self) -> str:
        """Each role's line for the summary; fails on a denial or an unexplained grant.

        Whether a grant is called at all can only be read off a complete run:
        a partial one (--checks, --examples) reports without judging.
        """
        uses = [self._role_use(job, session) for job, session in self.sessions.items()]
        self.report.roles = [use.line() for use in uses]
        complete = set(self.checks) == set(CHECKS) and self.examples is None
        complete = complete and len(self.autoscaling) == 2
        denied = [use for use in uses if use.denied]
        if denied:
            raise StepError(
                "denied on the happy path: "
                + "; ".join(f"{u.job} role: {', '.join(u.denied_calls)}" for u in denied)
            )
        if complete:
            unexplained = [use for use in uses if use.unexplained]
            if unexplained:
                raise StepError("; ".join(use.line() for use in unexplained))
            return f"{len(uses)} roles: every grant called or listed in rehearse/grants.py"
        return f"{len(uses)} roles; grant use not judged on a partial run"

    def _role_use(self, job: str, session: Session) -> grants.RoleUse:
        records = self.account.gate.records()
        on_purpose = {i for first, last in self._broken_windows for i in range(first, last)}
        mine = [(i, r) for i, r in enumerate(records) if r.principal == session.role_arn]
        happy = [r for i, r in mine if i not in on_purpose]
        called = {a.action for r in happy for a in r.authorizations if not r.denied and a.decision}
        granted = self._granted.get(job, set())
        return grants.RoleUse(
            job=job,
            role_arn=session.role_arn,
            calls=len(mine),
            actions=frozenset(called),
            denied=sum(1 for r in happy if r.denied),
            denied_calls=tuple(
                f"{a.action} on {a.resource}"
                for r in happy
                if r.denied
                for a in r.authorizations
                if a.decision in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY)
            ),
            denied_on_purpose=sum(1 for i, r in mine if i in on_purpose and r.denied),
            uncalled=grants.uncalled(granted, called),
            staging=self.staging,
        )

    def selected_examples(self) -> list[Path]:
        found = sorted((self.infra / "examples").glob("*.tfvars"))
        if self.examples:
            found = [path for path in found if path.stem in self.examples]
        # The quick start first: it creates everything; the other changes it.
        return sorted(found, key=lambda path: not path.stem.startswith("quickstart"))

    def prepare(self) -> str:
        # Every AWS call of the rehearsal, one JSON line each: who, what, on which ARN, decided how.
        self.account.gate.log_to(self.workdir / "gate.jsonl")
        self.copy = working_copy(self.infra, self.workdir / "infra", self.account.url)
        cli_config(self.mirror, self.workdir / "terraform.rc")
        self.zone_id = account.hosted_zone(self.account.url, "example.com")
        account.bucket(self.account.url, LOGS_BUCKET)
        self.network = account.private_network(self.account.url)
        # A secret as an operator adds one (docs/runbook.md): the parameter first, then its ARN.
        self.secret_arn, self._secret_value = account.secret_parameter(
            self.account.url, SECRET_PARAMETER
        )
        self.unmapped_arn, _ = account.secret_parameter(self.account.url, UNMAPPED_PARAMETER)
        return f"{self.copy.name}/ + emulator_override.tf; hosted zone {self.zone_id}"

    def validate(self) -> str:
        for folder in (self.copy, self.copy / "bootstrap"):
            tf = self._tf(folder)
            tf.run(*INIT, "-backend=false")
            tf.run("validate", "-no-color")
        return "root and bootstrap, with the real provider"

    def bootstrap(self) -> str:
        if self.bootstrap_by_api:
            account.bucket(self.account.url, STATE_BUCKET)
            return f"{STATE_BUCKET} (infra/bootstrap not applied)"
        tf = self._tf(self.copy / "bootstrap")
        tf.run(*INIT)
        applied = tf.run(
            "apply", "-auto-approve", "-input=false", "-no-color",
            f"-var=state_bucket_name={STATE_BUCKET}",
        )  # fmt: skip
        return self._count(applied.stdout)

    def init_root(self) -> str:
        config = self.workdir / "backend.hcl"
        config.write_text(backend_config(self.account.url, STATE_BUCKET, PRODUCTION_KEY))
        # Beside staging, production's own key file too (the key it always had).
        key_file = environments.backend_file(self.copy, "production")
        keys = [f"-backend-config={key_file}"] if self.staging else []
        self._tf(self.copy).run(*INIT, f"-backend-config={config}", *keys)
        return f"s3://{STATE_BUCKET}/{PRODUCTION_KEY}, use_lockfile"

    def example_vars(self, example: Path) -> list[str]:
        args = [f"-var-file={self.copy / 'examples' / example.name}"]
        if self.staging:  # production behind staging: its own var file after the example's
            args.append(f"-var-file={environments.var_file(self.copy, 'production')}")
        args.append(f"-var=hosted_zone_id={self.zone_id}")
        args.append(f"-var=secrets={json.dumps({SECRET_NAME: self.secret_arn})}")
        if "vpc_id" in example.read_text() and "private" in example.stem:
            net = self.network
            args += [
                f"-var=vpc_id={net.vpc_id}",
                f"-var=alb_subnet_ids={json.dumps(net.alb_subnet_ids)}",
                f"-var=task_subnet_ids={json.dumps(net.task_subnet_ids)}",
                f"-var=task_egress_prefix_list_ids={json.dumps([net.prefix_list_id])}",
            ]
        return args

    def applier(self, example: Path, autoscaling: str, *, admin: bool) -> Callable[[], str]:
        """Plan, check what the plan does to the service, apply that very plan.

        As CI does it: the plan role plans (no lock), the apply role applies
        the saved file. The first apply, which creates those roles, is the
        administrator's.
        """

        def apply() -> str:
            planner = self._tf(self.copy, None if admin else "plan")
            self._vars = [*self.example_vars(example), f"-var=autoscaling_enabled={autoscaling}"]
            plan_file = self.workdir / f"apply-{example.stem}-autoscaling-{autoscaling}.tfplan"
            plan = ["plan", "-input=false", "-no-color", "-lock=false", *self._vars]
            planner.run(*plan, f"-out={plan_file}")
            shown = planner.json("show", str(plan_file))
            first = ""
            by_admin = admin
            if not admin and _changes_module(shown, PIPELINE):
                # The plan changes the pipeline's own roles (the private example's
                # VPC moves their ec2:Vpc scope): the apply role may not widen or
                # move itself, so that apply is the administrator's, as the first.
                first = f"administrator: the plan changes module.{PIPELINE}; "
                by_admin = True
            kept = self._service_kept(shown)
            applier = self._tf(self.copy, None if by_admin else "apply")
            applied = applier.run("apply", "-input=false", "-no-color", str(plan_file))
            if first:
                self._read_grants()
            return f"{first}{kept}; {self._count(applied.stdout)}"

        return apply

    def roles(self) -> str:
        """A session of each pipeline role, found through the root's own outputs."""
        outputs = self._tf(self.copy).json("output")
        missing = [name for name in ROLE_OUTPUTS.values() if name not in outputs]
        if missing:
            raise StepError(
                f"the root has no output {', '.join(missing)}: "
                "infra/outputs.tf must name the pipeline's role ARNs (module.pipeline_roles)"
            )
        for job, output in ROLE_OUTPUTS.items():
            arn = str(outputs[output]["value"])
            self.sessions[job] = account.assume(self.account.url, arn, f"rehearsal-{job}")
        self._read_grants()
        return "; ".join(f"{job}: {s.role_arn}" for job, s in self.sessions.items())

    @staticmethod
    def _service_kept(plan: dict[str, Any]) -> str:
        """What a saved plan does to the service; a StepError if it replaces, destroys or moves it.

        An autoscaling flip runs from tfvars alone (CI has no hand steps), so the
        plan itself must leave the service where it is: no-op or update in place.
        """
        prior = (plan.get("prior_state") or {}).get("values", {}).get("root_module", {})
        existed = any(
            resource["type"] == SERVICE_TYPE
            for module in _modules(prior)
            for resource in module.get("resources", [])
        )
        changes = [c for c in plan.get("resource_changes", []) if c["type"] == SERVICE_TYPE]
        for change in changes:
            actions = change["change"]["actions"]
            if "previous_address" in change:
                moved = f"{change['previous_address']} to {change['address']}"
                raise StepError(f"the plan moves {moved}")
            if "delete" in actions or (existed and "create" in actions):
                raise StepError(f"the plan would {' then '.join(actions)} {change['address']}")
        addresses = [change["address"] for change in changes]
        if addresses != [SERVICE_ADDRESS]:
            raise StepError(f"expected {SERVICE_ADDRESS} alone, the plan has {addresses}")
        actions = changes[0]["change"]["actions"]
        return f"service: 0 replaced ({'/'.join(actions)})" if existed else "service: created"

    def push_image(self) -> str:
        docker_manifest = image.manifest_of(self.docker, self.image)
        # The same image as an OCI manifest has another digest: the "next release".
        manifests = [docker_manifest, image.as_oci(docker_manifest)]
        ecr = account.client(self.account.url, "ecr")
        self.tags = ["rehearsal-1", "rehearsal-2"]
        digests = [
            image.put(ecr, "finlex", tag, manifest)
            for tag, manifest in zip(self.tags, manifests, strict=True)
        ]
        if digests[0] == digests[1]:
            raise StepError("the two manifests got the same digest")
        # What `finlex-release push` adds to an image its run tested: the record
        # tested-<tag> on the same digest. deploy refuses a digest without one.
        for tag, manifest in zip(self.tags, manifests, strict=True):
            image.put(ecr, "finlex", f"tested-{tag}", manifest)
        self.manifest = docker_manifest
        layers = len(json.loads(docker_manifest)["layers"])
        return f"{self.image}: {layers} layers, {', '.join(d[:19] for d in digests)}"

    def release(self) -> str:
        try:
            return self._release_steps()
        except StepError as failed:
            raise StepError(f"under the deploy role: {failed}") from failed

    def _release_steps(self) -> str:
        allowlist = self.workdir / "emulator-allowlist.toml"
        gate = self._release("scan-gate", "--repository", "finlex", "--image-tag", self.tags[0],
                             "--allowlist", "release/scan-allowlist.toml")  # fmt: skip
        blocked = self._expect(gate, 1, "scan-gate on moto's made-up finding")
        allowlist.write_text(_allow_findings(blocked))
        gate = self._release("scan-gate", "--repository", "finlex", "--image-tag", self.tags[0],
                             "--allowlist", str(allowlist))  # fmt: skip
        self._expect(gate, 0, "scan-gate with the emulator's finding allowlisted")
        service = ["--cluster", "finlex", "--service", "finlex"]
        waits = ["--timeout", "60", "--interval", "1"]
        for tag in self.tags:
            deployed = self._release("deploy", *service, "--image", f"finlex:{tag}", *waits)
            self._expect(deployed, 0, f"deploy finlex:{tag}")
        self._expect(self._release("status", *service), 0, "status")
        back = self._release("rollback", *service, *waits)
        self._expect(back, 0, "rollback")
        running = account.running_revision(self.account.url, "finlex", "finlex")
        return (
            "scan-gate blocked, then passed with the finding allowlisted; "
            f"deployed 2 releases; rolled back to {running}"
        )

    # --- secret: what ECS resolves when a task starts ----------------------------------

    def secret_resolved(self) -> str:
        """The secret's ARN in Terraform's and the running revision; its read as ECS makes it.

        moto starts no task, so nothing reads the secret by itself: the
        administrator assumes the execution role (the gate checks no trust
        policy for it) and calls ssm:GetParameters on the task definition's
        valueFrom, as the ECS agent does, through the gate. The gate applies the
        role's identity policy only; its permissions boundary is evaluated here
        on its document, and the KMS decryption SSM makes is not modelled.
        """
        revisions = [self._state_value(TASK_DEFINITION, "arn")]
        revisions.append(account.running_revision(self.account.url, "finlex", "finlex"))
        expected = [{"name": SECRET_NAME, "valueFrom": self.secret_arn}]
        for revision in revisions:
            definition = account.task_definition(self.account.url, revision)
            (container,) = definition["containerDefinitions"]
            if container.get("secrets") != expected:
                raise StepError(f"{revision}: secrets {container.get('secrets')}, not {expected}")
            if SECRET_NAME in {item["name"] for item in container.get("environment", [])}:
                raise StepError(f"{revision}: {SECRET_NAME} is also a plain variable")
        role_arn = str(definition["executionRoleArn"])
        agent = account.assume(self.account.url, role_arn, "ecs-agent")
        allowed_by = self._agent_reads(agent)
        boundary = self._boundary_allows(role_arn)
        places = self._value_nowhere()
        names = ", ".join(r.rsplit("/", 1)[-1] for r in dict.fromkeys(revisions))
        return (
            f"{SECRET_NAME} <- {self.secret_arn} in {names}; the execution role reads it "
            f"(gate: {allowed_by}; boundary: {boundary}), not {UNMAPPED_PARAMETER}; "
            f"the value in no state, plan or log ({places} searched)"
        )

    def _agent_reads(self, agent: Session) -> str:
        """The ECS agent's read of the secret and of a parameter it was not given."""
        ssm = account.session_client(self.account.url, "ssm", agent)
        first = len(self.account.gate.records())
        got = ssm.get_parameters(Names=[self.secret_arn], WithDecryption=True)["Parameters"]
        if [item["Value"] for item in got] != [self._secret_value]:
            raise StepError(f"the execution role read {len(got)} parameters, not the secret")
        made = [r for r in self.account.gate.records()[first:] if r.principal == agent.role_arn]
        if not made or made[-1].denied:
            raise StepError("the gate did not record the execution role's read as allowed")
        record = made[-1]
        try:
            ssm.get_parameters(Names=[self.unmapped_arn], WithDecryption=True)
        except ClientError as error:
            if "ssm:GetParameters" not in str(error):
                raise StepError(f"{UNMAPPED_PARAMETER}: {error}") from error
        else:
            raise StepError(f"the execution role read {UNMAPPED_PARAMETER}, not one of its secrets")
        return str(record.authorizations[0].statement)

    def _boundary_allows(self, role_arn: str) -> str:
        """The statement of the role's permissions boundary that admits the agent's read.

        AWS allows a call only if the boundary does too; the gate does not apply
        boundaries, so the read it allowed is checked against this one here.
        """
        role_name = role_arn.rsplit("/", 1)[-1]
        document = account.permissions_boundary(self.account.url, role_name)
        if document is None:
            return "none"
        principal = f"arn:aws:sts::{emulator.ACCOUNT_ID}:assumed-role/{role_name}/ecs-agent"
        request = Request(principal, "ssm:GetParameters", self.secret_arn)
        result = evaluate(request, {"boundary": document})
        if result.decision is not Decision.ALLOWED:
            raise StepError(f"the execution role's boundary refuses its secret: {result.reason}")
        return str(result.statement)

    def _value_nowhere(self) -> int:
        """Where the secret's value must not be: the state, a saved plan, every log."""
        tf = self._tf(self.copy)
        state = json.dumps(tf.json("show"))
        if self.secret_arn not in state:
            raise StepError("the state does not name the secret's ARN: nothing was searched")
        plan = next(iter(sorted(self.workdir.glob("apply-*.tfplan"))))
        texts = {"the state": state, plan.name: json.dumps(tf.json("show", str(plan)))}
        for log in sorted(self.workdir.glob("*.log")) + sorted(self.workdir.glob("*.jsonl")):
            texts[log.name] = log.read_text(errors="replace")
        found = [name for name, text in texts.items() if self._secret_value in text]
        if found:
            raise StepError(f"the secret's value is in {', '.join(found)}")
        return len(texts)

    # --- broken copies: each role without one statement it needs ----------------------

    def breaker(self, role: str) -> Callable[[], str]:
        """The step that needs BROKEN[role]'s statement, run without it: it must fail, naming it."""
        sid, action, resource = BROKEN[role]
        attempts: dict[str, Callable[[], str]] = {
            "plan": self._plan_without_state_read,
            "apply": self._apply_without_alarms,
            "deploy": self._deploy_without_task_definitions,
        }

        def run() -> str:
            return self._fails_without(self._session(role), sid, action, resource, attempts[role])

        return run

    def _fails_without(
        self, session: Session, sid: str, action: str, resource: str, attempt: Callable[[], str]
    ) -> str:
        """`attempt` under `session` whose role lacks `sid`: it must fail, the gate denying
        `action` on an ARN that holds `resource`. Its denials are on purpose, counted apart."""
        role_name = session.role_arn.rsplit("/", 1)[-1]
        first = len(self.account.gate.records())
        try:
            with account.without_statement(self.account.url, role_name, sid):
                failure = attempt()
        finally:
            last = len(self.account.gate.records())
            self._broken_windows.append((first, last))
        denied = [
            (a.action, a.resource)
            for made in self.account.gate.records()[first:last]
            if made.denied
            for a in made.authorizations
            if a.decision in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY)
        ]
        named = [(act, arn) for act, arn in denied if act == action and resource in arn]
        if not named:
            raise StepError(
                f"no denial of {action} on *{resource}* (denied: {sorted(set(denied))}); "
                f"the step said: {_denial_line(failure, action)}"
            )
        return f"failed as it must: {action} on {named[0][1]} denied; {_last_error(failure)}"

    def _plan_without_state_read(self) -> str:
        plan = self._tf(self.copy, "plan").run(
            "plan", "-input=false", "-no-color", "-lock=false", *self._vars, check=False
        )
        if plan.returncode == 0:
            raise StepError("terraform plan succeeded without the state read")
        return plan.stderr + plan.stdout

    def _apply_without_alarms(self) -> str:
        applied = self._tf(self.copy, "apply").run(
            "apply", "-auto-approve", "-input=false", "-no-color", *self._vars,
            "-var=cpu_utilization_threshold=91", f"-target={CPU_ALARM}", check=False,
        )  # fmt: skip
        if applied.returncode == 0:
            raise StepError("terraform apply changed an alarm without the alarms statement")
        return applied.stderr + applied.stdout

    def _deploy_without_task_definitions(self) -> str:
        service = ["--cluster", "finlex", "--service", "finlex"]
        image_ref = f"finlex:{self.tags[1]}"
        result = self._release("deploy", *service, "--image", image_ref, "--timeout", "30")
        self._expect(result, EXIT_CREDENTIALS, "deploy without the task definition statement")
        return result.stderr + result.stdout

    def plan_is_empty(self) -> str:
        plan = self._tf(self.copy, "plan").run(
            "plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false", *self._vars,
            codes=(0, 2),
        )  # fmt: skip
        if plan.returncode == 2:
            changed = re.findall(r"^\s+# (\S+) (will|must) be .*$", plan.stdout, re.MULTILINE)
            names = ", ".join(sorted({name for name, _ in changed}))
            raise StepError(f"Terraform would change what the release tool did: {names}")
        running = account.running_revision(self.account.url, "finlex", "finlex")
        return f"exit 0 with the service on {running}"

    def _cbd_addresses(self, claimed: set[tuple[str, str, str]]) -> list[str]:
        """Instances of the `claimed` resources, and of the service, from the state."""
        state = self._tf(self.copy).json("show")
        found = []
        for module in _modules(state["values"]["root_module"]):
            for resource in module.get("resources", []):
                if resource["mode"] != "managed":
                    continue
                key = (module.get("address", ""), resource["type"], resource["name"])
                if key in claimed or resource["type"] == SERVICE_TYPE:
                    found.append(resource["address"])
        return found

    def _replacement_order(self, address: str) -> list[str]:
        """The actions a plan that forces `address` to be replaced shows for it."""
        tf = self._tf(self.copy, "plan")
        plan_file = self.workdir / f"replace-{abs(hash(address))}.tfplan"
        # Plans that are never applied: no state lock, so they can run side by side.
        tf.run("plan", "-input=false", "-no-color", "-refresh=false", "-lock=false",
               *self._vars, f"-replace={address}", f"-out={plan_file}")  # fmt: skip
        plan = tf.json("show", str(plan_file))
        actions: list[str] = next(
            change["change"]["actions"]
            for change in plan["resource_changes"]
            if change["address"] == address
        )
        return actions

    def replacement_plans(self) -> str:
        self.replaced: list[str] = []
        claimed = _claims_cbd(self.copy)
        addresses = self._cbd_addresses(claimed)
        with ThreadPoolExecutor(max_workers=3) as pool:
            orders = list(pool.map(self._replacement_order, addresses))
        lines = []
        for address, actions in zip(addresses, orders, strict=True):
            order = " then ".join(actions)
            is_cbd = actions == ["create", "delete"]
            says = _module_key(address) in claimed
            if says and not is_cbd:
                raise StepError(f"{address} claims create_before_destroy but plans {order}")
            if not says and is_cbd:
                raise StepError(f"{address} plans create then delete without claiming it")
            if is_cbd:
                self.replaced.append(address)
            lines.append(f"{address}: {order}")
        return "\n".join(lines)

    def replacement_apply(self) -> str:
        replace = [f"-replace={address}" for address in self.replaced]
        applied = self._tf(self.copy, "apply").run(
            "apply", "-auto-approve", "-input=false", "-no-color", *self._vars, *replace
        )
        return f"{len(replace)} replaced create-before-destroy: {self._count(applied.stdout)}"

    # --- planfile: apply exactly the reviewed plan (tools/tfplan.py) -------------

    def _tfplan(self, *args: str, role: str) -> subprocess.CompletedProcess[str]:
        """tools/tfplan.py on the working copy, with the rehearsal's Terraform, under `role`."""
        tf = self._tf(self.copy, role)
        command = [sys.executable, str(TFPLAN), "--chdir", str(tf.chdir)]
        command += ["--terraform", shlex.quote(tf.binary), *args]
        result = subprocess.run(  # noqa: S603 - argument list, no shell
            command,
            env={**without_aws(os.environ), **tf.env},
            capture_output=True,
            text=True,
            check=False,
        )
        with (self.workdir / "tfplan.log").open("a") as log:
            log.write(f"\n$ tfplan {' '.join(args)} -> {result.returncode}\n")
            log.write(result.stdout + result.stderr)
        return result

    def _saved_plan(self, name: str, retention: int) -> Path:
        """A plan that sets the log retention, saved and recorded as `make tf-plan` does."""
        plan = self.workdir / name
        self._tf(self.copy, "plan").run(
            "plan", "-input=false", "-no-color", "-lock=false", *self._vars,
            f"-var=log_retention_days={retention}", f"-out={plan}",
        )  # fmt: skip
        self._expect(self._tfplan("record", str(plan), role="plan"), 0, f"tfplan record {name}")
        return plan

    def _retention(self) -> int:
        """The log group's retention as the emulated account holds it."""
        name = self._state_value(LOG_GROUP, "name")
        logs = account.client(self.account.url, "logs")
        (group,) = [
            g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
            if g["logGroupName"] == name
        ]  # fmt: skip
        return int(group.get("retentionInDays", 0))

    def _state_value(self, address: str, key: str) -> str:
        state = self._tf(self.copy).json("show")
        for module in _modules(state["values"]["root_module"]):
            for resource in module.get("resources", []):
                if resource["address"] == address:
                    return str(resource["values"][key])
        raise StepError(f"{address} is not in the state")

    def changed_plan_refused(self) -> str:
        # Two plans of the same state: the reviewed one, and one that goes stale
        # once the reviewed one is applied (stale_plan_refused).
        self.reviewed_plan = self._saved_plan("reviewed.tfplan", RETENTION_REVIEWED)
        self.other_plan = self._saved_plan("other.tfplan", RETENTION_OTHER)
        # The reviewed file's place taken by another plan, valid for Terraform.
        swapped = self.workdir / "swapped" / self.reviewed_plan.name
        swapped.parent.mkdir(exist_ok=True)
        shutil.copy(self.other_plan, swapped)
        shutil.copy(tfplan.hash_file(self.reviewed_plan), tfplan.hash_file(swapped))
        before = self._retention()
        refused = self._tfplan("apply", str(swapped), role="apply")
        line = self._expect(refused, tfplan.EXIT_HASH, "apply of a changed plan file")
        if self._retention() != before:
            raise StepError(f"the changed plan was applied anyway: {line}")
        return f"exit {tfplan.EXIT_HASH}, nothing applied: {line}"

    def saved_plan_applies(self) -> str:
        applied = self._tfplan("apply", str(self.reviewed_plan), role="apply")
        line = self._expect(applied, 0, "apply of the reviewed plan")
        if (retention := self._retention()) != RETENTION_REVIEWED:
            raise StepError(f"log retention is {retention} days after {line}")
        return f"{line}; log retention {retention} days, as reviewed"

    def stale_plan_refused(self) -> str:
        refused = self._tfplan("apply", str(self.other_plan), role="apply")
        line = self._expect(refused, tfplan.EXIT_STALE, "apply of a plan made before that apply")
        if (retention := self._retention()) != RETENTION_REVIEWED:
            raise StepError(f"the stale plan changed the log retention to {retention} days")
        return f"exit {tfplan.EXIT_STALE}, nothing applied: {line}"

    def drift_reported(self) -> str:
        check = ["drift", str(self.workdir / "drift.tfplan"), "--", *self._vars]
        check.append(f"-var=log_retention_days={RETENTION_REVIEWED}")
        self._expect(self._tfplan(*check, role="plan"), 0, "drift check before the change")
        name = self._state_value(LOG_GROUP, "name")
        logs = account.client(self.account.url, "logs")
        logs.put_retention_policy(logGroupName=name, retentionInDays=RETENTION_DRIFT)
        after = self._tfplan(*check, role="plan")
        line = self._expect(after, tfplan.EXIT_DRIFT, "drift check after it")
        if LOG_GROUP not in line:
            raise StepError(f"the drift check did not name {LOG_GROUP}: {line}")
        return (
            f"exit 0, then {name} retention set to {RETENTION_DRIFT} days by API: "
            f"exit {tfplan.EXIT_DRIFT}, {line}"
        )

    def destroy(self) -> str:
        """The service under the apply role; the pipeline's roles by the administrator.

        The apply role may never touch the pipeline's own roles (DenyThePipelineRoles),
        so, like their creation, their removal is an administrator's step.
        """
        tf = self._tf(self.copy, "apply")
        # What an operator does first: lift deletion protection, let ECR go with its images.
        releasing = ["-var=alb_deletion_protection=false", "-var=ecr_force_delete=true"]
        targets = [
            "-target=module.ecs_cluster.aws_lb.this",
            "-target=module.ecr[0].aws_ecr_repository.this",
        ]
        tf.run(
            "apply", "-auto-approve", "-input=false", "-no-color", *self._vars, *releasing, *targets
        )
        calls = _module_calls(self.copy)
        service = [f"-target=module.{name}" for name in calls if name != PIPELINE]
        destroyed = tf.run(
            "destroy", "-auto-approve", "-input=false", "-no-color", *self._vars, *releasing,
            *service,
        )  # fmt: skip
        by_admin = self._tf(self.copy).run(
            "destroy", "-auto-approve", "-input=false", "-no-color", *self._vars, *releasing
        )
        return (
            f"{_destroyed(destroyed.stdout)} destroyed under the apply role, then "
            f"{_destroyed(by_admin.stdout)} (module.{PIPELINE}) by the administrator"
        )

    # --- staging: a second environment, its own state, its own roles --------------------

    def _staging_steps(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("staging: init on its own state object", self.staging_init),
            ("staging: apply quickstart-default-vpc (administrator)", self.staging_apply),
            ("staging: roles from its outputs", self.staging_roles),
            ("staging: plan under its plan role is empty", self.staging_plan),
        ]

    def _staging_tf(self, role: str | None = None) -> Terraform:
        """Terraform on the same root, with staging's data directory and a staging role."""
        tf = self._tf(self.copy)
        if role is not None:
            tf.env.update(self.staging_sessions[role].env())
        tf.env["TF_DATA_DIR"] = str(self.workdir / "staging.terraform")
        return tf

    def staging_init(self) -> str:
        """The shared backend settings, then environments/staging.backend.hcl's key."""
        key_file = environments.backend_file(self.copy, "staging")
        self._staging_tf().run(
            *INIT, f"-backend-config={self.workdir / 'backend.hcl'}", f"-backend-config={key_file}"
        )
        key = environments.setting(key_file, "key")
        if key == PRODUCTION_KEY:
            raise StepError(f"staging's state key is production's: {key}")
        return f"s3://{STATE_BUCKET}/{key}, beside production's {PRODUCTION_KEY}"

    def staging_apply(self) -> str:
        """Staging from the quick start and its var file; it reads production's shared parts."""
        quickstart = self.copy / "examples" / "quickstart-default-vpc.tfvars"
        self._staging_vars = [
            f"-var-file={quickstart}",
            f"-var-file={environments.var_file(self.copy, 'staging')}",
            f"-var=hosted_zone_id={self.zone_id}",
        ]
        tf = self._staging_tf()
        applied = tf.run("apply", "-auto-approve", "-input=false", "-no-color", *self._staging_vars)
        outputs = tf.json("output")
        repository = outputs["ecr_repository_name"]["value"]
        cluster = outputs["ecs_cluster_name"]["value"]
        self.staging_service = (str(cluster), str(outputs["ecs_service_name"]["value"]))
        self.staging_container = str(outputs["container_name"]["value"])
        if cluster == "finlex" or repository != "finlex":
            raise StepError(f"staging's cluster {cluster}, repository {repository}")
        return f"{self._count(applied.stdout)}; cluster {cluster}, shared repository {repository}"

    def staging_roles(self) -> str:
        outputs = self._staging_tf().json("output")
        for job, output in ROLE_OUTPUTS.items():
            arn = str(outputs[output]["value"])
            if arn in {s.role_arn for s in self.sessions.values()}:
                raise StepError(f"staging's {job} role is production's: {arn}")
            self.staging_sessions[job] = account.assume(self.account.url, arn, f"staging-{job}")
        return "; ".join(f"{job}: {s.role_arn}" for job, s in self.staging_sessions.items())

    def staging_plan(self) -> str:
        """Staging's plan role reads all of its stack, the shared repository and provider too."""
        plan = self._staging_tf("plan").run(
            "plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false",
            *self._staging_vars, codes=(0, 2),
        )  # fmt: skip
        if plan.returncode == 2:
            changed = re.findall(r"^\s+# (\S+) (will|must) be .*$", plan.stdout, re.MULTILINE)
            raise StepError(f"staging's plan is not empty: {sorted({n for n, _ in changed})}")
        return "exit 0"

    def cross_denials(self) -> str:
        """Each probe one line: staging's roles on production's resources, production's push."""
        outputs = self._tf(self.copy).json("output")
        prod = environments.find_production(
            self.account.url, outputs, STATE_BUCKET, PRODUCTION_KEY, self.zone_id
        )
        staging_name = environments.setting(environments.var_file(self.copy, "staging"), "name")
        first = len(self.account.gate.records())
        lines: list[str] = []
        failures: list[str] = []
        try:
            for probe in environments.probes(prod, staging_name):
                if probe.job == "production-deploy":
                    session = self._session("deploy")
                else:
                    session = self.staging_sessions[probe.job]
                try:
                    lines.append(environments.run_probe(self.account, session, probe))
                except environments.ProbeError as error:
                    failures.append(str(error))
        finally:
            # Denials on purpose: not counted against production's deploy role.
            self._broken_windows.append((first, len(self.account.gate.records())))
        if failures:
            raise StepError("; ".join(failures))
        return f"{len(lines)} calls, each denied naming its action and ARN\n" + "\n".join(lines)

    # --- promote: one digest, staging's deploy role, then production's ---------------

    def _promotion_steps(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("promote: staging deploys the pushed digest", self.staging_deploy),
            ("promote: staging verifies it and writes its record", self.staging_verify_record),
            ("promote: production promotes it from staging", self.production_promote),
            ("promote: production verifies it, verified lists it", self.production_verified),
            ("promote: a digest staging never verified is refused", self.unverified_refused),
            ("promote: a record of another digest is refused", self.mismatched_record_refused),
            (
                "broken copy: production's deploy role without ReadVerificationRecordsToPromote",
                self.promote_without_staging_records,
            ),
        ]

    def _staging_deploy_session(self) -> Session:
        if "deploy" not in self.staging_sessions:
            raise StepError("no session of staging's deploy role: 'staging: roles' did not run")
        return self.staging_sessions["deploy"]

    def _digest(self) -> str:
        """The digest staging deployed; StepError when 'promote: staging deploys' did not."""
        if not self.promoted:
            raise StepError("no digest deployed to staging: an earlier promote step failed")
        return self.promoted

    def _running(self, cluster: str, service: str) -> tuple[str, str]:
        """(task definition ARN, its container's image) of what the service runs."""
        revision = account.running_revision(self.account.url, cluster, service)
        definition = account.task_definition(self.account.url, revision)
        (container,) = definition["containerDefinitions"]
        return str(definition["taskDefinitionArn"]), str(container["image"])

    def _verify_record(
        self, environment: str, where: list[str], image_ref: str, session: Session
    ) -> tuple[str, record.Record]:
        """verify-record against the image served here; (record name, the record as stored)."""
        with served.served(self.docker, self.image) as app:
            result = self._release(
                "verify-record", "--environment", environment, *where, "--image", image_ref,
                "--url", app.url, "--allow-http", "--commit", app.revision, *RELEASE_WAITS,
                session=session,
            )  # fmt: skip
        self._expect(result, 0, f"verify-record --environment {environment}")
        printed = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        name = record.parameter_name(environment, printed.get("digest", ""))
        if printed.get("record") != name:
            raise StepError(f"verify-record printed {printed}, not record={name}")
        value = account.client(self.account.url, "ssm").get_parameter(Name=name)["Parameter"]
        stored = record.parse(name, str(value["Value"]))
        if (stored.environment, stored.commit) != (environment, app.revision):
            raise StepError(f"{name} holds {stored.summary()}")
        return name, stored

    def _staging_where(self) -> list[str]:
        """Staging's cluster, service and container, as make deploy passes them.

        The Makefile's TASK_CONTAINER defaults to SERVICE: infra/ names the container
        as the service, which this checks on staging's outputs.
        """
        cluster, service = self.staging_service
        if self.staging_container != service:
            raise StepError(
                f"staging's container is {self.staging_container!r}, its service {service!r}: "
                "make deploy's TASK_CONTAINER (default: SERVICE) would name the wrong one"
            )
        return ["--cluster", cluster, "--service", service, "--container-name", service]

    def staging_deploy(self) -> str:
        """deploy.yml's staging job: `deploy` of the pushed tag, then `status`."""
        cluster, service = self.staging_service
        tag = self.tags[0]
        session = self._staging_deploy_session()
        where = self._staging_where()
        deployed = self._release("deploy", *where, "--image", f"finlex:{tag}", *RELEASE_WAITS,
                                 session=session)  # fmt: skip
        self._expect(deployed, 0, f"deploy finlex:{tag} to {cluster}/{service}")
        status = self._release("status", *where[:4], session=session)
        self._expect(status, 0, "status")
        ecr = account.client(self.account.url, "ecr")
        pushed = ecr.describe_images(repositoryName="finlex", imageIds=[{"imageTag": tag}])
        digest = str(pushed["imageDetails"][0]["imageDigest"])
        arn, running = self._running(cluster, service)
        if not running.endswith(f"/finlex@{digest}"):
            raise StepError(f"{cluster}/{service} runs {running}, not finlex@{digest}")
        self.promoted = digest
        return (
            f"finlex:{tag} = {digest}: {cluster}/{service} runs it by digest on "
            f"{arn.rsplit('/', 1)[-1]}; status exit 0 (no probe: no load balancer answers here)"
        )

    def staging_verify_record(self) -> str:
        name, stored = self._verify_record(
            PROMOTE_FROM, self._staging_where(), f"finlex:{self.tags[0]}",
            self._staging_deploy_session(),
        )  # fmt: skip
        if stored.digest != self.promoted:
            raise StepError(f"{name} is of {stored.digest}, not the deployed {self.promoted}")
        self._staging_record = stored.to_json()
        return (
            f"{name} (staging's deploy role): commit {stored.commit}, checks "
            f"{', '.join(stored.checks)}; the URL is the image served on 127.0.0.1"
        )

    def production_promote(self) -> str:
        """deploy.yml's production job: `promote --from staging --to production` of the digest."""
        self._digest()
        before, _ = self._running("finlex", "finlex")
        result = self._release(
            "promote", "--from", PROMOTE_FROM, "--to", PROMOTE_TO, "--image",
            f"finlex@{self.promoted}", "--cluster", "finlex", "--service", "finlex",
            *RELEASE_WAITS,
        )  # fmt: skip
        self._expect(result, 0, "promote --from staging --to production")
        said = (result.stdout.strip().splitlines() or [""])[-1]
        arn, running = self._running("finlex", "finlex")
        if arn == before or not running.endswith(f"/finlex@{self.promoted}"):
            raise StepError(f"after promote, finlex/finlex runs {running} on {arn}")
        return f"{said}; finlex/finlex runs it by digest on {arn.rsplit('/', 1)[-1]}"

    def production_verified(self) -> str:
        production = ["--cluster", "finlex", "--service", "finlex", "--container-name", "finlex"]
        name, stored = self._verify_record(
            PROMOTE_TO, production, f"finlex@{self._digest()}", self._session("deploy")
        )
        listed = self._release("verified", "--environment", PROMOTE_TO)
        self._expect(listed, 0, "verified --environment production")
        first = (listed.stdout.strip().splitlines() or [""])[0]
        if stored.digest not in first:
            raise StepError(f"verified lists {first!r} first, not {stored.digest}")
        return f"{name}; verified --environment production: {' '.join(first.split())}"

    def _refused(self, digest: str, why: str) -> str:
        """promote of `digest` must exit FAILED saying `why`, production's service unchanged."""
        before, _ = self._running("finlex", "finlex")
        result = self._release(
            "promote", "--from", PROMOTE_FROM, "--to", PROMOTE_TO, "--image", f"finlex@{digest}",
            "--cluster", "finlex", "--service", "finlex", *RELEASE_WAITS,
        )  # fmt: skip
        line = self._expect(result, Exit.FAILED, f"promote of {digest}")
        after, _ = self._running("finlex", "finlex")
        if why not in line or after != before:
            raise StepError(f"promote said {line!r}; finlex/finlex went {before} -> {after}")
        return (
            f"exit {int(Exit.FAILED)}, production unchanged on {after.rsplit('/', 1)[-1]}: {line}"
        )

    def unverified_refused(self) -> str:
        """A second digest, pushed by staging's deploy role with a test record, never verified."""
        # The same image, its manifest written out another way: another digest.
        other = json.dumps(json.loads(self.manifest), indent=2)
        ecr = account.session_client(self.account.url, "ecr", self._staging_deploy_session())
        self._unverified = image.put(ecr, "finlex", UNVERIFIED_TAG, other)
        image.put(ecr, "finlex", f"tested-{UNVERIFIED_TAG}", other)
        if self._unverified == self.promoted:
            raise StepError("the unverified manifest has the verified one's digest")
        return self._refused(self._unverified, "has no staging verification record")

    def mismatched_record_refused(self) -> str:
        """Staging's deploy role copies the verified record onto the unverified digest."""
        if not (self._unverified and self._staging_record):
            raise StepError("no unverified digest or staging record: an earlier step failed")
        ssm = account.session_client(self.account.url, "ssm", self._staging_deploy_session())
        name = record.parameter_name(PROMOTE_FROM, self._unverified)
        ssm.put_parameter(Name=name, Value=self._staging_record, Type="String", Overwrite=True)
        return self._refused(self._unverified, f"is of digest {self.promoted}")

    def promote_without_staging_records(self) -> str:
        """promote under production's deploy role without its grant to read staging's records."""
        name = record.parameter_name(PROMOTE_FROM, self._digest())

        def attempt() -> str:
            result = self._release(
                "promote", "--from", PROMOTE_FROM, "--to", PROMOTE_TO, "--image",
                f"finlex@{self.promoted}", "--cluster", "finlex", "--service", "finlex",
                *RELEASE_WAITS,
            )  # fmt: skip
            self._expect(result, EXIT_CREDENTIALS, f"promote without {STAGING_RECORDS}")
            return result.stderr + result.stdout

        return self._fails_without(
            self._session("deploy"), STAGING_RECORDS, "ssm:GetParameter", f":parameter{name}",
            attempt,
        )  # fmt: skip

    def staging_destroy(self) -> str:
        """The service under staging's apply role, then its roles by the administrator."""
        tf = self._staging_tf("apply")
        releasing = ["-var=alb_deletion_protection=false"]
        tf.run(
            "apply", "-auto-approve", "-input=false", "-no-color", *self._staging_vars,
            *releasing, "-target=module.ecs_cluster.aws_lb.this",
        )  # fmt: skip
        owned = [
            f"-target=module.{n}" for n in _module_calls(self.copy) if n not in {PIPELINE, "ecr"}
        ]
        destroyed = tf.run(
            "destroy", "-auto-approve", "-input=false", "-no-color", *self._staging_vars,
            *releasing, *owned,
        )  # fmt: skip
        by_admin = self._staging_tf().run(
            "destroy", "-auto-approve", "-input=false", "-no-color", *self._staging_vars, *releasing
        )
        return (
            f"{_destroyed(destroyed.stdout)} destroyed under staging's apply role, then "
            f"{_destroyed(by_admin.stdout)} (module.{PIPELINE}) by the administrator"
        )

    def nothing_left(self) -> str:
        left = account.leftovers(self.account.url, {STATE_BUCKET, LOGS_BUCKET}, set())
        if left:
            raise StepError("still in the account: " + "; ".join(left))
        kept = account.active_task_definitions(self.account.url, "finlex")
        return (
            f"only the state bucket; {len(kept)} task definition revisions stay ACTIVE "
            "by design (skip_destroy, for rollback)"
        )


def _changes_module(plan: dict[str, Any], module: str) -> bool:
    """Whether a plan (terraform show -json) changes anything in module.<module>."""
    return any(
        change["address"].startswith(f"module.{module}.")
        and change["change"]["actions"] not in (["no-op"], ["read"])
        for change in plan.get("resource_changes", [])
    )


def _destroyed(output: str) -> str:
    match = re.search(r"Resources: (\d+) destroyed", output)
    return match.group(1) if match else "?"


def _module_calls(root: Path) -> list[str]:
    """Names of the modules the root calls."""
    return sorted(
        name for path in root.glob("*.tf") for name, _ in _MODULE_CALL.findall(path.read_text())
    )


def _flat_lines(output: str) -> list[str]:
    """A tool's output, one line per line, without Terraform's box drawing or runs of spaces."""
    return [" ".join(line.replace("│", " ").split()) for line in output.splitlines()]


def _last_error(output: str) -> str:
    """The first line of a tool's error output, flattened."""
    flat = _flat_lines(output)
    found = [line for line in flat if line.startswith(("Error", "finlex-release"))]
    return (found or [line for line in flat if line] or [""])[0][:240]


def _denial_line(failure: str, action: str) -> str:
    """The line of a failure's output that names the denied action."""
    flat = _flat_lines(failure)
    found = [line for line in flat if action in line]
    return found[0] if found else flat[-1] if flat else ""


def _modules(module: dict[str, Any]) -> list[dict[str, Any]]:
    found = [module]
    for child in module.get("child_modules", []):
        found += _modules(child)
    return found


def _module_key(address: str) -> tuple[str, str, str]:
    """("module.x", type, name) of a resource instance address."""
    parts = re.sub(r"\[[^\]]*\]", "", address).split(".")
    module = ".".join(parts[:-2])
    return module, parts[-2], parts[-1]


def _claims_cbd(root: Path) -> set[tuple[str, str, str]]:
    """(module address, type, name) of every resource whose lifecycle sets create_before_destroy."""
    block = re.compile(r'^resource "([^"]+)" "([^"]+)" \{(.*?)^\}', re.MULTILINE | re.DOTALL)
    calls = {"": root}
    for path in root.glob("*.tf"):
        for name, source in _MODULE_CALL.findall(path.read_text()):
            calls[f"module.{name}"] = (root / source).resolve()
    found = set()
    for module, folder in calls.items():
        for path in folder.glob("*.tf"):
            for kind, name, body in block.findall(path.read_text()):
                if re.search(r"^\s*create_before_destroy\s*=\s*true", body, re.MULTILINE):
                    found.add((module, kind, name))
    return found


def _allow_findings(blocked: str) -> str:
    """An allowlist of the findings that scan-gate named ("CVE-... (package)"), for a day."""
    found = sorted(set(re.findall(r"(CVE-\d{4}-\d+) \(([^)\s]+)\)", blocked)))
    if not found:
        raise StepError(f"scan-gate named no CVE and package to allowlist: {blocked}")
    added = time.strftime("%Y-%m-%d", time.gmtime())
    expires = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    entries = [
        f'[[allow]]\nid = "{cve}"\npackage = "{package}"\nreason = "{_EMULATOR_FINDING}"\n'
        f'owner = "@finlex/platform"\nadded = {added}\nexpires = {expires}\n'
        for cve, package in found
    ]
    return "\n".join(entries)
