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

import tfplan
from rehearse import account, emulator, image
from rehearse.emulator import Emulator
from rehearse.terraform import (
    Terraform,
    TerraformError,
    backend_config,
    cli_config,
    working_copy,
)

T = TypeVar("T")

STATE_BUCKET = f"finlex-tfstate-{emulator.ACCOUNT_ID}-{emulator.REGION}"
LOGS_BUCKET = f"finlex-alb-logs-{emulator.ACCOUNT_ID}-{emulator.REGION}"
DEPLOY_USER = "rehearsal-deploy"
CRIPPLED_USER = "rehearsal-deploy-without-register"
# The action removed from the deploy policy to show the tool fails without it.
REMOVED_ACTION = "ecs:RegisterTaskDefinition"
EXIT_CREDENTIALS = 3  # finlex-release's code for access denied (release/README.md)
DEPLOY_POLICY = "module.github_oidc.aws_iam_role_policy.deploy"
SERVICE_TYPE = "aws_ecs_service"
# The one service block in both autoscaling modes; no flip may replace or move it.
SERVICE_ADDRESS = "module.ecs_cluster.aws_ecs_service.this"
_EMULATOR_FINDING = "moto reports it for every image"
# The checks after the applies, in the order they run (--checks picks some).
CHECKS = ("release", "plan", "replace", "planfile", "destroy")
# planfile: the reviewed change, a plan made beside it, and the out-of-band drift.
TFPLAN = Path(__file__).resolve().parents[1] / "tfplan.py"
LOG_GROUP = "module.ecs_cluster.aws_cloudwatch_log_group.this"
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
    _vars: list[str] = field(default_factory=list)

    # --- plumbing ---------------------------------------------------------

    def _tf(self, folder: Path) -> Terraform:
        env = {
            "TF_CLI_CONFIG_FILE": str(self.workdir / "terraform.rc"),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
            "TF_PLUGIN_CACHE_DIR": "",
        }
        return Terraform(folder, self.workdir / "terraform.log", env, self.terraform)

    def _count(self, output: str) -> str:
        match = _APPLIED.search(output)
        if not match:
            return "applied"
        added, changed, destroyed = (int(value) for value in match.groups())
        self.report.created += added
        return f"{added} created, {changed} changed, {destroyed} destroyed"

    def _release(self, *args: str, key: tuple[str, str]) -> subprocess.CompletedProcess[str]:
        tool = Path(sys.executable).with_name("finlex-release")
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.account.url,
            "AWS_REGION": emulator.REGION,
            "AWS_ACCESS_KEY_ID": key[0],
            "AWS_SECRET_ACCESS_KEY": key[1],
        }
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.pop(name, None)
        with self.account.enforcing_iam():
            result = subprocess.run(  # noqa: S603 - argument list, no shell
                [str(tool), *args], env=env, capture_output=True, text=True, check=False
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
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("working copy of infra/", self.prepare),
            ("validate", self.validate),
            (
                "bootstrap: state bucket by API" if self.bootstrap_by_api else "bootstrap: apply",
                self.bootstrap,
            ),
            ("root: init on the s3 backend", self.init_root),
        ]
        for example in self.selected_examples():
            for autoscaling in self.autoscaling:
                label = f"root: apply {example.stem}, autoscaling {autoscaling}"
                steps.append((label, self.applier(example, autoscaling)))
        steps.append(("image: manifest into ECR", self.push_image))
        for name, run in steps:
            if self.report.step(name, run) is None and self.report.failed:
                return
        # What follows checks the applied account: each check runs, and reports,
        # even when an earlier one failed (a broken policy hides no broken plan).
        checks: dict[str, list[tuple[str, Callable[[], Any]]]] = {
            "release": [
                ("release: under the deploy policy", self.release),
                (f"release: without {REMOVED_ACTION}", self.release_denied),
            ],
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
            "destroy": [
                ("destroy", self.destroy),
                ("nothing left but the bootstrap", self.nothing_left),
            ],
        }
        for group in CHECKS:
            if group in self.checks:
                for name, run in checks[group]:
                    self.report.step(name, run)

    def selected_examples(self) -> list[Path]:
        found = sorted((self.infra / "examples").glob("*.tfvars"))
        if self.examples:
            found = [path for path in found if path.stem in self.examples]
        # The quick start first: it creates everything; the other changes it.
        return sorted(found, key=lambda path: not path.stem.startswith("quickstart"))

    def prepare(self) -> str:
        self.copy = working_copy(self.infra, self.workdir / "infra", self.account.url)
        cli_config(self.mirror, self.workdir / "terraform.rc")
        self.zone_id = account.hosted_zone(self.account.url, "example.com")
        account.bucket(self.account.url, LOGS_BUCKET)
        self.network = account.private_network(self.account.url)
        return f"{self.copy.name}/ + emulator_override.tf; hosted zone {self.zone_id}"

    def validate(self) -> str:
        for folder in (self.copy, self.copy / "bootstrap"):
            tf = self._tf(folder)
            tf.run("init", "-backend=false", "-input=false", "-no-color")
            tf.run("validate", "-no-color")
        return "root and bootstrap, with the real provider"

    def bootstrap(self) -> str:
        if self.bootstrap_by_api:
            account.bucket(self.account.url, STATE_BUCKET)
            return f"{STATE_BUCKET} (infra/bootstrap not applied)"
        tf = self._tf(self.copy / "bootstrap")
        tf.run("init", "-input=false", "-no-color")
        applied = tf.run(
            "apply", "-auto-approve", "-input=false", "-no-color",
            f"-var=state_bucket_name={STATE_BUCKET}",
        )  # fmt: skip
        return self._count(applied.stdout)

    def init_root(self) -> str:
        config = self.workdir / "backend.hcl"
        config.write_text(
            backend_config(self.account.url, STATE_BUCKET, "finlex/terraform.tfstate")
        )
        self._tf(self.copy).run("init", "-input=false", "-no-color", f"-backend-config={config}")
        return f"s3://{STATE_BUCKET}/finlex/terraform.tfstate, use_lockfile"

    def example_vars(self, example: Path) -> list[str]:
        args = [f"-var-file={self.copy / 'examples' / example.name}"]
        args.append(f"-var=hosted_zone_id={self.zone_id}")
        if "vpc_id" in example.read_text() and "private" in example.stem:
            net = self.network
            args += [
                f"-var=vpc_id={net.vpc_id}",
                f"-var=alb_subnet_ids={json.dumps(net.alb_subnet_ids)}",
                f"-var=task_subnet_ids={json.dumps(net.task_subnet_ids)}",
                f"-var=task_egress_prefix_list_ids={json.dumps([net.prefix_list_id])}",
            ]
        return args

    def applier(self, example: Path, autoscaling: str) -> Callable[[], str]:
        def apply() -> str:
            tf = self._tf(self.copy)
            self._vars = [*self.example_vars(example), f"-var=autoscaling_enabled={autoscaling}"]
            plan_file = self.workdir / f"apply-{example.stem}-autoscaling-{autoscaling}.tfplan"
            tf.run("plan", "-input=false", "-no-color", *self._vars, f"-out={plan_file}")
            kept = self._service_kept(tf.json("show", str(plan_file)))
            applied = tf.run("apply", "-input=false", "-no-color", str(plan_file))
            return f"{kept}; {self._count(applied.stdout)}"

        return apply

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
        layers = len(json.loads(docker_manifest)["layers"])
        return f"{self.image}: {layers} layers, {', '.join(d[:19] for d in digests)}"

    def deploy_policy(self) -> dict[str, Any]:
        state = self._tf(self.copy).json("show")
        for module in _modules(state["values"]["root_module"]):
            for resource in module.get("resources", []):
                if resource["address"] == DEPLOY_POLICY:
                    policy: dict[str, Any] = json.loads(resource["values"]["policy"])
                    return policy
        raise StepError(f"{DEPLOY_POLICY} is not in the state")

    def release(self) -> str:
        try:
            return self._release_steps()
        except StepError as failed:
            raise StepError(f"under {DEPLOY_POLICY}: {failed}") from failed

    def _release_steps(self) -> str:
        policy = self.deploy_policy()
        key = account.deploy_user(self.account.url, DEPLOY_USER, policy)
        allowlist = self.workdir / "emulator-allowlist.toml"
        gate = self._release("scan-gate", "--repository", "finlex", "--image-tag", self.tags[0],
                             "--allowlist", "release/scan-allowlist.toml", key=key)  # fmt: skip
        blocked = self._expect(gate, 1, "scan-gate on moto's made-up finding")
        allowlist.write_text(_allow_findings(blocked))
        gate = self._release("scan-gate", "--repository", "finlex", "--image-tag", self.tags[0],
                             "--allowlist", str(allowlist), key=key)  # fmt: skip
        self._expect(gate, 0, "scan-gate with the emulator's finding allowlisted")
        service = ["--cluster", "finlex", "--service", "finlex"]
        waits = ["--timeout", "60", "--interval", "1"]
        for tag in self.tags:
            deployed = self._release(
                "deploy", *service, "--image", f"finlex:{tag}", *waits, key=key
            )
            self._expect(deployed, 0, f"deploy finlex:{tag}")
        self._expect(self._release("status", *service, key=key), 0, "status")
        back = self._release("rollback", *service, *waits, key=key)
        self._expect(back, 0, "rollback")
        running = account.running_revision(self.account.url, "finlex", "finlex")
        return (
            "scan-gate blocked, then passed with the finding allowlisted; "
            f"deployed 2 releases; rolled back to {running}"
        )

    def release_denied(self) -> str:
        crippled = account.without_action(self.deploy_policy(), REMOVED_ACTION)
        key = account.deploy_user(self.account.url, CRIPPLED_USER, crippled)
        service = ["--cluster", "finlex", "--service", "finlex"]
        image_ref = f"finlex:{self.tags[1]}"
        result = self._release("deploy", *service, "--image", image_ref, "--timeout", "30", key=key)
        line = self._expect(result, EXIT_CREDENTIALS, f"deploy without {REMOVED_ACTION}")
        return f"exit {EXIT_CREDENTIALS}: {line}"

    def plan_is_empty(self) -> str:
        plan = self._tf(self.copy).run(
            "plan", "-detailed-exitcode", "-input=false", "-no-color", *self._vars, codes=(0, 2)
        )
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
        tf = self._tf(self.copy)
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
        applied = self._tf(self.copy).run(
            "apply", "-auto-approve", "-input=false", "-no-color", *self._vars, *replace
        )
        return f"{len(replace)} replaced create-before-destroy: {self._count(applied.stdout)}"

    # --- planfile: apply exactly the reviewed plan (tools/tfplan.py) -------------

    def _tfplan(self, *args: str) -> subprocess.CompletedProcess[str]:
        """tools/tfplan.py on the working copy, with the rehearsal's Terraform and its env."""
        tf = self._tf(self.copy)
        command = [sys.executable, str(TFPLAN), "--chdir", str(tf.chdir)]
        command += ["--terraform", shlex.quote(tf.binary), *args]
        result = subprocess.run(  # noqa: S603 - argument list, no shell
            command, env={**os.environ, **tf.env}, capture_output=True, text=True, check=False
        )
        with (self.workdir / "tfplan.log").open("a") as log:
            log.write(f"\n$ tfplan {' '.join(args)} -> {result.returncode}\n")
            log.write(result.stdout + result.stderr)
        return result

    def _saved_plan(self, name: str, retention: int) -> Path:
        """A plan that sets the log retention, saved and recorded as `make tf-plan` does."""
        plan = self.workdir / name
        self._tf(self.copy).run(
            "plan", "-input=false", "-no-color", "-lock=false", *self._vars,
            f"-var=log_retention_days={retention}", f"-out={plan}",
        )  # fmt: skip
        self._expect(self._tfplan("record", str(plan)), 0, f"tfplan record {name}")
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
        refused = self._tfplan("apply", str(swapped))
        line = self._expect(refused, tfplan.EXIT_HASH, "apply of a changed plan file")
        if self._retention() != before:
            raise StepError(f"the changed plan was applied anyway: {line}")
        return f"exit {tfplan.EXIT_HASH}, nothing applied: {line}"

    def saved_plan_applies(self) -> str:
        applied = self._tfplan("apply", str(self.reviewed_plan))
        line = self._expect(applied, 0, "apply of the reviewed plan")
        if (retention := self._retention()) != RETENTION_REVIEWED:
            raise StepError(f"log retention is {retention} days after {line}")
        return f"{line}; log retention {retention} days, as reviewed"

    def stale_plan_refused(self) -> str:
        refused = self._tfplan("apply", str(self.other_plan))
        line = self._expect(refused, tfplan.EXIT_STALE, "apply of a plan made before that apply")
        if (retention := self._retention()) != RETENTION_REVIEWED:
            raise StepError(f"the stale plan changed the log retention to {retention} days")
        return f"exit {tfplan.EXIT_STALE}, nothing applied: {line}"

    def drift_reported(self) -> str:
        check = ["drift", str(self.workdir / "drift.tfplan"), "--", *self._vars]
        check.append(f"-var=log_retention_days={RETENTION_REVIEWED}")
        self._expect(self._tfplan(*check), 0, "drift check before the change")
        name = self._state_value(LOG_GROUP, "name")
        logs = account.client(self.account.url, "logs")
        logs.put_retention_policy(logGroupName=name, retentionInDays=RETENTION_DRIFT)
        line = self._expect(self._tfplan(*check), tfplan.EXIT_DRIFT, "drift check after it")
        if LOG_GROUP not in line:
            raise StepError(f"the drift check did not name {LOG_GROUP}: {line}")
        return (
            f"exit 0, then {name} retention set to {RETENTION_DRIFT} days by API: "
            f"exit {tfplan.EXIT_DRIFT}, {line}"
        )

    def destroy(self) -> str:
        tf = self._tf(self.copy)
        # What an operator does first: lift deletion protection, let ECR go with its images.
        releasing = ["-var=alb_deletion_protection=false", "-var=ecr_force_delete=true"]
        targets = [
            "-target=module.ecs_cluster.aws_lb.this",
            "-target=module.ecr.aws_ecr_repository.this",
        ]
        tf.run(
            "apply", "-auto-approve", "-input=false", "-no-color", *self._vars, *releasing, *targets
        )
        destroyed = tf.run(
            "destroy", "-auto-approve", "-input=false", "-no-color", *self._vars, *releasing
        )
        match = re.search(r"Resources: (\d+) destroyed", destroyed.stdout)
        return f"{match.group(1) if match else '?'} destroyed"

    def nothing_left(self) -> str:
        users = {DEPLOY_USER, CRIPPLED_USER}
        left = account.leftovers(self.account.url, {STATE_BUCKET, LOGS_BUCKET}, users)
        if left:
            raise StepError("still in the account: " + "; ".join(left))
        kept = account.active_task_definitions(self.account.url, "finlex")
        return (
            f"only the state bucket; {len(kept)} task definition revisions stay ACTIVE "
            "by design (skip_destroy, for rollback)"
        )


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
    """An allowlist of the CVEs that scan-gate named, valid for a day."""
    cves = sorted(set(re.findall(r"CVE-\d{4}-\d+", blocked)))
    if not cves:
        raise StepError(f"scan-gate named no CVE to allowlist: {blocked}")
    expires = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    entries = [
        f'[[allow]]\ncve = "{cve}"\nreason = "{_EMULATOR_FINDING}"\nexpires = {expires}\n'
        for cve in cves
    ]
    return "\n".join(entries)
