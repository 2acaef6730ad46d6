"""make doctor FOR=deploy: the GitHub environments let only the default branch deploy.

The deploy and apply roles trust only their environment's `sub` claim; GitHub
issues it only to jobs it starts in that environment, and starts none for a
branch the environment's deployment-branch policy does not allow. The doctor
reads those policies through GitHub's REST API. Here a local HTTP server on
127.0.0.1 stands in for api.github.com (GITHUB_API_URL points at it), serving
good and bad settings; each bad one must give one line naming the environment,
with its fix.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import doctor
from doctor import github_api, github_environments, report, workflows
from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]
REPOSITORY = "acme/finlex"
TOKEN = "ghp_test0123"  # noqa: S105 - made up: the fake server only records it
BRANCHES_ONLY = {"protected_branches": False, "custom_branch_policies": True}
REVIEWERS = {
    "type": "required_reviewers",
    "prevent_self_review": True,
    "reviewers": [
        {"type": "User", "reviewer": {"login": "octocat", "id": 1}},
        {"type": "Team", "reviewer": {"slug": "platform", "name": "Platform", "id": 2}},
    ],
}


class FakeGitHub:
    """api.github.com for one repository: path -> (status, JSON body); records requests."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any]] = {}
        self.requests: list[tuple[str, str]] = []  # (path, Authorization header)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append((self.path, self.headers.get("Authorization", "")))
                status, body = fake.routes.get(self.path, (404, {"message": "Not Found"}))
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def settle(
        self,
        *,
        default_branch: str = "main",
        production: dict[str, Any] | None = None,
        infrastructure: dict[str, Any] | None = None,
        rules: dict[str, list[dict[str, Any]]] | None = None,
        variables: dict[str, str] | None = None,
    ) -> None:
        """The repository and its environments; each good unless told otherwise."""
        base = f"/repos/{REPOSITORY}"
        self.routes[base] = (200, {"full_name": REPOSITORY, "default_branch": default_branch})
        environments = {
            "production": production
            or {"deployment_branch_policy": BRANCHES_ONLY, "protection_rules": []},
            "infrastructure": infrastructure
            or {"deployment_branch_policy": BRANCHES_ONLY, "protection_rules": [REVIEWERS]},
            "staging": {"deployment_branch_policy": BRANCHES_ONLY, "protection_rules": []},
            "staging-infrastructure": {
                "deployment_branch_policy": BRANCHES_ONLY,
                "protection_rules": [REVIEWERS],
            },
            # terraform.yml's plan jobs of each environment: every branch plans, nobody approves.
            "staging-plan": {"deployment_branch_policy": None, "protection_rules": []},
            "production-plan": {"deployment_branch_policy": None, "protection_rules": []},
        }
        for name, value in (variables or {}).items():
            self.routes[f"{base}/actions/variables/{name}"] = (200, {"name": name, "value": value})
        for name, body in environments.items():
            self.routes[f"{base}/environments/{name}"] = (200, {"name": name, **body})
            found = (rules or {}).get(name, [{"id": 7, "name": default_branch, "type": "branch"}])
            self.routes[f"{base}/environments/{name}/deployment-branch-policies?per_page=100"] = (
                200,
                {"total_count": len(found), "branch_policies": found},
            )


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout with the project's two workflows and no infra/terraform.tfvars."""
    folder = tmp_path / "checkout" / ".github" / "workflows"
    folder.mkdir(parents=True)
    for name in ("deploy.yml", "terraform.yml"):
        shutil.copy(REPO / ".github" / "workflows" / name, folder / name)
    (tmp_path / "checkout" / "infra").mkdir()
    return tmp_path / "checkout"


def machine(checkout: Path, url: str, **env: str) -> doctor.Machine:
    base = {"PATH": "", "GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN}
    return doctor.Machine(env={**base, "GITHUB_REPOSITORY": REPOSITORY, **env}, repo=checkout)


def check(checkout: Path, github: FakeGitHub, **env: str) -> dict[str, doctor.Result]:
    results = github_environments.check_github_environments(machine(checkout, github.url, **env))
    named = {r.name: r for r in results}
    assert len(named) == len(results), results
    return named


def only_failure(results: dict[str, doctor.Result]) -> doctor.Result:
    (failed,) = [r for r in results.values() if not r.ok]
    assert failed.checked
    return failed


# --- good settings --------------------------------------------------------------------


def test_good_settings_pass_with_the_token_and_the_documented_requests(
    checkout: Path, github: FakeGitHub
) -> None:
    github.settle()
    results = check(checkout, github)
    # FINLEX_SKIP_STAGING unset: release runs in staging, deploy promotes to production;
    # terraform.yml plans and applies staging, then production, each in its environments.
    environments = ["staging", "production", "staging-infrastructure", "infrastructure"]
    plans = ["staging-plan", "production-plan"]
    assert [(r.name, r.ok, r.detail) for r in results.values()] == [
        (f"GitHub repository {REPOSITORY}", True, "default branch main"),
        ("environment staging", True, "only main may deploy"),
        ("environment production", True, "only main may deploy"),
        ("environment staging-infrastructure", True, "only main may deploy"),
        ("environment staging-infrastructure reviewers", True, "octocat, platform"),
        ("environment infrastructure", True, "only main may deploy"),
        ("environment infrastructure reviewers", True, "octocat, platform"),
        *[
            (f"environment {name}", True, "every branch may plan (the plan role only reads)")
            for name in plans
        ],
    ]
    assert {auth for _, auth in github.requests} == {f"Bearer {TOKEN}"}
    base = f"/repos/{REPOSITORY}"
    reviewed = {"staging-infrastructure", "infrastructure"}
    assert [path for path, _ in github.requests] == [
        base,
        f"{base}/actions/variables/FINLEX_SKIP_STAGING",
        *[
            path
            for name in environments
            for path in (
                f"{base}/environments/{name}",
                f"{base}/environments/{name}/deployment-branch-policies?per_page=100",
                *([f"{base}/environments/{name}"] if name in reviewed else []),
            )
        ],
        *[f"{base}/environments/{name}" for name in plans],
    ]


def test_one_environment_only_needs_no_staging(checkout: Path, github: FakeGitHub) -> None:
    """FINLEX_SKIP_STAGING=true: release runs in production, and staging need not exist
    (the check had called it missing)."""
    github.settle(variables={"FINLEX_SKIP_STAGING": "true"})
    base = f"/repos/{REPOSITORY}"
    for name in ("staging", "staging-infrastructure", "staging-plan", "production-plan"):
        del github.routes[f"{base}/environments/{name}"]
    results = check(checkout, github)
    assert [(r.name, r.ok) for r in results.values()] == [
        (f"GitHub repository {REPOSITORY}", True),
        ("environment production", True),
        ("environment infrastructure", True),
        ("environment infrastructure reviewers", True),
    ]
    assert not any("staging" in path for path, _ in github.requests)
    assert not any("-plan" in path for path, _ in github.requests), "day one: no plan environment"


def test_variables_the_token_may_not_read_leave_every_environment(
    checkout: Path, github: FakeGitHub
) -> None:
    github.settle()
    base = f"/repos/{REPOSITORY}"
    github.routes[f"{base}/actions/variables/FINLEX_SKIP_STAGING"] = (403, {"message": "no"})
    del github.routes[f"{base}/environments/staging"]
    failed = only_failure(check(checkout, github))
    assert failed.name == "environment staging"
    assert "does not exist" in failed.detail


def test_another_default_branch_is_what_the_environments_must_allow(
    checkout: Path, github: FakeGitHub
) -> None:
    (checkout / "infra" / "terraform.tfvars").write_text('default_branch = "trunk"\n')
    github.settle(default_branch="trunk")
    results = check(checkout, github)
    assert all(r.ok for r in results.values()), results
    assert results["environment production"].detail == "only trunk may deploy"


# --- bad settings: one line naming the environment, and its fix -------------------------


def test_any_branch_allowed(checkout: Path, github: FakeGitHub) -> None:
    github.settle(production={"deployment_branch_policy": None, "protection_rules": []})
    failed = only_failure(check(checkout, github))
    first, fix = failed.line().splitlines()
    assert first.startswith(
        "\u2718 environment production: any branch may deploy to it (no deployment branch policy)"
    )
    assert fix == (
        "    fix: Settings -> Environments -> production -> Deployment branches and tags: "
        "Selected branches and tags, with the one branch rule main (docs/runbook.md 1.6)"
    )


def test_protected_branches_instead_of_the_default_one(checkout: Path, github: FakeGitHub) -> None:
    protected = {"protected_branches": True, "custom_branch_policies": False}
    github.settle(
        infrastructure={"deployment_branch_policy": protected, "protection_rules": [REVIEWERS]}
    )
    failed = only_failure(check(checkout, github))
    assert failed.name == "environment infrastructure"
    assert failed.detail == (
        "'Protected branches only': every protected branch may deploy, not main alone"
    )
    assert "Settings -> Environments -> infrastructure -> Deployment branches" in failed.fix


def test_apply_environment_without_reviewers(checkout: Path, github: FakeGitHub) -> None:
    wait = {"type": "wait_timer", "wait_timer": 5}
    github.settle(
        infrastructure={"deployment_branch_policy": BRANCHES_ONLY, "protection_rules": [wait]}
    )
    failed = only_failure(check(checkout, github))
    assert failed.name == "environment infrastructure reviewers"
    assert failed.detail == "no required reviewers: every apply would run without approval"
    assert failed.fix == (
        "Settings -> Environments -> infrastructure -> Required reviewers: "
        "add the people or teams who approve applies"
    )


@pytest.mark.parametrize(
    ("rules", "detail"),
    [
        (
            [{"name": "main", "type": "branch"}, {"name": "release/*", "type": "branch"}],
            "the rules main, release/* let other refs deploy: it must be main alone",
        ),
        (
            [{"name": "main", "type": "branch"}, {"name": "v*", "type": "tag"}],
            "the rules main, v* (tag) let other refs deploy: it must be main alone",
        ),
        ([{"name": "mai*", "type": "branch"}], "the rules mai* let other refs deploy"),
        ([], "no branch may deploy to it (no rule), not even main"),
    ],
    ids=["another branch", "a tag", "a pattern", "no rule"],
)
def test_rules_other_than_the_default_branch_alone(
    checkout: Path, github: FakeGitHub, rules: list[dict[str, Any]], detail: str
) -> None:
    github.settle(rules={"production": rules})
    failed = only_failure(check(checkout, github))
    assert failed.name == "environment production"
    assert failed.detail.startswith(detail)


def test_missing_environment(checkout: Path, github: FakeGitHub) -> None:
    github.settle()
    del github.routes[f"/repos/{REPOSITORY}/environments/production"]
    failed = only_failure(check(checkout, github))
    assert failed.name == "environment production"
    assert "does not exist" in failed.detail
    assert failed.fix.startswith("Settings -> Environments -> New environment production; then")


def test_default_branch_other_than_the_one_the_plan_role_trusts(
    checkout: Path, github: FakeGitHub
) -> None:
    github.settle(default_branch="trunk")
    failed = only_failure(check(checkout, github))
    assert failed.name == f"GitHub repository {REPOSITORY}"
    assert failed.detail == (
        "default branch trunk, but the plan role trusts refs/heads/main "
        "(the default of infra/variables.tf)"
    )
    assert 'set default_branch = "trunk" in infra/terraform.tfvars' in failed.fix


@pytest.mark.parametrize(
    ("status", "detail", "fix"),
    [
        (401, "GitHub answered 401 Bad credentials", "the token is invalid or expired"),
        (404, f"{REPOSITORY} not found, or the token cannot read it", "GITHUB_REPOSITORY"),
        (403, "GitHub answered 403 Resource not accessible", "Actions read"),
    ],
)
def test_refused_token_or_unknown_repository(
    checkout: Path, github: FakeGitHub, status: int, detail: str, fix: str
) -> None:
    message = {401: "Bad credentials", 403: "Resource not accessible", 404: "Not Found"}[status]
    github.routes[f"/repos/{REPOSITORY}"] = (status, {"message": message})
    (failed,) = check(checkout, github).values()
    assert not failed.ok
    assert failed.detail.startswith(detail)
    assert fix in failed.fix


# --- not checked: no token, no answer ----------------------------------------------------


def test_no_token_is_one_not_checked_line_saying_how_to_check_by_hand(
    checkout: Path, github: FakeGitHub
) -> None:
    results = github_environments.check_github_environments(
        doctor.Machine(
            env={"PATH": "", "GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": REPOSITORY},
            repo=checkout,
        )
    )
    (result,) = results
    assert (result.ok, result.checked) == (True, False)
    assert result.line() == (
        "? GitHub environments: not checked: no GitHub token (GITHUB_TOKEN, GH_TOKEN or "
        "gh auth login); check by hand in Settings -> Environments: production and staging "
        "and infrastructure and staging-infrastructure each allow the default branch alone "
        "(Selected branches), infrastructure and staging-infrastructure have required "
        "reviewers; staging-plan and production-plan let every branch in, without reviewers "
        "(plans) (docs/runbook.md 1.6)  [deploy]"
    )
    assert github.requests == []


def test_no_answer_is_not_checked(checkout: Path, github: FakeGitHub) -> None:
    url = github.url
    github.server.shutdown()
    github.server.server_close()
    (result,) = github_environments.check_github_environments(machine(checkout, url))
    assert not result.checked
    assert result.detail.startswith(f"not checked: {url} did not answer (")
    assert "check by hand in Settings -> Environments" in result.detail


def test_an_answer_that_is_not_json_is_not_checked(checkout: Path, github: FakeGitHub) -> None:
    github.routes[f"/repos/{REPOSITORY}"] = (200, b"<html>proxy login</html>")
    (result,) = github_environments.check_github_environments(machine(checkout, github.url))
    assert not result.checked
    assert "did not answer" in result.detail


def test_token_from_gh(checkout: Path, github: FakeGitHub, tmp_path: Path) -> None:
    github.settle()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text('#!/bin/sh\n[ "$1 $2" = "auth token" ] && echo gho_from_gh\n')
    gh.chmod(0o755)
    env = {"PATH": str(bin_dir), "GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": REPOSITORY}
    results = github_environments.check_github_environments(doctor.Machine(env=env, repo=checkout))
    assert all(r.ok and r.checked for r in results), results
    assert {auth for _, auth in github.requests} == {"Bearer gho_from_gh"}


def test_repository_from_the_github_origin(tmp_path: Path) -> None:
    git = require_tool("git")
    for url in ("git@github.com:acme/finlex.git", "https://github.com/acme/finlex"):
        folder = tmp_path / url.replace("/", "_").replace(":", "_")
        subprocess.run([git, "init", "-q", str(folder)], check=True)
        subprocess.run([git, "-C", str(folder), "remote", "add", "origin", url], check=True)
        m = doctor.Machine(env={"PATH": str(Path(git).parent)}, repo=folder)
        assert github_api.github_repository(m) == REPOSITORY


@pytest.mark.parametrize(
    ("env", "detail"),
    [
        ({"GITHUB_REPOSITORY": "acme"}, "repository 'acme' is not OWNER/NAME"),
        ({"GITHUB_API_URL": "api.github.com"}, "GITHUB_API_URL=api.github.com is not an http(s)"),
    ],
)
def test_bad_settings_of_the_check_itself(checkout: Path, env: dict[str, str], detail: str) -> None:
    (result,) = github_environments.check_github_environments(
        machine(checkout, "https://x.invalid", **env)
    )
    assert not result.ok
    assert result.detail.startswith(detail)
    assert result.fix


# --- the exit code: not checked fails only with --strict ---------------------------------


@pytest.mark.parametrize(("argv", "code"), [([], 0), (["--strict"], 1)])
def test_not_checked_fails_only_with_strict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], code: int
) -> None:
    unchecked = doctor.Result("GitHub environments", ("deploy",), True, "not checked: x", "", False)
    passed = doctor.Result("python", ("deploy",), True, "3.11")
    monkeypatch.setattr(report, "checks", lambda m, goals: [passed, unchecked])
    assert doctor.main(["--for", "deploy", *argv], doctor.Machine(env={})) == code
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.startswith("1 of 2 checks passed; 1 not checked (marked ?: ")


def test_make_doctor_strict_passes_the_flag() -> None:
    make = require_tool("make")
    result = subprocess.run(
        [make, "--no-print-directory", "-n", "doctor", "FOR=deploy", "STRICT=1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.rstrip().endswith("tools/doctor --for deploy --strict"), result.stdout


# --- what the check reads is the project's own --------------------------------------------


@pytest.mark.parametrize(
    ("workflow", "job"), [("deploy.yml", "deploy"), ("terraform.yml", "apply")]
)
def test_the_environment_names_are_the_workflows(workflow: str, job: str) -> None:
    import yaml

    parsed = yaml.safe_load((REPO / ".github" / "workflows" / workflow).read_text())
    named = workflows.job_environments(REPO, workflow)[job]
    value = parsed["jobs"][job]["environment"]
    if "${{" in value:  # chosen by an expression: each name it may yield
        assert named
        assert all(f"'{name}'" in value for name in named)
    else:
        assert named == (value,)


@pytest.mark.parametrize(
    ("workflow", "job", "environment"),
    [
        (
            "terraform.yml",
            "apply",
            r"infrastructure(?=\n.*\n.*\n.*OIDC token for the apply role)",
        ),
        ("terraform.yml", "apply-staging", r"staging-infrastructure"),
        (
            "terraform.yml",
            "apply-production",
            r"infrastructure(?=\n.*\n.*\n.*OIDC token for production's apply)",
        ),
        ("deploy.yml", "release", r"\$\{\{.*"),  # staging, or production alone
        ("deploy.yml", "deploy", r"production"),
    ],
)
def test_a_job_without_environment_is_found(
    checkout: Path, workflow: str, job: str, environment: str
) -> None:
    """Each job that assumes the deploy or the apply role: its role trusts the environment."""
    path = checkout / ".github" / "workflows" / workflow
    text, removed = re.subn(rf"^    environment: {environment}\n", "", path.read_text(), flags=re.M)
    assert removed == 1
    path.write_text(text)
    (result,) = github_environments.check_github_environments(
        machine(checkout, "https://x.invalid")
    )
    assert not result.ok
    assert result.detail == f"{workflow} job {job} names no environment"


def test_the_trusted_branch_default_is_the_roots() -> None:
    text = (REPO / "infra" / "variables.tf").read_text()
    block = text.split('variable "default_branch" {', 1)[1].split("\n}\n", 1)[0]
    assert f'default     = "{github_environments.TERRAFORM_DEFAULT_BRANCH}"' in block


def test_the_environment_may_be_given_by_name(checkout: Path) -> None:
    path = checkout / ".github" / "workflows" / "terraform.yml"
    path.write_text(
        path.read_text().replace(
            "    environment: infrastructure\n",
            "    environment:\n      name: infra-2  # with a name key\n      url: https://x\n",
        )
    )
    assert workflows.job_environments(checkout, "terraform.yml")["apply"] == ("infra-2",)


# --- terraform.yml's plan environments: every branch plans, nobody approves -------------


@pytest.mark.parametrize(
    ("body", "detail", "fix"),
    [
        (
            {"deployment_branch_policy": BRANCHES_ONLY, "protection_rules": []},
            "only some branches may use it: pull requests' plans would not start",
            "Deployment branches and tags: No restriction",
        ),
        (
            {"deployment_branch_policy": None, "protection_rules": [REVIEWERS]},
            "required reviewers: every plan would wait for an approval",
            "Required reviewers: remove them",
        ),
        (None, "does not exist (the plan jobs' role ARN is its variable)", "New environment"),
    ],
    ids=["a branch rule", "reviewers", "missing"],
)
def test_a_plan_environment_lets_every_branch_plan(
    checkout: Path, github: FakeGitHub, body: dict[str, Any] | None, detail: str, fix: str
) -> None:
    github.settle()
    where = f"/repos/{REPOSITORY}/environments/staging-plan"
    if body is None:
        del github.routes[where]
    else:
        github.routes[where] = (200, {"name": "staging-plan", **body})
    failed = only_failure(check(checkout, github))
    assert failed.name == "environment staging-plan"
    assert failed.detail == detail
    assert fix in failed.fix
