"""What a make target reads, as make itself says: its database and its expanded recipes.

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
import subprocess
from pathlib import Path

from prereq import require_tool

REPO = Path(__file__).resolve().parents[1]

# make's function names: `$(if ...)`, `$(findstring ...)` etc. are not variables.
MAKE_FUNCTIONS = {
    "abspath", "addprefix", "addsuffix", "and", "basename", "call", "dir", "error",
    "eval", "file", "filter", "filter-out", "findstring", "firstword", "flavor",
    "foreach", "guile", "if", "info", "join", "lastword", "let", "notdir", "or",
    "origin", "patsubst", "realpath", "shell", "sort", "strip", "subst", "suffix",
    "value", "warning", "wildcard", "word", "wordlist", "words", "intcmp",
}  # fmt: skip
AUTOMATIC = {"@", "<", "^", "+", "?", "*", "%", "|"}


# make's own "*** [Makefile:N: target] Error C" line: `make:` under a shell, `make[N]:` under
# a parent make (`make test` runs the tests under make).
MAKE_ERROR = re.compile(r"^make(\[\d+\])?: \*\*\* ")
# What a make that a test runs must not inherit from the run around it: a parent make's flags
# and level, .ci/run's exported BASE_IMAGE, a shell's ENV (the tf-* targets read ENV).
INHERITED = frozenset({"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "BASE_IMAGE", "ENV", "TF_DATA_DIR"})


def make_env(*drop_prefixes: str, **extra: str) -> dict[str, str]:
    """This process's environment for a make run by a test: without INHERITED, nor the
    names starting with one of `drop_prefixes` (e.g. AWS_), plus `extra`."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if name not in INHERITED and not name.startswith(drop_prefixes or ("\0",))
    }
    return {**kept, **extra}


def without_make_errors(stderr: str) -> list[str]:
    """The lines of stderr but make's own `*** ... Error N` lines."""
    return [line for line in stderr.splitlines() if not MAKE_ERROR.match(line)]


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


def run_make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("make"), *args],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@functools.cache
def database() -> MakeDatabase:
    result = run_make("-pRrq", "-f", "Makefile", ":")
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
    result = run_make("-n", "-B", "--no-print-directory", *assignments, *targets)
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
