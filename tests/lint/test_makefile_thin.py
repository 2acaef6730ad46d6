"""Issue 20: a thin Makefile. Every recipe calls programs in a few commands, and no
recipe holds shell logic (a case, a loop, an if): that lives in tools/ or finlex-release,
typed and tested. make's own database gives the recipes (tests/makedb.py)."""

from __future__ import annotations

import re

from makedb import database

# Shell control flow: what a recipe must not hold.
LOGIC = re.compile(r"(?:^|[;&|{@])\s*(?:case|for|while|until|if|then|do|done|fi|esac)\b|\[\[")
MOST_COMMANDS = 3
# The virtual environments' stamp files: a straight sequence of installs, one progress
# line each, no logic; left in the Makefile, where make decides when to rebuild them.
SEQUENCES = re.compile(r"^\.venv[\w-]*/\.([\w]+-)?installed$")
QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")


def commands(recipe: str) -> list[str]:
    """The recipe's commands: its lines, with backslash continuations joined."""
    return [c for c in recipe.replace("\\\n", " ").splitlines() if c.strip()]


def recipes() -> dict[str, str]:
    return {target: recipe for target, (_, recipe) in database().rules.items() if recipe.strip()}


def test_no_recipe_holds_shell_logic() -> None:
    found = {
        target: [c.strip() for c in commands(recipe) if LOGIC.search(QUOTED.sub("''", c))]
        for target, recipe in recipes().items()
    }
    assert not {t: c for t, c in found.items() if c}, "move it into tools/ or finlex-release"


def test_every_recipe_is_a_few_commands() -> None:
    long = {
        t: len(commands(r))
        for t, r in recipes().items()
        if len(commands(r)) > MOST_COMMANDS and not SEQUENCES.match(t)
    }
    assert not long, long


def test_the_checker_sees_logic_and_length() -> None:
    assert LOGIC.search('@if [ -z "$(X)" ]; then echo no; fi')
    assert LOGIC.search("for d in a b; do echo $$d; done")
    assert LOGIC.search("case $(X) in a) ;; esac")
    assert not LOGIC.search("$(PYTHON) tools/testsessions.py --python x -- $(PYTEST_ARGS)")
    assert not LOGIC.search("tools/doctor $(if $(FOR),--for $(FOR))")
    assert QUOTED.sub("''", "echo \"run make help for the list\" 'for x'") == "echo '' ''"
    assert len(commands("a \\\n  b\nc\n")) == 2
    stamps = (".venv/.app-installed", ".venv/.dev-installed", ".venv-release/.installed")
    assert all(SEQUENCES.match(stamp) for stamp in stamps)
    assert not SEQUENCES.match("image")
