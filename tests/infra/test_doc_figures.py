"""Numbers the docs state that the code holds: each tied to its one home.

A figure in prose is read with a regular expression and compared with the value
its home holds (application/finlex_api/settings.py, application/finlex_api/routes.py, the variables'
defaults in infra/, the release tool's constants and parser defaults, the
workflows). A doc that stops stating a figure fails too: rewording it means
updating its test, not losing the tie.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from finlex_api import routes, settings
from support.terraform.hcl import ECR, ECS, INFRA, MONITORING, default_of, expr, labelled, locals_of
from support.terraform.hcl import resources as resources_of

REPO = Path(__file__).resolve().parents[2]
DOCS = [
    REPO / "README.md",
    INFRA / "README.md",
    *sorted((INFRA / "modules").glob("*/README.md")),
    REPO / "release" / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
]


def prose(path: Path) -> str:
    """A doc with every run of whitespace made one space, so that a figure
    wrapped across lines still matches one pattern."""
    return " ".join(path.read_text(encoding="utf-8").split())


def stated(path: Path, pattern: str) -> tuple[str, ...]:
    """The groups of `pattern`'s one match in `path` (whitespace-normalised)."""
    found = re.search(pattern, prose(path))
    assert found, f"{path.relative_to(REPO)} no longer states /{pattern}/: update this test"
    return found.groups()


def effective(module: Path, call: str, variable: str) -> Any:
    """What the root gives a module variable: the root default it passes on, else the module's."""
    body = labelled(INFRA, "module")[call]
    if variable in body:
        passed = re.fullmatch(r"var\.(\w+)", expr(body[variable]))
        assert passed, f"root passes {variable} = {body[variable]}; not a plain variable"
        return default_of(INFRA, passed.group(1))
    return default_of(module, variable)


def ecs(variable: str) -> int:
    return int(effective(ECS, "ecs_cluster", variable))


def prestop_delay() -> int:
    margin = int(locals_of(ECS)["prestop_margin"])
    return ecs("health_check_interval") * ecs("unhealthy_threshold") + margin


def test_the_runbook_gives_the_albs_idle_timeout_its_default() -> None:
    runbook = (REPO / "docs" / "runbook.md").read_text()
    stated = re.findall(r"`alb_idle_timeout`, (\d+) s by default", runbook)
    assert stated, "the runbook no longer names alb_idle_timeout's default"
    default = default_of(INFRA / "modules" / "ecs_cluster", "alb_idle_timeout")
    assert {int(value) for value in stated} == {int(default)}


def test_infra_readme_gives_the_stop_figures_their_defaults() -> None:
    module = REPO / "infra" / "modules" / "ecs_cluster"
    interval = int(default_of(module, "health_check_interval"))
    threshold = int(default_of(module, "unhealthy_threshold"))
    stop = int(default_of(module, "stop_timeout"))
    readme = (REPO / "infra" / "README.md").read_text()
    prestop = re.search(
        r"\| `FINLEX_PRESTOP_DELAY` \| (\d+) s \(`health_check_interval` (\d+) s x "
        r"`unhealthy_threshold` (\d+) \+ (\d+)\)",
        readme,
    )
    assert prestop, "infra/README.md no longer gives the pre-stop delay"
    delay, said_interval, said_threshold, margin = (int(group) for group in prestop.groups())
    assert (said_interval, said_threshold) == (interval, threshold)
    assert margin == int(locals_of(module)["prestop_margin"])
    assert delay == interval * threshold + margin
    assert re.search(rf"\| `stopTimeout` \| {stop} s \|", readme)


# --- the app's contract: port, health path, user, graceful bound, keep-alive ---


def test_infra_readme_contract_table_gives_the_apps_values() -> None:
    readme = INFRA / "README.md"
    (port,) = stated(readme, r"\| container port \| (\d+) \|")
    assert int(port) == settings.Settings().port == ecs("container_port")
    (path,) = stated(readme, r"\| target group and container health check \| `([^`]+)` \|")
    assert path == routes.HEALTH_PATH == effective(ECS, "ecs_cluster", "health_check_path")
    delay, graceful = stated(
        readme, r"\| deregistration delay \| (\d+) s \| > `DEFAULT_GRACEFUL_TIMEOUT` \((\d+) s\)"
    )
    assert int(delay) == ecs("deregistration_delay")
    assert int(graceful) == settings.DEFAULT_GRACEFUL_TIMEOUT < int(delay)
    (user,) = stated(readme, r"\| user \| `(\d+:\d+)` \|")
    assert user == effective(ECS, "ecs_cluster", "container_user")


def test_the_readme_gives_port_uid_stop_and_idle_figures_their_homes() -> None:
    readme = REPO / "README.md"
    uid = str(effective(ECS, "ecs_cluster", "container_user")).split(":")[0]
    assert stated(readme, r"runs Granian as PID 1 under UID (\d+)") == (uid,)
    assert stated(readme, r"Granian ─▶ Flask app :(\d+)") == (str(settings.Settings().port),)
    margin, delay = stated(
        readme, r"unhealthy threshold \+ (\d+) s \((\d+) s with the defaults; `local.prestop_delay`"
    )
    assert int(margin) == int(locals_of(ECS)["prestop_margin"])
    assert int(delay) == prestop_delay()
    stop, stop_margin = stated(
        readme,
        r"`stopTimeout` \(default (\d+) s\) must cover that delay plus the graceful bound "
        r"plus (\d+) s",
    )
    assert int(stop) == ecs("stop_timeout")
    assert int(stop_margin) == int(locals_of(ECS)["stop_margin"])
    idle, keepalive_margin = stated(
        readme,
        r"`alb_idle_timeout` in `infra/modules/ecs_cluster`, (\d+) s\) .*? "
        r"`FINLEX_KEEPALIVE_TIMEOUT` to it plus (\d+) s",
    )
    assert int(idle) == ecs("alb_idle_timeout")
    assert int(keepalive_margin) == settings.KEEPALIVE_MARGIN


def test_the_ecs_module_readme_gives_the_stop_figures_their_homes() -> None:
    readme = ECS / "README.md"
    margin, delay = stated(readme, r"`unhealthy_threshold` \+ (\d+) s, (\d+) s with the defaults")
    assert int(margin) == int(locals_of(ECS)["prestop_margin"])
    assert int(delay) == prestop_delay()
    stop_margin, least, stop = stated(
        readme,
        r"at least that delay \+ `graceful_timeout` \+ (\d+) s \((\d+) s with the defaults; "
        r"the default is (\d+) s\)",
    )
    assert int(stop_margin) == int(locals_of(ECS)["stop_margin"])
    assert int(least) == prestop_delay() + ecs("graceful_timeout") + int(stop_margin)
    assert int(stop) == ecs("stop_timeout")


def test_the_performance_record_gives_the_idle_timeouts_their_homes() -> None:
    performance = REPO / "docs" / "performance.md"
    idle, margin, server = stated(performance, r"(\d+) \+ (\d+) = (\d+) s \(see below\)")
    assert int(idle) == ecs("alb_idle_timeout")
    assert int(margin) == settings.KEEPALIVE_MARGIN
    assert int(server) == int(idle) + int(margin) <= settings.MAX_KEEPALIVE_TIMEOUT
    (refused_above,) = stated(performance, r"\((\d+) s; the module refuses more\)")
    (rule,) = labelled(ECS, "variable")["alb_idle_timeout"]["validation"]
    assert f"var.alb_idle_timeout <= {refused_above}" in expr(rule["condition"])
    (plain,) = stated(performance, r"the server keeps idle connections for (\d+) s")
    assert int(plain) == settings.DEFAULT_KEEPALIVE_TIMEOUT


def test_the_settings_comment_gives_the_keepalive_defaults_as_they_are() -> None:
    """It once said the default 'exceeds' the ALB's default, which it equals."""
    home = REPO / "application" / "finlex_api" / "settings.py"
    source = " ".join(home.read_text().replace("#", "").split())
    assert "exceeds the ALB's default" not in source
    found = re.search(
        r"alb_idle_timeout defaults to (\d+) and refuses more \((\d+) \+ (\d+) =", source
    )
    assert found, "settings.py no longer states how the keep-alive default meets the infra's"
    idle, again, margin = (int(group) for group in found.groups())
    assert idle == again == ecs("alb_idle_timeout")
    assert margin == settings.KEEPALIVE_MARGIN
    assert idle + margin == settings.DEFAULT_KEEPALIVE_TIMEOUT


# --- Terraform and the provider -------------------------------------------------


def test_docs_give_terraform_and_the_provider_the_versions_the_code_pins() -> None:
    providers = (INFRA / "providers.tf").read_text()
    required = re.search(r'required_version = ">= ([\d.]+)"', providers)
    constraint = re.search(r'version += "(>= [\d.]+, < [\d.]+)"', providers)
    locked = re.search(r'version += "([\d.]+)"', (INFRA / ".terraform.lock.hcl").read_text())
    assert required, "providers.tf has no required_version"
    assert constraint, "providers.tf has no aws version constraint"
    assert locked, "infra/.terraform.lock.hcl locks no version"
    said_required: set[str] = set()
    said_locked: set[str] = set()
    said_constraints: set[str] = set()
    for doc in DOCS:
        text = prose(doc)
        said_required.update(re.findall(r"Terraform >= ([\d.]+)", text))
        said_locked.update(re.findall(r"hashicorp/aws`? (\d+\.\d+\.\d+)", text))
        said_constraints.update(re.findall(r"`(>= [\d.]+, < [\d.]+)`", text))
        assert "~>" not in text, f"{doc.relative_to(REPO)} gives a ~> constraint the code has not"
    assert said_required == {required.group(1)}
    assert said_locked == {locked.group(1)}
    assert said_constraints == {constraint.group(1)}


def test_the_rehearsal_doc_gives_ci_terraform_and_the_registry_probe_their_values() -> None:
    import tfmirror

    rehearsal = REPO / "docs" / "rehearsal.md"
    (installed,) = stated(
        rehearsal, r"GitHub's CI installs ([\d.]+) with `hashicorp/setup-terraform`"
    )
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    versions = [
        step["with"]["terraform_version"]
        for step in workflow["jobs"]["test"]["steps"]
        if str(step.get("uses", "")).startswith("hashicorp/setup-terraform@")
    ]
    assert versions == [installed], "the job that runs .ci/run (and the rehearsal)"
    (probe,) = stated(rehearsal, r"document answers within (\d+) s")
    assert float(probe) == tfmirror.PROBE_TIMEOUT


def test_the_rehearsal_doc_gives_the_saved_plan_figures_and_the_broken_copies() -> None:
    from rehearse import steps

    rehearsal = REPO / "docs" / "rehearsal.md"
    reviewed, other = stated(
        rehearsal, r"the reviewed one sets the log retention to (\d+) days, the other to (\d+)"
    )
    (drift,) = stated(rehearsal, r"the log group's retention is set to (\d+) days through the API")
    assert (int(reviewed), int(other), int(drift)) == (
        steps.RETENTION_REVIEWED,
        steps.RETENTION_OTHER,
        steps.RETENTION_DRIFT,
    )
    # The short runs on broken copies: one broken_copy() call each, its list the breaks.
    tree = ast.parse((REPO / "tests" / "rehearsal" / "test_rehearsal.py").read_text())
    copies = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "broken_copy"
    ]
    breaks = sum(len(call.args[1].elts) for call in copies if isinstance(call.args[1], ast.List))
    words = {1: "one", 2: "two", 3: "three", 4: "four"}
    runs, in_all = stated(
        rehearsal,
        r"It also runs (\w+) short ones .*? on broken copies of `infra/`, (\w+) breaks in all",
    )
    assert (runs, in_all) == (words[len(copies)], words[breaks])
    table = rehearsal.read_text().split("| broken copy | fails at |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == breaks


# --- the alarms ----------------------------------------------------------------


def alarm_names() -> dict[str, str]:
    """key -> name of each alarm, with the root's default name as the prefix."""
    prefix = str(effective(MONITORING, "monitoring", "name"))
    names = locals_of(MONITORING)["alarm_names"]
    return {key: value.replace("${var.name}", prefix) for key, value in names.items()}


def deployment_alarm_keys() -> set[str]:
    listed = locals_of(MONITORING)["deployment_alarm_names"]
    keys = set()
    for item in listed:
        key = re.fullmatch(r"\$\{local\.alarm_names\.(\w+)\}", item)
        assert key, f"deployment_alarm_names lists {item}, not an alarm name of the module"
        keys.add(key.group(1))
    return keys


ALARM_WORDS = ("5xx", "p99", "latency", "unhealthy", "desired", "cpu", "memory")


def test_every_alarm_a_doc_names_exists() -> None:
    """Examples once named finlex-5xx-rate and finlex-p99, which are not alarms."""
    real = set(alarm_names().values())
    prefix = str(effective(MONITORING, "monitoring", "name"))
    for doc in DOCS:
        for name in re.findall(rf"\b{prefix}-[a-z0-9]+(?:-[a-z0-9]+)*", prose(doc)):
            if any(word in name for word in ALARM_WORDS):
                assert name in real, f"{doc.relative_to(REPO)} names {name}, not an alarm"


# name in the runbook's table -> (pattern of its condition, variables its figures are)
RUNBOOK_ALARMS = {
    "elb_5xx": (r"answers > (\d+) 5xx a minute", ("elb_5xx_threshold",)),
    "target_5xx_rate": (
        r"> (\d+) % of the tasks' answers are 5xx \(minutes with at least (\d+) requests\)",
        ("target_5xx_rate_threshold", "target_5xx_min_requests"),
    ),
    "p99_latency": (r"> (\d+) s, 3 minutes in a row", ("p99_latency_threshold",)),
    "unhealthy_hosts": (r"for (\d+) minutes in a row", ("unhealthy_hosts_minutes",)),
    "tasks_below_desired": (r"for (\d+) minutes in a row", ("tasks_below_desired_minutes",)),
    "cpu_high": (r"CPU > (\d+) %", ("cpu_utilization_threshold",)),
    "memory_high": (r"memory > (\d+) %", ("memory_utilization_threshold",)),
}


def test_the_runbook_alarm_table_gives_the_root_defaults() -> None:
    runbook = (REPO / "docs" / "runbook.md").read_text()
    rows = {
        match.group(1): (match.group(2), match.group(3))
        for match in re.finditer(r"^\| `([\w-]+)` \| (.+?) \| (yes|no) \|$", runbook, re.MULTILINE)
    }
    names = alarm_names()
    assert {names[key] for key in RUNBOOK_ALARMS} == set(rows)
    for key, (pattern, variables) in RUNBOOK_ALARMS.items():
        condition, rolls_back = rows[names[key]]
        found = re.search(pattern, condition)
        assert found, f"the runbook's row of {names[key]} no longer matches /{pattern}/"
        for figure, variable in zip(found.groups(), variables, strict=True):
            assert float(figure) == float(effective(MONITORING, "monitoring", variable)), variable
        assert (rolls_back == "yes") == (key in deployment_alarm_keys()), names[key]


def test_the_monitoring_readme_gives_each_threshold_its_default() -> None:
    readme = (MONITORING / "README.md").read_text().split("<!-- tfdocs:begin", 1)[0]
    figures = re.findall(r"`(\w+)` \((\d+(?:\.\d+)?)", readme)
    assert len(figures) >= 7, figures
    for variable, figure in figures:
        assert float(figure) == float(default_of(MONITORING, variable)), variable
    names = alarm_names()
    for key, name in names.items():
        row = re.search(rf"^\| `<name>-{name.split('-', 1)[1]}` \|.* \| (yes|no) \|$", readme, re.M)
        assert row, f"modules/monitoring/README.md has no row for {name}"
        assert (row.group(1) == "yes") == (key in deployment_alarm_keys()), name


def test_the_runbook_gives_scaling_and_deploy_timing_their_defaults() -> None:
    runbook = REPO / "docs" / "runbook.md"
    (target,) = stated(runbook, r"Autoscaling targets (\d+) %")
    assert int(target) == ecs("autoscaling_cpu_target")
    (quiet,) = stated(runbook, r"Below (\d+) requests a minute the 5xx rate counts as 0")
    assert int(quiet) == int(effective(MONITORING, "monitoring", "target_5xx_min_requests"))
    checks, apart = stated(runbook, r"pass (\d+) health checks (\d+) s apart")
    assert (int(checks), int(apart)) == (ecs("healthy_threshold"), ecs("health_check_interval"))
    (drain,) = stated(runbook, r"old tasks drain \(deregistration delay\) and stop \| (\d+)-\d+ s")
    assert int(drain) == ecs("deregistration_delay")
    (kept,) = stated(runbook, r"the lifecycle policy keeps the last (\d+) tagged images")
    assert int(kept) == int(effective(ECR, "ecr", "tagged_images_to_keep"))


# --- the release tool ------------------------------------------------------------


def test_the_runbook_gives_the_probe_and_the_deploy_wait_their_defaults() -> None:
    from finlex_release import probe, rollout

    runbook = REPO / "docs" / "runbook.md"
    (rate,) = stated(runbook, r"`finlex-release probe`: (\d+) `GET /version` a second")
    (gap,) = stated(runbook, r"or on a gap over (\d+) ms")
    (timeout,) = stated(runbook, r"`timeout`: no answer in (\d+) s")
    assert float(rate) == probe.DEFAULT_RATE
    assert float(gap) / 1000 == probe.DEFAULT_MAX_GAP
    assert float(timeout) == probe.DEFAULT_TIMEOUT
    (minutes,) = stated(runbook, r"until it is COMPLETED or FAILED \((\d+) minutes at most\)")
    assert float(minutes) * 60 == rollout.DEFAULT_TIMEOUT


def test_the_release_readme_gives_the_aws_call_bounds_and_duration_limits() -> None:
    from finlex_release import aws, command, deps_audit

    readme = REPO / "release" / "README.md"
    connect, read, attempts = stated(
        readme, r"(\d+) s connect timeout, a (\d+) s read timeout and at most (\d+) attempts"
    )
    assert (float(connect), float(read), int(attempts)) == (
        aws.CONNECT_TIMEOUT,
        aws.READ_TIMEOUT,
        aws.MAX_ATTEMPTS,
    )
    most, audit_most = stated(
        readme, r"at most (\d+) \(one day; `audit-deps --timeout`: at most (\d+)\)"
    )
    assert float(most) == command.MAX_SECONDS
    assert float(audit_most) == deps_audit.MAX_SECONDS


# The least a subcommand's parser accepts, to read its defaults from.
MINIMAL_ARGV = {
    "scan-gate": ["scan-gate", "--image", "finlex:x"],
    "audit-deps": ["audit-deps"],
    "deploy": ["deploy", "--cluster", "c", "--service", "s", "--image", "finlex:x"],
    "verify": ["verify", "--url", "https://finlex.example.com"],
    "probe": ["probe", "--url", "https://finlex.example.com"],
}
NUMBER = re.compile(r"^(\d+(?:\.\d+)?)\b")


def option_rows(section: str) -> list[tuple[str, str]]:
    """(option, its stated default) for each numeric default in a section's option table."""
    pairs = []
    for row in re.findall(r"^\| (`--[^|]+) \| ([^|]+) \|", section, re.MULTILINE):
        options = [option.strip(" `") for option in row[0].split(" / ")]
        values = row[1].split(" / ", len(options) - 1)
        for option, value in zip(options, values, strict=False):
            if number := NUMBER.match(value.strip()):
                pairs.append((option, number.group(1)))
    return pairs


def test_the_release_readme_option_tables_give_the_parsers_defaults() -> None:
    from finlex_release import cli

    text = (REPO / "release" / "README.md").read_text()
    sections = re.split(r"^### `([\w-]+)`$", text, flags=re.MULTILINE)
    parser = cli.build_parser()
    checked = 0
    for command, section in zip(sections[1::2], sections[2::2], strict=True):
        rows = option_rows(section.split("\n## ", 1)[0])
        if not rows:
            continue
        assert command in MINIMAL_ARGV, f"{command} states numeric defaults: add it here"
        args = vars(parser.parse_args(MINIMAL_ARGV[command]))
        for option, figure in rows:
            default = args[option.lstrip("-").replace("-", "_")]
            assert float(figure) == float(default), f"{command} {option}: {figure} vs {default}"
            checked += 1
    assert checked >= 15, checked


# --- the workflows ---------------------------------------------------------------


def test_docs_give_the_drift_schedule_and_the_plan_artifact_their_workflow_values() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "terraform.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as True
    (cron,) = [entry["cron"] for entry in triggers["schedule"]]
    minute, hour = cron.split()[:2]
    uploads = [
        step["with"]
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    (days,) = {upload["retention-days"] for upload in uploads if upload["name"] == "terraform-plan"}
    for doc in (INFRA / "README.md", REPO / "docs" / "runbook.md"):
        assert stated(doc, r"\((\d\d):(\d\d) UTC\)") == (f"{int(hour):02}", f"{int(minute):02}")
        assert stated(doc, r"kept (\d+) days") == (str(days),)


# --- infra/README's layout tree ----------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    sorted(path.name for path in INFRA.glob("*.tf"))
    + sorted(f"{path.name}/" for path in (INFRA / "modules").iterdir() if path.is_dir()),
)
def test_infra_readme_tree_names_every_root_file_and_module(entry: str) -> None:
    tree = (INFRA / "README.md").read_text().split("```", 2)[1]
    assert re.search(rf"[├└]── {re.escape(entry)}(\s|$)", tree), f"the tree omits {entry}"


# --- docs/iam-evaluation.md ---------------------------------------------------------

EVALUATOR = ("__init__", "conditions", "evaluate", "patterns", "tables")


def collected(*paths: Path) -> int:
    """How many tests pytest collects from `paths` (parametrized cases included)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "--no-cov",
            "-p",
            "no:cacheprovider",
        ]
        + [str(path) for path in paths],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    found = re.search(r"^(\d+) tests? collected", result.stdout, re.MULTILINE)
    assert found, result.stdout + result.stderr
    return int(found.group(1))


def test_iam_evaluation_gives_the_evaluators_size_and_its_tests_count() -> None:
    """It said `tests/iamsim` held 108 tests: those are the evaluator's; the folder holds more."""
    record = REPO / "docs" / "iam-evaluation.md"
    lines, tests = stated(
        record,
        r"fits in about (\d+) lines of typed Python .*? \(`tests/iamsim/test_evaluate.py` and "
        r"`test_tables.py`, (\d+) tests in under a second\)",
    )
    (again,) = stated(record, r"its (\d+) tests run in")
    files = [REPO / "tests" / "iamsim" / name for name in ("test_evaluate.py", "test_tables.py")]
    assert int(tests) == int(again) == collected(*files)
    code = [
        line
        for name in EVALUATOR
        for line in (REPO / "tools" / "iamsim" / f"{name}.py").read_text().splitlines()
        if line.strip()
    ]
    # "about": within a tenth of the non-blank lines of the evaluator's modules.
    assert abs(len(code) - int(lines)) <= len(code) / 10, len(code)


# --- docs/traffic.md ------------------------------------------------------------------


def test_the_traffic_doc_gives_the_rehearsals_defaults_and_scaled_durations() -> None:
    import importlib
    import math

    from finlex_release import probe

    command = importlib.import_module("traffic.__main__")
    from traffic import scenarios

    doc = REPO / "docs" / "traffic.md"
    defaults = command.parse([])
    (rate,) = stated(doc, r"sends a steady (\d+) requests/s")
    assert float(rate) == defaults.rate
    count, controls, last = stated(
        doc,
        r"make rehearse-traffic # (\d+) scenarios, then (\d+) negative controls "
        r"over scenarios 1-(\d+)",
    )
    assert int(count) == len(scenarios.SCENARIOS)
    assert int(controls) == len(scenarios.DEFAULT_CONTROLS)
    controlled = list(scenarios.SCENARIOS)[: int(last)]
    assert controlled == command.CONTROLLED
    (scale,) = stated(doc, r"`--time-scale` \(default ([\d.]+)\)")
    assert float(scale) == defaults.time_scale
    figures = stated(
        doc,
        r"the health check runs every ([\d.]+) s instead of (\d+) s, the deregistration delay is "
        r"([\d.]+) s, the pre-stop delay ([\d.]+) s, the stop timeout ([\d.]+) s, the idle timeout "
        r"([\d.]+) s",
    )
    factor = defaults.time_scale
    interval = ecs("health_check_interval")
    assert [float(figure) for figure in figures] == pytest.approx(
        [
            interval * factor,
            interval,
            ecs("deregistration_delay") * factor,
            math.ceil(prestop_delay() * factor),  # the app's settings stay whole seconds
            ecs("stop_timeout") * factor,
            ecs("alb_idle_timeout") * factor,
        ]
    )
    connections, one_in = stated(
        doc, r"(\d+) keep-alive connections, one request in (\w+) on a new connection"
    )
    assert int(connections) == probe.DEFAULT_CONNECTIONS
    assert {"ten": 0.1}[one_in] == probe.DEFAULT_FRESH_SHARE
    (idle,) = stated(doc, r"(\d+) more connections each send a request")
    assert int(idle) == scenarios.IDLE_CONNECTIONS


# --- docs/architecture.md: where each shared value lives ---------------------------------


def dockerfile_uid() -> str:
    found = re.search(r"useradd [^\n]*--uid (\d+)", (REPO / "Dockerfile").read_text())
    assert found, "the Dockerfile creates no user with --uid"
    return found.group(1)


# value -> (its default, the home's file, a pattern the home's file must hold)
SHARED_VALUES: dict[str, tuple[str, str, str]] = {
    "port": (str(settings.Settings().port), "application/finlex_api/settings.py", r"port: int = "),
    "health path": (routes.HEALTH_PATH, "application/finlex_api/routes.py", r"^HEALTH_PATH = "),
    "graceful bound": (
        str(settings.DEFAULT_GRACEFUL_TIMEOUT),
        "application/finlex_api/settings.py",
        r"^DEFAULT_GRACEFUL_TIMEOUT = ",
    ),
    "pre-stop delay": (
        str(prestop_delay()),
        "infra/modules/ecs_cluster/variables.tf",
        r"^\s+prestop_delay\s+= ",
    ),
    "stop timeout": (
        str(ecs("stop_timeout")),
        "infra/modules/ecs_cluster/variables.tf",
        r'^variable "stop_timeout"',
    ),
    "UID": (dockerfile_uid(), "Dockerfile", r"^USER "),
    "version": ((REPO / "application" / "VERSION").read_text().strip(), "application/VERSION", ""),
    "idle timeout": (
        str(ecs("alb_idle_timeout")),
        "infra/modules/ecs_cluster/variables.tf",
        r'^variable "alb_idle_timeout"',
    ),
    "revision header": (
        routes.REVISION_HEADER,
        "application/finlex_api/routes.py",
        r"^REVISION_HEADER = ",
    ),
}


def shared_value_rows() -> dict[str, tuple[str, str, str]]:
    text = (REPO / "docs" / "architecture.md").read_text()
    table = text.split("<!-- shared-values:start -->", 1)[1].split("<!-- shared-values:end -->")[0]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        name, default, home, copies = (cell.strip() for cell in line.strip("|").split(" | "))
        rows[name] = (default.strip("`"), home, copies)
    return rows


def test_architecture_gives_each_shared_value_its_default_and_its_home() -> None:
    rows = shared_value_rows()
    assert set(rows) == set(SHARED_VALUES)
    for name, (default, home_file, pattern) in SHARED_VALUES.items():
        said, home, _copies = rows[name]
        assert said == default, f"docs/architecture.md gives {name} {said}; the code: {default}"
        assert home_file in home, f"{name}: the home is {home_file}"
        assert re.search(pattern, (REPO / home_file).read_text(), re.MULTILINE), home_file


def test_architecture_gives_the_copies_figures_their_homes() -> None:
    rows = shared_value_rows()
    (drain,) = re.findall(r"the deregistration delay \(`(\d+)` s\)", rows["graceful bound"][2])
    assert int(drain) == ecs("deregistration_delay") > settings.DEFAULT_GRACEFUL_TIMEOUT
    (laptop,) = re.findall(
        r"default is `(\d+)` \(`DEFAULT_PRESTOP_DELAY`", rows["pre-stop delay"][2]
    )
    assert int(laptop) == settings.DEFAULT_PRESTOP_DELAY
    (user,) = re.findall(
        r"`container_user` of the ecs_cluster module \(`([\d:]+)`\)", rows["UID"][2]
    )
    assert user == effective(ECS, "ecs_cluster", "container_user")
    assert user.split(":")[0] == dockerfile_uid()
    for name, (_default, _home, copies) in rows.items():
        for test in re.findall(r"`(tests/[\w/]+\.py)`", copies):
            assert (REPO / test).is_file(), f"{name}: {test} does not exist"


def test_the_readme_docs_row_links_every_page_of_docs() -> None:
    readme = (REPO / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith("| [`docs/`](docs/) |")]
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", row))
    assert linked == {page.name for page in (REPO / "docs").glob("*.md")}


def workflow_strings(value: Any) -> list[str]:
    """Every string of a parsed workflow (comments are not in it)."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in workflow_strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in workflow_strings(item)]
    return [value] if isinstance(value, str) else []


def test_the_runbook_names_every_variable_and_secret_the_workflows_read() -> None:
    runbook = (REPO / "docs" / "runbook.md").read_text()
    read: set[str] = set()
    for workflow in sorted((REPO / ".github" / "workflows").glob("*.yml")):
        for text in workflow_strings(yaml.safe_load(workflow.read_text())):
            read.update(re.findall(r"\b(?:vars|secrets)\.([A-Z][A-Z0-9_]*)", text))
    assert read, "the workflows read no variable"
    missing = sorted(name for name in read if f"`{name}`" not in runbook)
    assert missing == [], "the runbook (section 1.6 for a repository variable) does not name them"


def test_every_make_target_a_doc_names_exists() -> None:
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.MULTILINE))
    for doc in [*DOCS, INFRA / "bootstrap" / "README.md"]:
        text = doc.read_text(encoding="utf-8")
        named = set(re.findall(r"`make ([a-z][a-z0-9-]*)", text))
        for block in text.split("```")[1::2]:  # fenced code blocks
            named.update(re.findall(r"^\s*make ([a-z][a-z0-9-]*)", block, re.MULTILINE))
        unknown = sorted(named - targets)
        assert unknown == [], f"{doc.relative_to(REPO)} names make targets the Makefile lacks"


def test_the_release_readme_gives_the_probe_and_verify_constants() -> None:
    from finlex_release import probe, verify

    readme = REPO / "release" / "README.md"
    (every,) = stated(readme, r"Long runs print progress every (\d+) s")
    assert float(every) == probe.PROGRESS_EVERY
    grace, kill = stated(
        readme, r"passed on after (\d+) s if it did not end by itself, and is killed (\d+) s later"
    )
    assert (float(grace), float(kill)) == (probe.COMMAND_GRACE, probe.COMMAND_KILL_AFTER)
    (excerpt,) = stated(readme, r"an excerpt of its first (\d+) characters")
    cut, errors = stated(readme, r"cut at (\d+) characters \((\d+) for errors\)")
    assert int(excerpt) == int(cut) == verify.EXCERPT_CHARS
    assert (
        "4 * EXCERPT_CHARS"
        in (REPO / "release" / "src" / "finlex_release" / "verify.py").read_text()
    )
    assert int(errors) == 4 * verify.EXCERPT_CHARS


def test_infra_readme_gives_the_state_versions_their_default_life() -> None:
    (days,) = stated(INFRA / "README.md", r"expires old state versions after (\d+) days")
    assert int(days) == int(default_of(INFRA / "bootstrap", "noncurrent_version_days"))


def test_the_stop_while_routed_figures_are_the_tests_settings() -> None:
    """The README and the ECS module's README quote the HAProxy test's settings."""
    import importlib.util

    path = REPO / "tests" / "application" / "test_stop_while_routed.py"
    spec = importlib.util.spec_from_file_location("stop_while_routed_settings", path)
    assert spec, path
    assert spec.loader, path
    routed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(routed)
    expected = (str(routed.CHECK_INTER_MS), str(routed.CHECK_FALL), str(routed.RATE))
    for doc in (REPO / "README.md", ECS / "README.md"):
        said = stated(doc, r"checks every (\d+) ms, (\d+) to fail, no retries, (\d+) requests/s")
        assert said == expected, doc.relative_to(REPO)
    (delay,) = stated(REPO / "README.md", r"0 of \d+ with a (\d+) s delay")
    assert int(delay) == routed.PRESTOP_DELAY


def test_the_scan_docs_give_the_gates_threshold_and_the_allowlists_limit() -> None:
    from finlex_release import allowlist, cli

    scan_gate = vars(cli.build_parser().parse_args(MINIMAL_ARGV["scan-gate"]))
    supply = REPO / "docs" / "supply-chain.md"
    (threshold,) = stated(supply, r"findings at or above (\w+) not allowlisted")
    assert threshold == scan_gate["threshold"]
    release = (REPO / "release" / "README.md").read_text()
    (said_threshold, said_unknown) = re.findall(
        r"^\| `--(?:threshold|unknown-severity-as)` \| `(\w+)` \|", release, re.MULTILINE
    )
    assert (said_threshold, said_unknown) == (
        scan_gate["threshold"],
        scan_gate["unknown_severity_as"],
    )
    (apart,) = stated(supply, r"`added` and `expires`, at most (\d+) days apart")
    (after,) = stated(REPO / "release" / "README.md", r"# at most (\d+) days after added")
    assert int(apart) == int(after) == allowlist.MAX_DAYS


def locked_version(package: str) -> str:
    lock = (REPO / "requirements" / "app.lock").read_text()
    found = re.search(rf"^{package}==([\w.]+) ", lock, re.MULTILINE)
    assert found, f"requirements/app.lock pins no {package}"
    return found.group(1)


def test_docs_give_the_server_python_and_flask_versions_the_code_pins() -> None:
    performance = REPO / "docs" / "performance.md"
    granian, flask = stated(performance, r"Granian (\d+\.\d+\.\d+), Flask (\d+\.\d+\.\d+)")
    assert (granian, flask) == (locked_version("granian"), locked_version("flask"))
    shipped = set(re.findall(r"Granian (\d+\.\d+) as shipped", prose(performance)))
    assert shipped == {granian.rsplit(".", 1)[0]}
    release = (REPO / "release" / "pyproject.toml").read_text()
    required = re.search(r'requires-python = ">=(\d+\.\d+)"', release)
    assert required, "release/pyproject.toml names no requires-python"
    mypy = re.search(r'^python_version = "(\d+\.\d+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert mypy, "pyproject.toml names no python_version"
    said = set()
    for doc in DOCS:
        said.update(re.findall(r"Python (\d+\.\d+)\+", prose(doc)))
    assert said == {required.group(1)} == {mypy.group(1)}


def test_the_runbook_gives_the_pipelines_sessions_their_length() -> None:
    from finlex_release import rollout

    (hours,) = stated(REPO / "docs" / "runbook.md", r"through OIDC \((\w+) hour at most\)")
    module = INFRA / "modules" / "pipeline_roles"
    longest = int(default_of(module, "max_session_duration"))
    assert "max_session_duration" not in labelled(INFRA, "module")["pipeline_roles"]
    assert {"one": 3600}[hours] == longest
    # A deploy follows ECS within its session.
    assert longest > rollout.DEFAULT_TIMEOUT


def test_docs_count_the_alarms_the_module_creates() -> None:
    alarms = [
        name for name in resources_of(MONITORING) if name.startswith("aws_cloudwatch_metric_alarm.")
    ]
    assert len(alarms) == len(alarm_names())
    (runbook,) = stated(
        REPO / "docs" / "runbook.md", r"creates (\w+) CloudWatch alarms on the service"
    )
    (cost,) = stated(INFRA / "README.md", r"\| (\d+) alarms reading \d+ metrics")
    assert {"seven": 7}.get(runbook) == int(cost) == len(alarms)


CODE_HOMES = ("application", "release/src", "tools", "bench", "tests", "infra", ".github", ".ci")
CODE_FILES = ("Makefile", "Dockerfile")


def test_every_finlex_variable_a_doc_names_is_read_somewhere() -> None:
    named: set[str] = set()
    for doc in DOCS:
        named.update(
            re.findall(r"\bFINLEX_[A-Z][A-Z0-9_]*[A-Z0-9]", doc.read_text(encoding="utf-8"))
        )
    sources = [REPO / name for name in CODE_FILES]
    for home in CODE_HOMES:
        sources += [
            path
            for path in (REPO / home).rglob("*")
            if path.is_file()
            and path.suffix in {".py", ".sh", ".tf", ".yml", ".hcl", ""}
            and not {"__pycache__", ".terraform"} & set(path.parts)
            and path.stat().st_size < 1_000_000  # sources, not a provider binary
            and path != Path(__file__).resolve()
        ]
    code = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in sources)
    unknown = sorted(name for name in named if not re.search(rf"\b{name}\b", code))
    assert unknown == [], "the docs name variables no code reads"


def test_docs_give_the_rolling_deploys_bounds_the_service_has() -> None:
    service = resources_of(ECS)["aws_ecs_service.this"]
    bounds = (
        str(service["deployment_minimum_healthy_percent"]),
        str(service["deployment_maximum_percent"]),
    )
    patterns = {
        INFRA / "README.md": r"min (\d+)% / max (\d+)%",
        ECS / "README.md": r"minimum (\d+) % / maximum (\d+) % healthy",
        REPO / "docs" / "architecture.md": r"\((\d+) % minimum, (\d+) % maximum\)",
        REPO / "docs" / "traffic.md": r"minimum healthy (\d+) %, maximum (\d+) %",
    }
    for doc, pattern in patterns.items():
        assert stated(doc, pattern) == bounds, doc.relative_to(REPO)


def test_the_runbook_gives_the_longest_deployment_alarm_window() -> None:
    alarms = resources_of(MONITORING)
    windows = []
    for key in deployment_alarm_keys():
        periods = alarms[f"aws_cloudwatch_metric_alarm.{key}"]["evaluation_periods"]
        if isinstance(periods, str):  # a variable: its root default
            name = re.fullmatch(r"\$\{var\.(\w+)\}", periods)
            assert name, periods
            periods = effective(MONITORING, "monitoring", name.group(1))
        windows.append(int(periods))
    said = stated(
        REPO / "docs" / "runbook.md",
        r"the longest deployment-alarm window is (\d+) minutes \(p99 and 5xx rate: (\d+) periods "
        r"of (\d+) s\)",
    )
    periods = {
        int(body["period"])
        for address, body in alarms.items()
        if address.startswith("aws_cloudwatch_metric_alarm.") and "period" in body
    }
    assert len(periods) == 1, "the runbook says all alarms evaluate one period length"
    assert [int(figure) for figure in said] == [max(windows), max(windows), *periods]


def test_the_rehearsal_doc_has_a_row_for_every_step() -> None:
    """Each step the rehearsal runs under a fixed name has its row in the steps table."""
    tree = ast.parse((REPO / "tools" / "rehearse" / "steps.py").read_text())
    named = {
        node.elts[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Tuple)
        and len(node.elts) == 2
        and isinstance(node.elts[0], ast.Constant)
        and isinstance(node.elts[0].value, str)
        and isinstance(node.elts[1], ast.Attribute)
        and isinstance(node.elts[1].value, ast.Name)
        and node.elts[1].value.id == "self"
    }
    assert len(named) >= 10, named
    text = (REPO / "docs" / "rehearsal.md").read_text()
    table = text.split("| step | what runs |", 1)[1].split("\n\n", 1)[0]
    rows = set(re.findall(r"^\| ([^|]+?) \|", table, re.MULTILINE))
    assert sorted(named - rows) == []


def test_architecture_names_each_deploy_job_step_in_the_workflows_order() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "deploy.yml").read_text())
    text = prose(REPO / "docs" / "architecture.md")
    for number, job in ((3, "release"), (4, "deploy")):
        runs = [step.get("run", "") for step in workflow["jobs"][job]["steps"]]
        targets = [t for run in runs for t in re.findall(r"\bmake (?:--\S+ )*([a-z][a-z-]*)", run)]
        step = text.split(f" {number}. **Job `{job}`", 1)[1].split(f" {number + 1}. **", 1)[0]
        assert re.findall(r"`make ([a-z][a-z-]*)", step) == targets, f"step {number}, job {job}"


def test_the_readme_names_every_make_target_the_deploy_workflow_runs() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "deploy.yml").read_text())
    runs = [text for text in workflow_strings(workflow["jobs"]) if "make " in text]
    targets = {t for run in runs for t in re.findall(r"\bmake (?:--\S+ )*([a-z][a-z-]*)", run)}
    readme = (REPO / "README.md").read_text()
    assert sorted(t for t in targets if f"`make {t}`" not in readme) == []


def test_architecture_names_every_tool() -> None:
    """The parts table is the newcomer's map: a tool it omits is one nobody finds."""
    text = (REPO / "docs" / "architecture.md").read_text()
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| [`")}
    tools_row = rows["| [`tools/`](../tools/)"]
    tools = {path.name for path in (REPO / "tools").glob("*.py")}
    tools |= {f"{path.parent.name}/" for path in (REPO / "tools").glob("*/__main__.py")}
    tools |= {f"{path.parent.name}/" for path in (REPO / "tools").glob("*/__init__.py")}
    missing = sorted(name for name in tools if f"`{name}`" not in tools_row)
    assert not missing, f"docs/architecture.md's tools/ row does not name {missing}"
