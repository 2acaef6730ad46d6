"""The Makefile's Terraform targets that terraform.yml and ci.yml call.

They run in a scratch copy of the Makefile (and tools/tfplan.py) with `TF=echo`
or a fake terraform that logs its arguments, so no Terraform, AWS or registry
is needed and the checkout's infra/ is never written to.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from makedb import make_env, without_make_errors
from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "tools").mkdir()
    for tool in ("tfplan.py", "tfenv.py", "tfroots.py"):
        shutil.copy(REPO / "tools" / tool, tmp_path / "tools" / tool)
    (tmp_path / "application").mkdir()
    shutil.copy(REPO / "application" / "VERSION", tmp_path / "application" / "VERSION")
    (tmp_path / "infra" / "bootstrap").mkdir(parents=True)
    (tmp_path / "infra" / "bootstrap" / "resources.tf").write_text("", encoding="utf-8")
    shutil.copytree(REPO / "infra" / "environments", tmp_path / "infra" / "environments")
    return tmp_path


# What `terraform show -json` prints for a plan that creates one resource.
SHOW_JSON = json.dumps(
    {
        "terraform_version": "1.15.5",
        "timestamp": "2026-01-01T00:00:00Z",
        "resource_changes": [
            {"address": "aws_sns_topic.alarms", "change": {"actions": ["create"]}}
        ],
    }
)


def fake_terraform(scratch: Path) -> tuple[str, Path]:
    """A terraform that logs its arguments, saves a plan on -out= and shows SHOW_JSON."""
    log = scratch / "terraform.log"
    script = scratch / "terraform"
    (scratch / "show.json").write_text(SHOW_JSON, encoding="utf-8")
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        "dir=${1#-chdir=}; shift\n"
        'case "$1" in\n'
        "  plan) for arg; do case $arg in -out=*) out=${arg#-out=}; "
        'case $out in /*) ;; *) out=$dir/$out ;; esac; echo "plan $*" > "$out" ;; esac; done ;;\n'
        f'  show) if [ "$2" = -json ]; then cat "{scratch}/show.json"; '
        'else echo "  # aws_sns_topic.alarms will be created"; fi ;;\n'
        "esac\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return str(script), log


def make(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Nor the CI variables the targets would write the files from (makedb.make_env drops
    # a parent make's flags, BASE_IMAGE and a shell's ENV).
    clean = {k: v for k, v in make_env().items() if k not in {"TF_BACKEND_HCL", "TF_TFVARS"}}
    return subprocess.run(
        [require_tool("make"), "--no-print-directory", "TF=echo", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_validate_covers_every_root_without_a_backend(scratch: Path) -> None:
    result = make(scratch, "tf-validate")
    assert result.returncode == 0, result.stderr
    for root in ("infra", "infra/bootstrap"):
        assert f"-chdir={root} validate -no-color" in result.stdout
    assert "== infra\n" in result.stdout
    assert "== infra/bootstrap\n" in result.stdout


def test_validate_init_never_touches_a_backend(scratch: Path) -> None:
    result = make(scratch, "-n", "tf-validate")
    assert "init -input=false -no-color -lockfile=readonly -backend=false" in result.stdout


def test_every_init_takes_the_committed_lock_and_plans_take_no_lock(scratch: Path) -> None:
    # A plan under the plan role can neither write the lock file nor needs
    # it: a saved plan whose state changed is refused at apply time.
    goals = ["tf-validate", "tf-plan", "tf-apply", "tf-drift"]
    recipes = make(scratch, "-n", *goals, TF_BACKEND_HCL="b", TF_TFVARS="v")
    assert recipes.returncode == 0, recipes.stderr
    inits = [line for line in recipes.stdout.splitlines() if re.search(r"[ '\"]init ", line)]
    assert len(inits) == 4, recipes.stdout  # tfroots' validate; plan, apply and drift inits
    assert all("-lockfile=readonly" in line for line in inits), inits
    plans = [line for line in recipes.stdout.splitlines() if " plan " in line]
    assert plans, recipes.stdout
    assert all("-lock=false" in line for line in plans), plans


def test_plan_without_backend_config_says_what_to_do(scratch: Path) -> None:
    result = make(scratch, "tf-plan")
    assert result.returncode == 2
    assert "infra/backend.hcl is missing" in result.stderr
    assert "TF_BACKEND_HCL" in result.stderr
    assert not (scratch / "infra" / "backend.hcl").exists()


def test_plan_writes_ci_config_from_variables_then_plans_and_records(scratch: Path) -> None:
    backend = 'bucket = "finlex-tfstate"\nkey    = "finlex/terraform.tfstate"'
    tfvars = 'domain_name = "api.example.com"'
    terraform, log = fake_terraform(scratch)
    result = make(scratch, "tf-plan", f"TF={terraform}", TF_BACKEND_HCL=backend, TF_TFVARS=tfvars)
    assert result.returncode == 0, result.stderr
    assert (scratch / "infra" / "backend.hcl").read_text() == backend + "\n"
    assert (scratch / "infra" / "terraform.tfvars").read_text() == tfvars + "\n"
    calls = log.read_text().splitlines()
    assert calls[0].startswith("-chdir=infra init ")
    assert calls[0].endswith(" -backend-config=backend.hcl")
    assert calls[1] == "-chdir=infra plan -input=false -no-color -lock=false -out=finlex.tfplan"
    saved = scratch / "infra" / "finlex.tfplan"
    digest = hashlib.sha256(saved.read_bytes()).hexdigest()
    assert (scratch / "infra" / "finlex.tfplan.sha256").read_text() == f"{digest}  finlex.tfplan\n"
    summary = (scratch / "infra" / "finlex.tfplan.md").read_text()
    assert "**1 to add, 0 to change, 0 to destroy, 0 to replace**" in summary
    assert "- `aws_sns_topic.alarms`: add" in summary
    assert result.stdout.splitlines()[-1].startswith("tfplan: finlex.tfplan: 1 to add")
    outputs = make(scratch, "--silent", "tf-plan-outputs", f"TF={terraform}")
    assert outputs.stdout == f"sha256={digest}\nchanges=true\n", "GITHUB_OUTPUT lines only"


def test_existing_local_files_win_over_variables(scratch: Path) -> None:
    (scratch / "infra" / "backend.hcl").write_text("local\n", encoding="utf-8")
    (scratch / "infra" / "terraform.tfvars").write_text("local\n", encoding="utf-8")
    terraform, _ = fake_terraform(scratch)
    result = make(scratch, "tf-plan", f"TF={terraform}", TF_BACKEND_HCL="from-ci", TF_TFVARS="v")
    assert result.returncode == 0, result.stderr
    assert (scratch / "infra" / "backend.hcl").read_text() == "local\n"


def test_apply_applies_the_saved_plan_and_makes_no_new_one(scratch: Path) -> None:
    terraform, log = fake_terraform(scratch)
    planned = make(scratch, "tf-plan", f"TF={terraform}", TF_BACKEND_HCL="b", TF_TFVARS="v")
    assert planned.returncode == 0, planned.stderr
    digest = (scratch / "infra" / "finlex.tfplan.sha256").read_text().split()[0]
    log.unlink()
    result = make(scratch, "tf-apply", f"TF={terraform}", f"TF_PLAN_SHA256={digest}")
    assert result.returncode == 0, result.stderr
    init, apply = log.read_text().splitlines()
    assert init.startswith("-chdir=infra init ")
    assert init.endswith(" -backend-config=backend.hcl")
    saved = scratch / "infra" / "finlex.tfplan"
    assert apply == f"-chdir=infra apply -input=false -no-color -lock-timeout=5m {saved}"


def test_apply_refuses_a_changed_plan_file(scratch: Path) -> None:
    terraform, log = fake_terraform(scratch)
    planned = make(scratch, "tf-plan", f"TF={terraform}", TF_BACKEND_HCL="b", TF_TFVARS="v")
    assert planned.returncode == 0, planned.stderr
    saved = scratch / "infra" / "finlex.tfplan"
    saved.write_bytes(saved.read_bytes().replace(b"plan", b"plam", 1))
    log.unlink()
    for goal in ("tf-plan-check", "tf-apply"):
        result = make(scratch, goal, f"TF={terraform}")
        assert result.returncode == 2, result.stdout  # make's code; the tool's is 3
        assert "tfplan: finlex.tfplan has changed since it was planned" in result.stderr
        assert "Error 3" in result.stderr
    assert " apply " not in log.read_text(), "terraform apply ran on a changed file"


def test_check_and_apply_pass_the_hash_the_plan_job_recorded(scratch: Path) -> None:
    for goal in ("tf-plan-check", "tf-apply"):
        recipe = make(scratch, "-n", goal, "TF_PLAN_SHA256=abc123", TF_BACKEND_HCL="b")
        assert recipe.stdout.rstrip().endswith("finlex.tfplan --sha256 abc123"), recipe.stdout
        recipe = make(scratch, "-n", goal, TF_BACKEND_HCL="b")
        assert recipe.stdout.rstrip().endswith("finlex.tfplan"), recipe.stdout


def test_drift_runs_the_drift_check_after_init(scratch: Path) -> None:
    recipe = make(scratch, "-n", "tf-drift", TF_BACKEND_HCL="b", TF_TFVARS="v")
    *_, init, drift = recipe.stdout.splitlines()
    assert " init " in init
    assert drift.endswith("tools/tfplan.py --chdir infra --terraform 'echo' drift drift.tfplan")


def test_plan_summary_is_markdown_even_without_a_plan(scratch: Path) -> None:
    for goal, name in (("tf-plan-summary", "finlex.tfplan"), ("tf-drift-summary", "drift.tfplan")):
        result = make(scratch, "--silent", goal)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"### terraform plan: `{name}`")
        assert "(no plan was saved" in result.stdout


# --- one environment of infra/environments: ENV=staging|production ----------------------

ENV_GOALS = (
    "tf-plan",
    "tf-plan-summary",
    "tf-plan-outputs",
    "tf-plan-check",
    "tf-apply",
    "tf-drift",
    "tf-drift-summary",
)


def data_dirs(scratch: Path) -> Path:
    """Make the fake terraform also log the TF_DATA_DIR each call ran with."""
    script = scratch / "terraform"
    lines = script.read_text(encoding="utf-8").splitlines()
    log = scratch / "data-dirs.log"
    lines.insert(1, f'echo "${{TF_DATA_DIR:-.terraform}}" >> "{log}"')
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return log


def test_env_plans_with_its_state_key_var_file_and_data_directory(scratch: Path) -> None:
    terraform, log = fake_terraform(scratch)
    dirs = data_dirs(scratch)
    result = make(
        scratch, "tf-plan", "ENV=staging", f"TF={terraform}", TF_BACKEND_HCL="b", TF_TFVARS="v"
    )
    assert result.returncode == 0, result.stderr
    init, plan, *shows = log.read_text().splitlines()
    assert init.endswith(
        " -backend-config=backend.hcl -backend-config=environments/staging.backend.hcl"
    )
    assert plan == (
        "-chdir=infra plan -input=false -no-color -lock=false "
        "-var-file=environments/staging.tfvars -out=finlex-staging.tfplan"
    )
    assert shows, "tfplan record shows the plan"
    # Every call, tfplan's too, in staging's own data directory (relative to infra/).
    assert set(dirs.read_text().splitlines()) == {".terraform-staging"}
    assert (scratch / "infra" / "finlex-staging.tfplan.sha256").is_file()
    assert not (scratch / "infra" / "finlex.tfplan").exists()


def test_without_env_the_day_one_path_is_unchanged(scratch: Path) -> None:
    terraform, log = fake_terraform(scratch)
    dirs = data_dirs(scratch)
    result = make(scratch, "tf-plan", f"TF={terraform}", TF_BACKEND_HCL="b", TF_TFVARS="v")
    assert result.returncode == 0, result.stderr
    init, plan, *_ = log.read_text().splitlines()
    assert (
        init
        == "-chdir=infra init -input=false -no-color -lockfile=readonly -backend-config=backend.hcl"
    )
    assert plan == "-chdir=infra plan -input=false -no-color -lock=false -out=finlex.tfplan"
    assert set(dirs.read_text().splitlines()) == {".terraform"}, "Terraform's own directory"


def test_two_environments_plans_never_overwrite_each_other(scratch: Path) -> None:
    terraform, _ = fake_terraform(scratch)
    hashes = {}
    for env in ("staging", "production"):
        result = make(
            scratch, "tf-plan", f"ENV={env}", f"TF={terraform}", TF_BACKEND_HCL="b", TF_TFVARS="v"
        )
        assert result.returncode == 0, result.stderr
        hashes[env] = (scratch / "infra" / f"finlex-{env}.tfplan.sha256").read_text()
    for env in ("staging", "production"):
        saved = scratch / "infra" / f"finlex-{env}.tfplan"
        assert f"environments/{env}.tfvars" in saved.read_text(), "each plan is its own"
        digest = hashlib.sha256(saved.read_bytes()).hexdigest()
        assert hashes[env] == f"{digest}  finlex-{env}.tfplan\n"
        outputs = make(scratch, "--silent", "tf-plan-outputs", f"ENV={env}", f"TF={terraform}")
        assert outputs.stdout == f"sha256={digest}\nchanges=true\n"
        checked = make(scratch, "tf-plan-check", f"ENV={env}", f"TF_PLAN_SHA256={digest}")
        assert checked.returncode == 0, checked.stderr


def test_env_apply_and_drift_use_its_state_key_and_plan(scratch: Path) -> None:
    apply = make(scratch, "-n", "tf-apply", "ENV=production", TF_BACKEND_HCL="b")
    init, applied = apply.stdout.splitlines()[-2:]
    assert init.startswith("TF_DATA_DIR=.terraform-production echo -chdir=infra init ")
    assert init.endswith("-backend-config=environments/production.backend.hcl")
    assert applied.startswith("TF_DATA_DIR=.terraform-production python3 tools/tfplan.py")
    assert applied.rstrip().endswith(" apply finlex-production.tfplan")
    drift = make(scratch, "-n", "tf-drift", "ENV=staging", TF_BACKEND_HCL="b", TF_TFVARS="v")
    assert drift.stdout.rstrip().endswith(
        "drift drift-staging.tfplan -- -var-file=environments/staging.tfvars"
    )


@pytest.mark.parametrize("goal", ENV_GOALS)
def test_a_bad_env_is_refused_in_one_line_and_changes_nothing(scratch: Path, goal: str) -> None:
    terraform, log = fake_terraform(scratch)
    result = make(scratch, goal, "ENV=prod", f"TF={terraform}", TF_BACKEND_HCL="b", TF_TFVARS="v")
    assert result.returncode == 2
    lines = without_make_errors(result.stderr)
    assert lines == [
        "make: ENV='prod' is not an environment of infra/environments (valid: production, "
        "staging; each is NAME.tfvars + NAME.backend.hcl); leave ENV empty for production "
        "alone (infra/backend.hcl and infra/terraform.tfvars)"
    ]
    assert not log.exists(), "terraform ran"
    assert not (scratch / "infra" / "backend.hcl").exists()
    assert not (scratch / "infra" / "terraform.tfvars").exists()


def test_an_env_that_is_no_file_name_is_refused(scratch: Path) -> None:
    terraform, log = fake_terraform(scratch)
    for env in ("../staging", "staging production", "a;b", "x'y", "Staging"):
        result = make(
            scratch, "tf-plan", f"ENV={env}", f"TF={terraform}", TF_BACKEND_HCL="b", TF_TFVARS="v"
        )
        assert result.returncode == 2, env
        assert f"ENV={env!r} is not an environment" in result.stderr
        assert not (scratch / "infra" / "backend.hcl").exists()
    assert not log.exists(), "terraform ran"


def test_a_third_environment_is_two_files(scratch: Path) -> None:
    terraform, log = fake_terraform(scratch)
    environments = scratch / "infra" / "environments"
    fixtures = REPO / "tests" / "infra" / "fixtures"  # docs/runbook.md, section 9
    shutil.copy(fixtures / "preview.tfvars", environments)
    goal = ("tf-plan", "ENV=preview", f"TF={terraform}")
    refused = make(scratch, *goal, TF_BACKEND_HCL="b", TF_TFVARS="v")
    assert refused.returncode == 2, "a var file without a state key is no environment"
    assert "(valid: production, staging;" in refused.stderr
    shutil.copy(fixtures / "preview.backend.hcl", environments)
    planned = make(scratch, *goal, TF_BACKEND_HCL="b", TF_TFVARS="v")
    assert planned.returncode == 0, planned.stderr
    assert "-var-file=environments/preview.tfvars -out=finlex-preview.tfplan" in log.read_text()
    assert (scratch / "infra" / "finlex-preview.tfplan").is_file()


def test_validate_stops_at_the_first_root_that_fails(scratch: Path) -> None:
    terraform, log = fake_terraform(scratch)
    script = scratch / "terraform"
    text = script.read_text().replace("esac\n", "  validate) exit 7 ;;\nesac\n", 1)
    script.write_text(text)
    result = make(scratch, "tf-validate", f"TF={terraform}")
    assert result.returncode == 2
    assert "Error 7" in result.stderr, "Terraform's own code"
    assert result.stdout == "== infra\n", "infra/bootstrap is not reached"
    assert [line.split()[1] for line in log.read_text().splitlines()] == ["init", "validate"]


def test_lock_records_every_platform_in_every_root(scratch: Path) -> None:
    result = make(scratch, "tf-lock")
    assert result.returncode == 0, result.stderr
    platforms = "-platform=linux_amd64 -platform=linux_arm64 -platform=darwin_amd64"
    for root in ("infra", "infra/bootstrap"):
        assert f"== {root}\n-chdir={root} providers lock -no-color {platforms}" in result.stdout


def test_an_env_from_the_shell_is_named_as_such(scratch: Path) -> None:
    """A POSIX shell's ENV (its start-up file) reaches make from the environment."""
    terraform, log = fake_terraform(scratch)
    result = make(scratch, "tf-plan", f"TF={terraform}", ENV="/home/u/.shrc", TF_BACKEND_HCL="b")
    assert result.returncode == 2
    (line,) = without_make_errors(result.stderr)
    assert line.startswith(
        "make: ENV='/home/u/.shrc' is not an environment of infra/environments (it comes from "
        "the environment, perhaps your shell's ENV: pass ENV= on make's command line) (valid: "
    )
    assert not log.exists()
    passed = make(
        scratch, "tf-plan", "ENV=", f"TF={terraform}", ENV="/x", TF_BACKEND_HCL="b", TF_TFVARS="v"
    )
    assert passed.returncode == 0, passed.stderr
    assert (scratch / "infra" / "finlex.tfplan").is_file(), "ENV= on the command line: day one"
