"""infra/ has the seed's tree, each file holds what its name says, and the root
configuration (providers, backend, bootstrap, variables, outputs) follows issue 3."""

from __future__ import annotations

import re

import pytest

from infra_hcl import (
    BOOTSTRAP,
    ECR,
    ECS,
    INFRA,
    MONITORING,
    blocks,
    default_of,
    expr,
    labelled,
    one_block,
    parse,
    resources,
)

# The seed's "The Deployment" tree.
SEED_TREE = [
    "providers.tf",
    "resources.tf",
    "modules/ecr/outputs.tf",
    "modules/ecr/resources.tf",
    "modules/ecr/variables.tf",
    "modules/ecs_cluster/outputs.tf",
    "modules/ecs_cluster/resources.tf",
    "modules/ecs_cluster/variables.tf",
]
# What issue 3 adds beside them.
ADDED = [
    "backend.tf",
    "backend.hcl.example",
    "variables.tf",
    "outputs.tf",
    "terraform.tfvars.example",
    "README.md",
    "examples/quickstart-default-vpc.tfvars",
    "examples/production-private-subnets.tfvars",
    "modules/ecr/versions.tf",
    "modules/ecr/README.md",
    "modules/ecs_cluster/versions.tf",
    "modules/ecs_cluster/README.md",
    "modules/monitoring/outputs.tf",
    "modules/monitoring/resources.tf",
    "modules/monitoring/variables.tf",
    "modules/monitoring/versions.tf",
    "modules/monitoring/README.md",
    "bootstrap/providers.tf",
    "bootstrap/variables.tf",
    "bootstrap/resources.tf",
    "bootstrap/outputs.tf",
    "bootstrap/README.md",
]
OUR_CONFIGS = [INFRA, ECR, ECS, MONITORING, BOOTSTRAP]


@pytest.mark.parametrize("relative", SEED_TREE + ADDED)
def test_file_exists(relative: str) -> None:
    assert (INFRA / relative).is_file(), f"infra/{relative} is missing"


# File name -> block types it may hold. `terraform` blocks belong in
# providers.tf / versions.tf / backend.tf, variables in variables.tf, and so on.
ALLOWED = {
    # `locals` only for what a variable's validation reads (test below).
    "variables.tf": {"variable", "locals"},
    "outputs.tf": {"output"},
    "providers.tf": {"terraform", "provider"},
    "versions.tf": {"terraform"},
    "backend.tf": {"terraform"},
    # `moved` sits beside the resource whose earlier addresses it names.
    "resources.tf": {"resource", "data", "locals", "module", "moved"},
}


@pytest.mark.parametrize("directory", OUR_CONFIGS, ids=lambda p: str(p.relative_to(INFRA)))
def test_each_file_holds_what_its_name_says(directory) -> None:
    for name, allowed in ALLOWED.items():
        path = directory / name
        if not path.exists():
            continue
        found = set(parse(path))
        assert found <= allowed, f"{path.relative_to(INFRA)} holds {sorted(found - allowed)}"
    # And nothing that belongs in resources.tf lives elsewhere (except the
    # pipeline engineer's pipeline.tf at the root, which has its own name).
    for path in directory.glob("*.tf"):
        if path.name in ALLOWED or path.name == "pipeline.tf":
            continue
        pytest.fail(f"unexpected file {path.relative_to(INFRA)}")


@pytest.mark.parametrize("directory", OUR_CONFIGS, ids=lambda p: str(p.relative_to(INFRA)))
def test_locals_in_variables_tf_are_read_by_a_validation(directory) -> None:
    path = directory / "variables.tf"
    if not path.exists():
        return
    text = path.read_text()
    conditions = " ".join(re.findall(r"condition\s*=\s*(.+)", text))
    for block in parse(path).get("locals", []):
        for name in block:
            # Read by a validation directly, or by another local such a validation reads.
            used = f"local.{name}" in conditions or f"local.{name}" in text.split("locals", 1)[1]
            assert used, f"{path.relative_to(INFRA)}: local.{name} is read by no validation"


def test_seed_resources_tf_files_hold_resources() -> None:
    assert parse(ECR / "resources.tf").get("resource")
    assert parse(ECS / "resources.tf").get("resource")
    assert {"ecr", "ecs_cluster", "monitoring"} <= set(labelled(INFRA, "module"))


def _terraform_block(path):
    (block,) = parse(path)["terraform"]
    return block


def _minimum_version(constraint: str) -> tuple[int, ...]:
    match = re.fullmatch(r">=\s*([0-9.]+)", constraint.strip())
    assert match, f"required_version should be a lower bound, got {constraint!r}"
    return tuple(int(part) for part in match.group(1).split("."))


@pytest.mark.parametrize(
    "path",
    [
        INFRA / "providers.tf",
        BOOTSTRAP / "providers.tf",
        ECR / "versions.tf",
        ECS / "versions.tf",
        INFRA / "modules" / "pipeline_roles" / "versions.tf",
    ],
    ids=lambda p: str(p.relative_to(INFRA)),
)
def test_terraform_and_provider_versions(path) -> None:
    terraform = _terraform_block(path)
    assert _minimum_version(terraform["required_version"]) >= (1, 10)
    aws = one_block(terraform, "required_providers")["aws"]
    assert aws["source"] == "hashicorp/aws"
    # One range everywhere: the offline rehearsal runs provider 5.100 (the
    # mirror on the machine image), GitHub's workflows the newest 6.x.
    assert aws["version"].replace(" ", "") == ">=5.100,<7.0", aws["version"]


@pytest.mark.parametrize("directory", [INFRA, BOOTSTRAP], ids=["root", "bootstrap"])
def test_provider_region_variable_and_default_tags(directory) -> None:
    (provider,) = parse(directory / "providers.tf")["provider"]
    aws = provider["aws"]
    assert expr(aws["region"]) == "var.aws_region"
    tags = expr(one_block(aws, "default_tags")["tags"])
    assert "ManagedBy" in tags
    assert "Project" in tags
    assert "aws_region" in labelled(directory, "variable")


def test_backend_is_s3_with_native_locking_and_partial() -> None:
    backend = one_block(_terraform_block(INFRA / "backend.tf"), "backend")
    s3 = backend["s3"]
    assert s3["use_lockfile"] is True
    assert "dynamodb_table" not in s3, "DynamoDB locking is deprecated; use_lockfile replaces it"
    # Partial configuration: where the state lives comes from backend.hcl.
    assert not {"bucket", "key", "region"} & set(s3)
    example = (INFRA / "backend.hcl.example").read_text(encoding="utf-8")
    for key in ("bucket", "key", "region"):
        assert re.search(rf"^{key}\s*=", example, re.MULTILINE), f"backend.hcl.example lacks {key}"
    gitignore = (INFRA.parent / ".gitignore").read_text(encoding="utf-8")
    assert "backend.hcl" in gitignore


def test_bootstrap_state_bucket() -> None:
    found = resources(BOOTSTRAP)
    bucket = found["aws_s3_bucket.state"]
    assert bucket["lifecycle"][0]["prevent_destroy"] is True
    versioning = found["aws_s3_bucket_versioning.state"]
    assert one_block(versioning, "versioning_configuration")["status"] == "Enabled"
    sse = found["aws_s3_bucket_server_side_encryption_configuration.state"]
    default = one_block(one_block(sse, "rule"), "apply_server_side_encryption_by_default")
    assert default["sse_algorithm"] in {"aws:kms", "AES256"}
    block = found["aws_s3_bucket_public_access_block.state"]
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert block[flag] is True, flag
    # TLS-only bucket policy: a Deny on aws:SecureTransport = false.
    policy = resources(BOOTSTRAP, "data")["aws_iam_policy_document.state"]
    tls_denies = [
        statement
        for statement in policy["statement"]
        if statement.get("effect") == "Deny"
        and any(
            condition["variable"] == "aws:SecureTransport" and condition["values"] == ["false"]
            for condition in statement.get("condition", [])
        )
    ]
    assert tls_denies, "the bucket policy must deny requests without TLS"
    assert expr(found["aws_s3_bucket_policy.state"]["policy"]) == (
        "data.aws_iam_policy_document.state.json"
    )


def _all_variables():
    for directory in OUR_CONFIGS:
        for name, body in labelled(directory, "variable").items():
            yield directory, name, body


def test_every_variable_has_description_and_type() -> None:
    for directory, name, body in _all_variables():
        where = f"{directory.relative_to(INFRA.parent)}: variable {name}"
        assert str(body.get("description", "")).strip(), f"{where} has no description"
        assert "type" in body, f"{where} has no type"


def test_every_output_has_description() -> None:
    for directory in OUR_CONFIGS:
        for name, body in labelled(directory, "output").items():
            assert str(body.get("description", "")).strip(), f"{directory}: output {name}"


# Variables whose every value is acceptable: booleans, free-form tag maps and
# extra environment variables. Everything else must validate.
NO_VALIDATION_NEEDED = {"tags", "environment"}


def test_variables_validate_where_a_bad_value_is_possible() -> None:
    missing = []
    for directory, name, body in _all_variables():
        if body["type"] == "bool" or name in NO_VALIDATION_NEEDED:
            continue
        if not body.get("validation"):
            missing.append(f"{directory.relative_to(INFRA.parent)}: {name}")
    assert not missing, f"variables without validation: {missing}"


def test_root_variables_agree_with_the_module_variables_they_feed() -> None:
    """A root variable passed straight to ecs_cluster keeps its type, default
    and validation, so that both reject the same values."""
    module_vars = labelled(ECS, "variable")
    module_call = labelled(INFRA, "module")["ecs_cluster"]
    compared = 0
    for name, body in labelled(INFRA, "variable").items():
        if module_call.get(name) != f"${{var.{name}}}":
            continue
        module_body = module_vars[name]
        for key in ("type", "validation"):
            assert body.get(key) == module_body.get(key), f"root and module differ on {name}.{key}"
        # The root may give a default to a variable the module requires.
        if "default" in module_body:
            assert body.get("default") == module_body["default"], f"defaults differ on {name}"
        compared += 1
    assert compared >= 10


def test_required_root_outputs() -> None:
    outputs = labelled(INFRA, "output")
    for name in (
        "service_url",
        "alb_dns_name",
        "ecr_repository_url",
        "ecs_cluster_name",
        "ecs_service_name",
        "task_definition_family",
        "container_name",
        "task_execution_role_arn",
        "task_role_arn",
    ):
        assert name in outputs, f"root output {name} is missing"


def test_modules_are_wired_together() -> None:
    modules = labelled(INFRA, "module")
    assert modules["ecr"]["source"] == "./modules/ecr"
    ecs = modules["ecs_cluster"]
    assert ecs["source"] == "./modules/ecs_cluster"
    assert expr(ecs["image_repository_url"]) == "local.image_repository.url"
    assert expr(ecs["image_repository_arn"]) == "local.image_repository.arn"
    # The shared repository: module.ecr where this stack creates it, else read.
    text = (INFRA / "resources.tf").read_text()
    assert "url  = module.ecr[0].repository_url" in text
    assert "url  = data.aws_ecr_repository.shared[0].repository_url" in text
    assert "from = module.ecr\n  to   = module.ecr[0]" in text


EXAMPLE_TFVARS = [
    INFRA / "terraform.tfvars.example",
    INFRA / "examples" / "quickstart-default-vpc.tfvars",
    INFRA / "examples" / "production-private-subnets.tfvars",
]
ENVIRONMENT_TFVARS = sorted((INFRA / "environments").glob("*.tfvars"))


@pytest.mark.parametrize("path", EXAMPLE_TFVARS, ids=lambda p: p.name)
def test_example_tfvars_are_complete_and_known(path) -> None:
    variables = labelled(INFRA, "variable")
    values = parse(path)
    unknown = set(values) - set(variables)
    assert not unknown, f"{path.name} sets undeclared variables {sorted(unknown)}"
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= set(values), f"{path.name} lacks {sorted(required - set(values))}"


def test_quickstart_and_production_layouts() -> None:
    quick = parse(INFRA / "examples" / "quickstart-default-vpc.tfvars")
    prod = parse(INFRA / "examples" / "production-private-subnets.tfvars")
    assert quick["vpc_id"] is None
    assert quick["assign_public_ip"] is True
    assert prod["assign_public_ip"] is False
    assert len(prod["task_subnet_ids"]) >= 2
    # The safe choice is the default: no public IPs on tasks.
    assert default_of(INFRA, "assign_public_ip") is False


def test_no_terraform_working_files_left() -> None:
    leftovers = [
        str(path.relative_to(INFRA))
        for pattern in (".terraform", "*.tfstate", "*.tfstate.*", "*.tfplan", "terraform.tfvars")
        for path in INFRA.rglob(pattern)
    ]
    assert not leftovers, f"working files in infra/: {leftovers}"


def test_blocks_helper_sees_every_file() -> None:
    # Guard for the helpers above: a parse that silently returned nothing
    # would make the other tests pass vacuously.
    assert len(blocks(ECS, "variable")) >= 30
    assert len(resources(ECS)) >= 20
