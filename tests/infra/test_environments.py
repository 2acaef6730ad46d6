"""Two environments in one root: a var file and a state object each, shared parts made once.

infra/environments/<env>.tfvars and <env>.backend.hcl are what make an
environment; these tests hold them to the layout infra/README.md describes:
each environment its own state key, name (the roles' prefix) and GitHub
environments; production's stack creates the image repository and the OIDC
provider and lets staging's deploy role push, staging reads them; production
alone (no var file) stays the quick start's defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra_hcl import INFRA, default_of, labelled, parse

ENVIRONMENTS = INFRA / "environments"
NAMES = ("production", "staging")


def tfvars(env: str) -> dict[str, Any]:
    return parse(ENVIRONMENTS / f"{env}.tfvars")


def backend(env: str) -> dict[str, Any]:
    return parse(ENVIRONMENTS / f"{env}.backend.hcl")


def test_each_environment_has_a_var_file_and_a_state_object() -> None:
    found = {path.name for path in ENVIRONMENTS.iterdir()}
    assert found == {f"{env}.{kind}" for env in NAMES for kind in ("tfvars", "backend.hcl")}


@pytest.mark.parametrize("env", NAMES)
def test_the_var_file_names_its_environment_and_its_own_state_key(env: str) -> None:
    values = tfvars(env)
    assert values["environment"] == env
    # The backend's key and the roles' state scope are the same object.
    assert backend(env)["key"] == values["state_key"]
    assert set(backend(env)) == {"key"}, "bucket and region stay in the shared backend.hcl"


@pytest.mark.parametrize("env", NAMES)
def test_every_setting_of_a_var_file_is_a_root_variable(env: str) -> None:
    unknown = set(tfvars(env)) - set(labelled(INFRA, "variable"))
    assert not unknown, f"{env}.tfvars sets undeclared variables {sorted(unknown)}"


def test_state_names_and_github_environments_are_not_shared() -> None:
    prod, staging = tfvars("production"), tfvars("staging")
    for key in ("name", "state_key", "deploy_environment", "apply_environment", "plan_environment"):
        assert prod[key] != staging[key], f"{key} is the same in both environments"
    # Staging's prefix must not cover production's names (the reverse is allowed):
    # every scope of staging's roles is "<name>*".
    assert not prod["name"].startswith(staging["name"])
    assert not prod["state_key"].startswith(staging["state_key"].split("/")[0] + "/")


def test_production_makes_the_shared_parts_and_staging_reads_them() -> None:
    prod, staging = tfvars("production"), tfvars("staging")
    assert prod["create_shared_resources"] is True
    assert staging["create_shared_resources"] is False
    assert staging["image_repository_name"] == prod["name"], "the repository production made"
    # Built once: staging's deploy role pushes, production's only deploys that digest.
    assert staging["deploy_role_pushes_images"] is True
    assert prod["deploy_role_pushes_images"] is False
    assert prod["image_shared_with"] == [staging["name"]]


def test_staging_has_its_own_dns_name() -> None:
    shared = parse(INFRA / "terraform.tfvars.example")["domain_name"]
    assert tfvars("staging")["domain_name"] not in (shared, "")
    # Production's name stays in terraform.tfvars, which both environments load.
    assert "domain_name" not in tfvars("production")


def test_production_alone_is_the_defaults() -> None:
    """Without a var file the root is production alone, as before environments existed."""
    assert default_of(INFRA, "environment") == "production"
    assert default_of(INFRA, "create_shared_resources") is True
    assert default_of(INFRA, "deploy_role_pushes_images") is True
    assert default_of(INFRA, "image_shared_with") == []
    assert default_of(INFRA, "plan_environment") is None
    prod = tfvars("production")
    for key in ("name", "state_key", "deploy_environment", "apply_environment"):
        assert prod[key] == default_of(INFRA, key), f"production's {key} moved from the default"


def test_the_working_copy_of_the_rehearsal_takes_the_environment_files(tmp_path: Path) -> None:
    from rehearse.terraform import working_copy

    copy = working_copy(INFRA, tmp_path / "infra", "http://127.0.0.1:1")
    assert sorted(p.name for p in (copy / "environments").iterdir()) == sorted(
        p.name for p in ENVIRONMENTS.iterdir()
    )


# --- a third environment (docs/runbook.md, section 9), as tests/infra/fixtures holds it ---

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_a_third_environments_files_are_an_environment_as_the_two() -> None:
    values = parse(FIXTURES / "preview.tfvars")
    assert values["environment"] == "preview"
    assert parse(FIXTURES / "preview.backend.hcl") == {"key": values["state_key"]}
    unknown = set(values) - set(labelled(INFRA, "variable"))
    assert not unknown, f"preview.tfvars sets undeclared variables {sorted(unknown)}"


def test_a_third_environments_names_collide_with_neither_other() -> None:
    preview = parse(FIXTURES / "preview.tfvars")
    for env in NAMES:
        other = tfvars(env)
        for key in ("environment", "name", "state_key", "deploy_environment"):
            assert preview.get(key, env) != other.get(key, env), f"{key} shared with {env}"
        for key in ("apply_environment", "plan_environment"):
            assert preview[key] != other[key], f"{key} shared with {env}"
    # No scope "<name>*" of one covers the other's names (production's finlex* covers
    # both, as infra/README.md says), nor one state key's folder the other's.
    staging = tfvars("staging")
    assert not preview["name"].startswith(staging["name"])
    assert not staging["name"].startswith(preview["name"])
    folders = {v["state_key"].split("/")[0] for v in (preview, staging, tfvars("production"))}
    assert len(folders) == 3
    # It reads what production shares; production must list it to share it.
    assert preview["create_shared_resources"] is False
    assert preview["image_repository_name"] == tfvars("production")["name"]
    assert preview["promotes_from"] == "staging"
