"""The rehearsal's roles step and its use of them, without an emulator.

The full rehearsal (test_rehearsal.py) runs these for real; here the inputs
that cannot come from a healthy account are given directly: outputs without
a role, a plan that changes the pipeline's own module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rehearse import steps
from rehearse.steps import ROLE_OUTPUTS, Rehearsal, StepError


class Outputs:
    """Stands in for Terraform: `terraform output -json` answers `outputs`."""

    def __init__(self, outputs: dict[str, Any]) -> None:
        self.outputs = outputs

    def json(self, command: str, *args: str) -> Any:
        assert command == "output"
        return self.outputs


def rehearsal(tmp_path: Path) -> Rehearsal:
    return Rehearsal(
        report=steps.Report(),
        account=None,  # type: ignore[arg-type]  # the step fails before using it
        infra=tmp_path,
        workdir=tmp_path,
        terraform="terraform",
        mirror=tmp_path,
        image="finlex:test",
        docker="docker",
    )


def test_a_role_missing_from_the_outputs_is_one_line_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = rehearsal(tmp_path)
    run.copy = tmp_path
    arns = {
        name: {"value": f"arn:aws:iam::123456789012:role/{name}"} for name in ROLE_OUTPUTS.values()
    }
    del arns["github_terraform_apply_role_arn"]
    monkeypatch.setattr(run, "_tf", lambda *_args, **_kw: Outputs(arns))
    with pytest.raises(StepError) as failed:
        run.roles()
    message = str(failed.value)
    assert message == (
        "the root has no output github_terraform_apply_role_arn: infra/outputs.tf must name "
        "the pipeline's role ARNs (module.pipeline_roles)"
    )
    assert run.sessions == {}


def test_a_step_under_a_role_before_the_roles_step_says_so(tmp_path: Path) -> None:
    with pytest.raises(
        StepError, match="no session of the apply role: the step 'roles' did not run"
    ):
        rehearsal(tmp_path)._tf(tmp_path, "apply")


@pytest.mark.parametrize(
    ("actions", "changes"),
    [(["update"], True), (["delete"], True), (["no-op"], False), (["read"], False)],
)
def test_a_plan_that_changes_the_pipeline_module_is_recognised(
    actions: list[str], changes: bool
) -> None:
    plan = {
        "resource_changes": [
            {"address": "module.ecs_cluster.aws_lb.this", "change": {"actions": ["update"]}},
            {
                "address": "module.pipeline_roles.aws_iam_role_policy.deploy",
                "change": {"actions": actions},
            },
        ]
    }
    assert steps._changes_module(plan, "pipeline_roles") is changes
