"""Apply exactly the Terraform plan that was reviewed, and watch for drift.

A saved plan (``terraform plan -out=PLAN``) is what reviewers approve. This
tool records it, refuses to apply anything else, and turns Terraform's
refusal of a stale plan into one clear line. It runs the Terraform CLI only;
standard library only, so CI needs no virtualenv for it.

Usage: python tools/tfplan.py [--chdir DIR] [--terraform TF] COMMAND ...
  record PLAN          after `terraform plan -out=PLAN`: write PLAN.sha256 (sha256sum
                       format) and PLAN.md (a Markdown summary from `terraform show -json`)
  summary PLAN         print PLAN.md, or a note that no plan was saved (a job summary)
  outputs PLAN         print sha256=HEX and changes=true|false (for GITHUB_OUTPUT)
  verify PLAN          check PLAN against PLAN.sha256 (and --sha256 HEX when given)
  apply PLAN           verify, then `terraform apply PLAN`: that file, never a new plan
  drift PLAN [-- ARG]  `terraform plan -detailed-exitcode -lock=false -out=PLAN ARG...`;
                       fail with its summary when anything would change
PLAN is relative to DIR, as Terraform's own -chdir takes it.

Exit codes:
  0  done: recorded, verified, applied, or no drift
  1  drift: the plan would change something (the summary says what)
  2  bad arguments or a missing plan file
  3  the plan file does not match the SHA-256 recorded for it (or none is recorded):
     nothing was applied
  4  Terraform refused the plan as stale (the state changed after it was made):
     nothing was applied
  5  Terraform failed (its own error output says why)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shlex
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_USAGE = 2
EXIT_HASH = 3
EXIT_STALE = 4
EXIT_TERRAFORM = 5

# How every plan and apply runs: no prompt, no colour codes in logs. Plans take
# no state lock: the plan role cannot write the lock file, and a saved plan
# whose state changed meanwhile is refused at apply time (EXIT_STALE).
PLAN_ARGS = ("plan", "-input=false", "-no-color", "-lock=false")
APPLY_ARGS = ("apply", "-input=false", "-no-color", "-lock-timeout=5m")
# Terraform's words for a saved plan made before the state last changed.
STALE = "Saved plan is stale"
# The full `terraform show` text goes into the summary up to this size (GitHub
# takes 1 MiB per step summary).
SHOW_LIMIT = 200_000
_SHA256_LINE = re.compile(r"^(?P<hex>[0-9a-f]{64}) [ *](?P<name>.+)$")


class PlanError(Exception):
    """Stop with one line and an exit code (nothing was applied)."""

    def __init__(self, code: int, line: str) -> None:
        super().__init__(line)
        self.code = code


# --- the plan's content -------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    address: str
    actions: tuple[str, ...]
    reason: str = ""

    @property
    def kind(self) -> str:
        """add, change, destroy, replace, or Terraform's own word (forget, ...)."""
        if set(self.actions) == {"create", "delete"}:
            return "replace"
        word = self.actions[0] if len(self.actions) == 1 else " then ".join(self.actions)
        return {"create": "add", "update": "change", "delete": "destroy"}.get(word, word)

    def line(self) -> str:
        what = self.kind
        if what == "replace":
            what += f" ({' then '.join(self.actions)})"
        if self.reason:
            what += f", {self.reason.replace('_', ' ')}"
        return f"- `{self.address}`: {what}"


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    outputs: tuple[str, ...]  # outputs whose value changes
    drifted: tuple[Change, ...]  # changed outside Terraform, seen by the refresh
    terraform_version: str
    timestamp: str

    @property
    def counts(self) -> Counter[str]:
        return Counter(change.kind for change in self.changes)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.outputs)

    def tally(self) -> str:
        counts = self.counts
        main = [f"{counts[k]} to {k}" for k in ("add", "change", "destroy", "replace")]
        other = [f"{n} to {k}" for k, n in sorted(counts.items()) if k not in _MAIN_KINDS]
        return ", ".join(main + other)


_MAIN_KINDS = {"add", "change", "destroy", "replace"}
_NOT_A_CHANGE = {("no-op",), ("read",)}


def parse_plan(document: dict[str, Any]) -> Plan:
    """The changes of `terraform show -json PLAN`; values are never read (they may be secret)."""

    def changes(key: str) -> tuple[Change, ...]:
        found = []
        for entry in document.get(key) or []:
            actions = tuple(entry["change"]["actions"])
            if actions not in _NOT_A_CHANGE:
                found.append(Change(entry["address"], actions, entry.get("action_reason", "")))
        return tuple(found)

    outputs = tuple(
        name
        for name, change in sorted((document.get("output_changes") or {}).items())
        if tuple(change["actions"]) not in _NOT_A_CHANGE
    )
    return Plan(
        changes=changes("resource_changes"),
        outputs=outputs,
        drifted=changes("resource_drift"),
        terraform_version=str(document.get("terraform_version", "?")),
        timestamp=str(document.get("timestamp", "?")),
    )


def markdown(plan: Plan, name: str, sha256: str, shown: str, title: str = "terraform plan") -> str:
    """What a reviewer reads before approving the apply, and what a drift report says."""
    lines = [f"### {title}: `{name}`", ""]
    if plan.has_changes:
        lines.append(f"**{plan.tally()}**")
    else:
        lines.append("**No changes.** The infrastructure matches the configuration.")
    lines += ["", f"sha256 `{sha256}`, Terraform {plan.terraform_version}, {plan.timestamp}"]
    if plan.changes:
        lines += ["", *(change.line() for change in plan.changes)]
    if plan.outputs:
        lines += ["", "Outputs that change: " + ", ".join(f"`{o}`" for o in plan.outputs)]
    if plan.drifted:
        lines += ["", "Changed outside Terraform (seen by the refresh):", ""]
        lines += [change.line() for change in plan.drifted]
    if shown:
        lines += ["", "<details><summary>terraform show</summary>", "", _fenced(shown)]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _fenced(text: str) -> str:
    if len(text) > SHOW_LIMIT:
        text = (
            text[:SHOW_LIMIT] + f"\n... (cut at {SHOW_LIMIT} characters: the plan's log has it all)"
        )
    text = text.strip("\n")
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}\n{text.rstrip()}\n{fence}"


# --- the file and its hash ----------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_file(plan: Path) -> Path:
    return plan.with_name(plan.name + ".sha256")


def summary_file(plan: Path) -> Path:
    return plan.with_name(plan.name + ".md")


def write_hash(plan: Path) -> str:
    """PLAN.sha256 in sha256sum's format, so `sha256sum -c` checks it too."""
    value = sha256_of(plan)
    hash_file(plan).write_text(f"{value}  {plan.name}\n", encoding="utf-8")
    return value


def recorded_hash(plan: Path) -> str:
    record = hash_file(plan)
    if not record.is_file():
        raise PlanError(EXIT_HASH, f"{plan.name}: no {record.name} records its hash: not applied")
    match = _SHA256_LINE.match(record.read_text(encoding="utf-8").strip())
    if match is None:
        raise PlanError(EXIT_HASH, f"{record.name} is not one sha256sum line: not applied")
    if Path(match["name"]).name != plan.name:
        raise PlanError(EXIT_HASH, f"{record.name} records {match['name']}, not {plan.name}")
    return match["hex"]


def verify(plan: Path, expected: str | None = None) -> str:
    """The plan's hash, if it is the one recorded (and `expected`); else PlanError."""
    existing(plan)
    recorded = recorded_hash(plan)
    actual = sha256_of(plan)
    if actual != recorded:
        raise PlanError(
            EXIT_HASH,
            f"{plan.name} has changed since it was planned (sha256 {actual[:12]}..., "
            f"recorded {recorded[:12]}...): not applied; plan again",
        )
    if expected is not None and expected.lower() != recorded:
        raise PlanError(
            EXIT_HASH,
            f"{plan.name} is not the plan that was reviewed (sha256 {recorded[:12]}..., "
            f"the plan job recorded {expected[:12]}...): not applied",
        )
    return actual


def existing(plan: Path) -> Path:
    if not plan.is_file():
        raise PlanError(
            EXIT_USAGE, f"{plan} is missing: run `terraform plan -out={plan.name}` first"
        )
    return plan


# --- Terraform ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Terraform:
    command: tuple[str, ...]
    chdir: Path

    def run(self, *args: str, stream: bool = False) -> subprocess.CompletedProcess[str]:
        """Run Terraform; with `stream`, its standard output goes straight to ours."""
        argv = [*self.command, f"-chdir={self.chdir}", *args]
        try:
            return subprocess.run(  # noqa: S603 - argument list, no shell
                argv,
                stdout=None if stream else subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                check=False,
            )
        except OSError as error:
            raise PlanError(EXIT_TERRAFORM, f"cannot run {argv[0]}: {error.strerror}") from error

    def checked(self, *args: str) -> str:
        result = self.run(*args)
        if result.returncode != 0:
            raise _terraform_failed(args[0], result)
        return result.stdout

    def show_json(self, plan: Path) -> dict[str, Any]:
        text = self.checked("show", "-json", str(plan))
        try:
            document: dict[str, Any] = json.loads(text)
        except json.JSONDecodeError as error:
            raise PlanError(
                EXIT_TERRAFORM, f"`terraform show -json {plan.name}` printed no JSON: {error}"
            ) from error
        return document


def _terraform_failed(what: str, result: subprocess.CompletedProcess[str]) -> PlanError:
    sys.stderr.write(result.stderr)
    return PlanError(
        EXIT_TERRAFORM, f"terraform {what} failed (exit {result.returncode}): see above"
    )


def describe(tf: Terraform, plan: Path, title: str = "terraform plan") -> tuple[Plan, str]:
    """The plan's content and its Markdown summary (written next to it)."""
    content = parse_plan(tf.show_json(plan))
    shown = tf.checked("show", "-no-color", str(plan))
    text = markdown(content, plan.name, sha256_of(plan), shown, title)
    summary_file(plan).write_text(text, encoding="utf-8")
    return content, text


# --- commands -----------------------------------------------------------------------------


def record(tf: Terraform, plan: Path) -> str:
    existing(plan)
    value = write_hash(plan)
    content, _ = describe(tf, plan)
    return (
        f"{plan.name}: {content.tally()}; sha256 {value}; "
        f"summary {summary_file(plan).name}, hash {hash_file(plan).name}"
    )


def summary(plan: Path) -> str:
    written = summary_file(plan)
    if written.is_file():
        return written.read_text(encoding="utf-8")
    return f"### terraform plan: `{plan.name}`\n\n(no plan was saved: see the plan step's log)\n"


def outputs(tf: Terraform, plan: Path) -> str:
    value = verify(plan)
    content = parse_plan(tf.show_json(plan))
    return f"sha256={value}\nchanges={'true' if content.has_changes else 'false'}\n"


def apply(tf: Terraform, plan: Path, expected: str | None) -> str:
    value = verify(plan, expected)
    result = tf.run(*APPLY_ARGS, str(plan), stream=True)
    if result.returncode != 0:
        if STALE in result.stderr:
            raise PlanError(
                EXIT_STALE,
                f"{plan.name} is stale: the state changed after it was planned "
                "(another apply ran): not applied; plan again and review the new plan",
            )
        raise _terraform_failed("apply", result)
    return f"applied {plan.name} (sha256 {value}), the plan that was reviewed"


def drift(tf: Terraform, plan: Path, plan_args: Sequence[str]) -> str:
    """Plan (no lock) and summarize into PLAN.md; on any change print it and stop (EXIT_DRIFT)."""
    result = tf.run(*PLAN_ARGS, "-detailed-exitcode", f"-out={plan}", *plan_args)
    if result.returncode not in {0, 2}:
        raise _terraform_failed("plan", result)
    content, text = describe(tf, plan, title="drift")
    if result.returncode == 0:
        return "no drift: the infrastructure matches the configuration and the state"
    print(text)
    addresses = ", ".join(change.address for change in content.changes) or "outputs only"
    raise PlanError(
        EXIT_DRIFT,
        f"drift: {content.tally()}: {addresses} (summary: {summary_file(plan).name})",
    )


# --- command line -------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tfplan", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chdir", type=Path, default=Path(), help="the Terraform root")
    parser.add_argument("--terraform", default="terraform", help="the terraform command")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("record", "summary", "outputs", "verify", "apply", "drift"):
        command = commands.add_parser(name)
        command.add_argument("plan", type=Path, help="the plan file, relative to --chdir")
        if name in {"verify", "apply"}:
            command.add_argument(
                "--sha256", help="the hash the plan job recorded (empty: PLAN.sha256 only)"
            )
        if name == "drift":
            command.add_argument("plan_args", nargs="*", help="more `terraform plan` arguments")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    command = tuple(shlex.split(args.terraform)) or ("terraform",)
    tf = Terraform(command, args.chdir)
    # Absolute, because Terraform resolves paths after its own -chdir.
    plan = (args.chdir / args.plan).absolute()
    expected = getattr(args, "sha256", None) or None
    try:
        if args.command == "record":
            print(f"tfplan: {record(tf, plan)}")
        elif args.command == "summary":
            print(summary(plan), end="")
        elif args.command == "outputs":
            print(outputs(tf, plan), end="")
        elif args.command == "verify":
            print(f"tfplan: {plan.name} matches its recorded sha256 {verify(plan, expected)}")
        elif args.command == "apply":
            print(f"tfplan: {apply(tf, plan, expected)}")
        else:
            print(f"tfplan: {drift(tf, plan, args.plan_args)}")
    except PlanError as stopped:
        print(f"tfplan: {stopped}", file=sys.stderr)
        return stopped.code
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
