"""make doctor: is this machine ready to run, test, build, rehearse and deploy finlex?

One line per prerequisite, a check mark or a cross, and for a cross the fix.
Reads only: it runs a few `--version`-style commands with short timeouts,
looks at files and the environment, and never installs, starts or writes
anything. Standard library only, so it runs before any venv exists.

    python3 tools/doctor                 # every goal
    python3 tools/doctor --for image     # only what `make image` needs
    python3 tools/doctor --for image --quiet   # only the crosses (make image's pre-check)
    python3 tools/doctor --for deploy --strict # a check that could not run fails too

A check that needs what this machine lacks (gh, a GitHub token, the network) says
"not checked" on a `?` line, with how to check it by hand; it fails only with
--strict (make doctor STRICT=1).

Exit codes: 0 every selected check passed, 1 at least one failed, 2 bad usage.

The package, one module per group of checks:

    result.py               Result: one check's outcome and its printed line
    machine.py              Machine: the environment, read-only commands, the checkout
    local_tools.py          Python and venv, make, git, haproxy, disk for the venvs
    docker_build.py         Docker client, BuildKit, engine, its disk, base image, CA bundle
    terraform_rehearsal.py  Terraform, the hashicorp/aws provider, moto
    aws_access.py           AWS credentials and region for a real deploy
    workflows.py            what .github/workflows evaluate: vars., secrets., environments
    expressions.py          GitHub's expressions, enough to tell a job's environment
    github_variables.py     those variables and secrets set on GitHub (through gh)
    github_api.py           GitHub's REST API: token, repository, GET, errors
    github_environments.py  the environments' branch rules and reviewers, the default branch
    goals.py                GOALS and which checks each goal runs
    report.py               main: the command line, the lines, the summary, the exit code
"""

from __future__ import annotations

from .goals import GOALS, checks
from .local_tools import MIN_PYTHON
from .machine import Machine, version_tuple
from .report import main
from .result import Result
from .terraform_rehearsal import MIN_TERRAFORM

__all__ = [
    "GOALS",
    "MIN_PYTHON",
    "MIN_TERRAFORM",
    "Machine",
    "Result",
    "checks",
    "main",
    "version_tuple",
]
