"""The inputs/outputs tables of the infra READMEs equal what tools/tfdocs.py
generates from the .tf files, and the generator notices a change."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from support import REPO_ROOT
from support.terraform.hcl import INFRA, labelled

TFDOCS = REPO_ROOT / "tools" / "tfdocs.py"


def tfdocs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TFDOCS), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


def test_committed_tables_are_up_to_date() -> None:
    result = tfdocs("--check", "--root", str(INFRA))
    assert result.returncode == 0, result.stderr + "\nrun `make tfdocs` and commit the READMEs"


@pytest.mark.parametrize(
    "section", [".", "modules/ecr", "modules/ecs_cluster", "modules/monitoring", "bootstrap"]
)
def test_infra_readme_has_a_table_per_configuration(section) -> None:
    text = (INFRA / "README.md").read_text(encoding="utf-8")
    assert f"<!-- tfdocs:begin {section} -->" in text
    assert f"<!-- tfdocs:end {section} -->" in text


@pytest.mark.parametrize(
    "module", ["modules/ecr", "modules/ecs_cluster", "modules/monitoring", "bootstrap"]
)
def test_module_readme_has_its_own_table(module) -> None:
    text = (INFRA / module / "README.md").read_text(encoding="utf-8")
    assert f"<!-- tfdocs:begin {module} -->" in text
    # The generated table names every variable and output of the module.
    for kind in ("variable", "output"):
        for name in labelled(INFRA / module, kind):
            assert f"| `{name}` |" in text, f"{module}/README.md lacks {kind} {name}"


@pytest.fixture
def infra_copy(tmp_path):
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform"))
    return copy


def test_a_changed_description_makes_the_tables_stale(infra_copy) -> None:
    variables = infra_copy / "modules" / "ecr" / "variables.tf"
    text = variables.read_text(encoding="utf-8")
    old = "Let `terraform destroy` delete the repository even if it still holds images."
    assert old in text
    variables.write_text(text.replace(old, "Delete images on destroy (changed)."), "utf-8")

    stale = tfdocs("--check", "--root", str(infra_copy))
    assert stale.returncode == 1
    assert "modules/ecr/README.md" in stale.stderr
    assert "infra/README.md" in stale.stderr

    assert tfdocs("--root", str(infra_copy)).returncode == 0
    assert tfdocs("--check", "--root", str(infra_copy)).returncode == 0
    readme = (infra_copy / "modules" / "ecr" / "README.md").read_text(encoding="utf-8")
    assert "Delete images on destroy (changed)." in readme
    assert old not in readme


def test_a_new_variable_appears_as_required(infra_copy) -> None:
    with (infra_copy / "modules" / "ecr" / "variables.tf").open("a", encoding="utf-8") as handle:
        handle.write('\nvariable "extra" {\n  description = "An extra input."\n')
        handle.write("  type = string\n}\n")
    assert tfdocs("--root", str(infra_copy)).returncode == 0
    readme = (infra_copy / "modules" / "ecr" / "README.md").read_text(encoding="utf-8")
    assert "| `extra` | An extra input. | `string` | n/a | yes |" in readme


def test_a_section_for_a_missing_folder_is_an_error(infra_copy) -> None:
    readme = infra_copy / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8")
        + "\n<!-- tfdocs:begin modules/nope -->\n<!-- tfdocs:end modules/nope -->\n",
        encoding="utf-8",
    )
    result = tfdocs("--check", "--root", str(infra_copy))
    assert result.returncode == 2
    assert "modules/nope" in result.stderr
    assert "Traceback" not in result.stderr
