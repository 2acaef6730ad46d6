"""Every `make` target a workflow step runs gets the environment its recipe reads.

GitHub exposes repository variables only through `${{ vars.X }}`: a variable
the Makefile reads from the environment exists in a job only if the step, the
job or the workflow sets it in `env:` (or the step passes it on make's command
line). This test asks make itself what each target reads:

- make-level: `make -p` prints make's database (every variable with its origin,
  every rule with its prerequisites and unexpanded recipe). A variable that a
  recipe of the target or of any prerequisite refers to, directly or through
  other variables, and that the Makefile does not define (`?=` counts as a
  default) comes from the environment.
- shell-level: `make -n -B` prints the recipes as make expands them; a shell
  variable they read (`$X`, `${X}`, `${!name}` with `name=X`) that the recipe
  does not assign comes from the environment.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from prereq import require_tool

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"

# What a GitHub-hosted runner sets in every step's environment.
RUNNER_ENV_PREFIXES = ("GITHUB_", "RUNNER_", "ACTIONS_")
RUNNER_ENV = {"CI", "HOME", "PATH", "PWD", "SHELL", "USER", "TMPDIR", "LANG"}
# make's function names: `$(if ...)`, `$(findstring ...)` etc. are not variables.
MAKE_FUNCTIONS = {
    "abspath", "addprefix", "addsuffix", "and", "basename", "call", "dir", "error",
    "eval", "file", "filter", "filter-out", "findstring", "firstword", "flavor",
    "foreach", "guile", "if", "info", "join", "lastword", "let", "notdir", "or",
    "origin", "patsubst", "realpath", "shell", "sort", "strip", "subst", "suffix",
    "value", "warning", "wildcard", "word", "wordlist", "words", "intcmp",
}  # fmt: skip
AUTOMATIC = {"@", "<", "^", "+", "?", "*", "%", "|"}


def clean_env() -> dict[str, str]:
    """Only what make needs to run: nothing the Makefile reads leaks in from here."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}


# --- make's database -------------------------------------------------------------------


class MakeDatabase:
    """Variables (name -> (origin, value)) and rules (target -> (prerequisites, recipe))."""

    def __init__(self, text: str) -> None:
        self.variables: dict[str, tuple[str, str]] = {}
        self.rules: dict[str, tuple[list[str], str]] = {}
        lines = text.splitlines()
        origin = ""
        index = 0
        in_files = False
        while index < len(lines):
            line = lines[index]
            if line.startswith("# Files"):
                in_files = True
            elif line.startswith("# ") and not in_files:
                origin = line[2:].split(" (", 1)[0]
            elif not in_files and origin and not line.startswith("#"):
                match = re.match(r"^(?:define )?([^\s:#=]+) (?::=|=|\?=|::=) ?(.*)$", line)
                if match:
                    self.variables[match.group(1)] = (origin, match.group(2))
                origin = ""
            elif in_files and line and not line.startswith(("#", "\t", " ")) and ":" in line:
                index = self._rule(lines, index)
                continue
            index += 1

    def _rule(self, lines: list[str], index: int) -> int:
        target, _, prerequisites = lines[index].partition(":")
        recipe: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip():
            if lines[index].startswith("\t"):
                recipe.append(lines[index][1:])
            index += 1
        names = [p for p in prerequisites.replace("|", " ").split() if p]
        # The last rule for a target wins in make; the database lists each once.
        self.rules[target.strip()] = (names, "\n".join(recipe))
        return index

    def defined(self, name: str) -> bool:
        return name in self.variables and self.variables[name][0] != "environment"


@functools.cache
def database() -> MakeDatabase:
    make = require_tool("make")
    result = subprocess.run(
        [make, "-pRrq", "-f", "Makefile", ":"],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert "# Files" in result.stdout, result.stderr
    return MakeDatabase(result.stdout)


def references(text: str) -> set[str]:
    """Names of the make variables `text` refers to (not `$$`, not functions)."""
    found: set[str] = set()
    index = 0
    while index < len(text):
        if text[index] != "$" or index + 1 >= len(text):
            index += 1
            continue
        opener = text[index + 1]
        if opener == "$":
            index += 2
            continue
        if opener not in "({":
            if opener not in AUTOMATIC:
                found.add(opener)
            index += 2
            continue
        closer = ")" if opener == "(" else "}"
        depth, end = 1, index + 2
        while end < len(text) and depth:
            if text[end] == opener:
                depth += 1
            elif text[end] == closer:
                depth -= 1
            end += 1
        inner = text[index + 2 : end - 1]
        head = re.split(r"[\s]", inner, maxsplit=1)
        if head[0] in MAKE_FUNCTIONS and len(head) == 2:
            found |= references(head[1])
        elif "$" in inner:
            found |= references(inner)
        else:
            name = inner.split(":", 1)[0]
            if name not in AUTOMATIC and name[:1] not in AUTOMATIC:
                found.add(name)
        index = end
    return found


def make_reads(db: MakeDatabase, targets: list[str]) -> set[str]:
    """Make variables that the recipes of `targets` and their prerequisites take from the env."""
    seen_targets: set[str] = set()
    pending = list(targets)
    texts: list[str] = []
    while pending:
        target = pending.pop()
        if target in seen_targets or target not in db.rules:
            continue
        seen_targets.add(target)
        prerequisites, recipe = db.rules[target]
        texts.append(recipe)
        pending += prerequisites
    reads: set[str] = set()
    seen_vars: set[str] = set()
    queue = [name for text in texts for name in references(text)]
    while queue:
        name = queue.pop()
        if name in seen_vars:
            continue
        seen_vars.add(name)
        if db.defined(name):
            queue += references(db.variables[name][1])
        else:
            reads.add(name)
    return reads


# --- shell-level reads of the expanded recipes -------------------------------------------


def expanded_recipes(targets: list[str], assignments: list[str]) -> str:
    make = require_tool("make")
    result = subprocess.run(
        [make, "-n", "-B", "--no-print-directory", *assignments, *targets],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def shell_reads(script: str) -> set[str]:
    """Shell variables `script` reads and does not assign itself."""
    unquoted = re.sub(r"'[^']*'", "''", script)  # nothing expands inside '...'
    assigned = set(re.findall(r"(?:^|[\s;(&|])([A-Za-z_]\w*)=", unquoted, flags=re.MULTILINE))
    assigned |= set(re.findall(r"\bfor\s+([A-Za-z_]\w*)\s+in\b", unquoted))
    assigned |= set(re.findall(r"\bread\s+(?:-\w+\s+)*([A-Za-z_]\w*)", unquoted))
    reads = set(re.findall(r"\$\{([A-Za-z_]\w*)", unquoted))
    reads |= set(re.findall(r"\$([A-Za-z_]\w*)", unquoted))
    for name in re.findall(r"\$\{!([A-Za-z_]\w*)\}", unquoted):
        # ${!name}: the variable whose name `name` holds, i.e. each literal assigned to it.
        reads |= set(re.findall(rf"(?:^|[\s;(&|]){name}=([A-Za-z_]\w*)", unquoted, re.MULTILINE))
    return reads - assigned


# --- the workflows ---------------------------------------------------------------------------


def make_invocations(run: str) -> list[tuple[list[str], list[str], list[str]]]:
    """(targets, VAR=value assignments, options) of each `make` command in a run: script."""
    script = run.replace("\\\n", " ")
    invocations = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        tokens = list(lexer)
        for start, word in enumerate(tokens):
            if word != "make" or (start and tokens[start - 1] not in {";", "&&", "||", "|"}):
                continue
            targets, assignments, options = [], [], []
            for word in tokens[start + 1 :]:
                if word in {";", "&&", "||", "|", ">", ">>", "<", "(", ")"}:
                    break
                if word.startswith("-"):
                    options.append(word)
                elif re.match(r"^[A-Za-z_]\w*=", word):
                    assignments.append(word)
                else:
                    targets.append(word)
            invocations.append((targets, assignments, options))
    return invocations


def runner_provides(name: str) -> bool:
    return name in RUNNER_ENV or name.startswith(RUNNER_ENV_PREFIXES)


def missing_variables(workflow: dict[str, Any]) -> list[str]:
    """One line per make invocation whose target reads a variable nobody sets."""
    db = database()
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        for number, step in enumerate(job.get("steps") or []):
            if "run" not in step:
                continue
            env = {
                **(workflow.get("env") or {}),
                **(job.get("env") or {}),
                **(step.get("env") or {}),
            }
            for targets, assignments, _options in make_invocations(step["run"]):
                goals = targets or [db.variables.get(".DEFAULT_GOAL", ("", "help"))[1]]
                given = {a.split("=", 1)[0] for a in assignments}
                reads = make_reads(db, goals) | shell_reads(expanded_recipes(goals, assignments))
                unset = {
                    name
                    for name in reads - given
                    if name not in env and not db.defined(name) and not runner_provides(name)
                }
                # A command-line value read from the shell (TAG="$TAG") must itself be set;
                # the Makefile's default does not apply to it.
                for assignment in assignments:
                    value_reads = shell_reads(f'"{assignment.split("=", 1)[1]}"')
                    unset |= {n for n in value_reads if n not in env and not runner_provides(n)}
                if unset:
                    label = step.get("name") or step["run"].strip().splitlines()[0]
                    problems.append(
                        f"{job_id} step {number} ({label}): make {' '.join(goals)}"
                        f" reads {', '.join(sorted(unset))}, which nothing sets"
                    )
    return problems


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


WORKFLOW_FILES = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_the_three_workflows_are_checked() -> None:
    assert {"ci.yml", "deploy.yml", "terraform.yml"} <= set(WORKFLOW_FILES)


@pytest.mark.parametrize("name", WORKFLOW_FILES)
def test_every_make_target_gets_the_variables_it_reads(name: str) -> None:
    workflow = load(WORKFLOWS / name)
    runs = [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job.get("steps") or []
        if "run" in step
    ]
    if name in {"ci.yml", "deploy.yml", "terraform.yml"}:
        assert any(make_invocations(run) for run in runs), f"{name} runs no make target"
    assert missing_variables(workflow) == []


# --- the checker itself --------------------------------------------------------------------


def test_database_knows_the_terraform_recipes() -> None:
    db = database()
    prerequisites, _ = db.rules["tf-plan"]
    assert prerequisites == ["infra/backend.hcl", "infra/terraform.tfvars"]
    assert db.defined("TF")
    assert db.variables["TF"][1] == "terraform"


def test_make_level_reads_follow_variables_into_functions() -> None:
    # REGION_ARG = $(if $(AWS_REGION),--region $(AWS_REGION)): AWS_REGION is read.
    assert "AWS_REGION" in make_reads(database(), ["deploy"])
    assert "AWS_REGION" not in make_reads(database(), ["tf-validate"])


def test_shell_reads_resolve_indirect_expansion() -> None:
    reads = shell_reads(expanded_recipes(["tf-plan"], []))
    assert {"TF_BACKEND_HCL", "TF_TFVARS"} <= reads
    assert "var" not in reads


def test_a_workflow_without_the_backend_variables_is_caught() -> None:
    # What terraform.yml looked like before: TF_STATE_BUCKET set, the two read variables not.
    workflow = {
        "env": {"TF_STATE_BUCKET": "${{ vars.TF_STATE_BUCKET }}"},
        "jobs": {"plan": {"steps": [{"name": "plan", "run": "make tf-plan"}]}},
    }
    (problem,) = missing_variables(workflow)
    assert "reads TF_BACKEND_HCL, TF_TFVARS" in problem
    workflow["jobs"]["plan"]["steps"][0]["env"] = {
        "TF_BACKEND_HCL": "${{ vars.TF_BACKEND_HCL }}",
        "TF_TFVARS": "${{ vars.TF_TFVARS }}",
    }
    assert missing_variables(workflow) == []


def test_command_line_values_count_and_their_shell_variables_are_checked() -> None:
    step = {"run": 'make deploy TAG="$TAG"', "env": {"AWS_REGION": "x"}}
    workflow = {"jobs": {"deploy": {"steps": [step]}}}
    (problem,) = missing_variables(workflow)
    assert "reads TAG" in problem
    step["env"]["TAG"] = "${{ github.sha }}"
    assert missing_variables(workflow) == []


def test_make_invocations_parse_options_assignments_and_redirections() -> None:
    run = 'make --silent tf-plan-summary >> "$GITHUB_STEP_SUMMARY"\necho make x\nmake a b V=1'
    assert make_invocations(run) == [
        (["tf-plan-summary"], [], ["--silent"]),
        (["a", "b"], ["V=1"], []),
    ]
