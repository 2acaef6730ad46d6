"""Which checks each goal (run, test, image, rehearse, deploy) needs, in the order printed."""

from __future__ import annotations

from .aws_access import check_aws
from .docker_build import (
    check_base_image,
    check_buildkit,
    check_ca_bundle,
    check_docker_client,
    check_engine,
    check_engine_disk,
)
from .github_environments import check_github_environments
from .github_variables import check_github_secrets, check_github_variables
from .local_tools import check_python, check_repo_disk, check_tool, check_venv_module
from .machine import Machine
from .result import Result
from .terraform_rehearsal import check_moto, check_provider_mirror, check_terraform

GOALS = ("run", "test", "image", "rehearse", "deploy")


def checks(m: Machine, goals: set[str]) -> list[Result]:
    def wanted(*for_goals: str) -> bool:
        return bool(goals.intersection(for_goals))

    results: list[Result] = []
    if wanted("run", "test", "deploy"):
        results.append(check_python(m))
    if wanted("run", "test"):
        results.append(check_venv_module(m))
        results.append(check_repo_disk(m, goals))
    results.append(
        check_tool(m, "make", GOALS, "Debian/Ubuntu: apt-get install make; macOS: xcode-select")
    )
    if wanted("test", "deploy"):
        results.append(check_tool(m, "git", ("test", "deploy"), "apt-get install git"))
    if wanted("test", "image", "deploy"):
        results += [check_docker_client(m), check_buildkit(m), check_engine(m)]
        disk = check_engine_disk(m)
        if disk is not None:
            results.append(disk)
    if wanted("test"):
        results.append(check_base_image(m))
        # The stop-while-routed test puts HAProxy in front of the server, as the ALB is.
        results.append(
            check_tool(m, "haproxy", ("test",), "Debian/Ubuntu: apt-get install haproxy")
        )
    if wanted("image"):
        results.append(check_ca_bundle(m))
    if wanted("test", "rehearse", "deploy"):
        results.append(check_terraform(m))
    if wanted("test", "rehearse"):
        results.append(check_provider_mirror(m))
    if wanted("rehearse"):
        results.append(check_moto(m))
    if wanted("deploy"):
        results.append(
            check_tool(
                m,
                "aws",
                ("deploy",),
                "install the AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/"
                "getting-started-install.html)",
            )
        )
        results += check_aws(m)
        results += check_github_variables(m)
        results += check_github_secrets(m)
        results += check_github_environments(m)
    return [r for r in results if goals.intersection(r.goals)]
