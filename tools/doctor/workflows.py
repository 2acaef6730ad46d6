"""What the workflows in .github/workflows reference: variables, secrets, job environments.

Only what GitHub evaluates counts: `vars.X` and `secrets.X` inside a `${{ }}` expression
or an `if:` condition, never in a YAML comment or in plain text. A line scanner, not YAML:
the doctor runs before any venv, with the standard library only (tests compare it with
PyYAML's reading of the same files).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from .expressions import conjuncts, evaluate

# GitHub gives every job this secret itself; nobody sets it.
AUTOMATIC_SECRETS = frozenset({"GITHUB_TOKEN"})
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
# `vars.NAME` / `secrets.NAME`; a comparison or a fallback around it makes it optional.
REFERENCE = re.compile(
    r"(!|==|!=)?\s*\b(vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)\b(\s*(?:\|\||&&|!=|==))?"
)
# A string literal of an expression ('it''s'): its text is no reference.
LITERAL = re.compile(r"'(?:[^']|'')*'")
IF_KEY = re.compile(r"^\s*(?:-\s+)?if:[ \t]*(.*)$")
# A key whose value is a block scalar (`run: |`, `group: >-`): the lines under it are text.
BLOCK_START = re.compile(r"^(\s*(?:-\s+)?)[^\s#][^#]*?:[ \t]+[|>][-+0-9]*[ \t]*(?:#.*)?$")
KEY = re.compile(r"^(\s*)([A-Za-z0-9_.-]+):")
ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class Reference:
    """One `vars.X` or `secrets.X` a workflow evaluates."""

    context: str  # "vars" or "secrets"
    name: str
    required: bool  # False: the workflow tests it or falls back when it is empty
    workflow: str
    job: str | None  # None: outside any job (the workflow's own env:, concurrency, ...)


def strip_comment(line: str) -> str:
    """The line without its YAML comment: `#` at the start or after a blank, outside
    quotes and outside `${{ }}`."""
    quote: str | None = None
    in_expression = False
    i = 0
    while i < len(line):
        if quote is None and line.startswith("${{", i):
            in_expression, i = True, i + 3
            continue
        if in_expression:
            in_expression = not line.startswith("}}", i)
            i += 1 if in_expression else 2
            continue
        char = line[i]
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"" and (not line[:i].strip() or line[:i].rstrip()[-1] in ":-[{,"):
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
        i += 1
    return line


def segments(text: str) -> Iterator[tuple[str | None, str, bool]]:
    """(job, text, is an `if:` condition) of each line, in order; the lines of a block
    scalar kept as they are (a `#` there is text), those of a condition joined."""
    job: str | None = None
    in_jobs, job_indent = False, None
    block_indent: int | None = None  # the key's indent while inside its block scalar
    condition: list[str] | None = None  # the lines of an `if: >-` block
    for raw in text.splitlines():
        indent = len(raw) - len(raw.lstrip())
        if block_indent is not None and (not raw.strip() or indent > block_indent):
            if condition is not None:
                condition.append(raw)
            else:
                yield job, raw, False
            continue
        if condition is not None:
            yield job, "\n".join(condition), True
        block_indent, condition = None, None
        line = strip_comment(raw)
        key = KEY.match(line)
        if line.strip() and indent == 0:
            in_jobs, job = bool(key and key.group(2) == "jobs"), None
        elif in_jobs and key:
            job_indent = indent if job_indent is None else job_indent
            job = key.group(2) if indent == job_indent else job
        block, test = BLOCK_START.match(line), IF_KEY.match(line)
        if block:
            block_indent = len(block.group(1))
            condition = [] if test else None
        elif test:
            yield job, test.group(1), True
        if not test:
            yield job, line, False
    if condition is not None:
        yield job, "\n".join(condition), True


def references(repo: Path, names: Sequence[str] = ()) -> list[Reference]:
    """Every `vars.X` and `secrets.X` the workflows evaluate, in the order they appear.

    The lines of one job are read together: an expression may span lines.
    """
    found = []
    for path in workflow_paths(repo, names):
        parts = segments(path.read_text(encoding="utf-8"))
        for (job, condition), group in groupby(parts, key=lambda part: (part[0], part[2])):
            texts = [text for _, text, _ in group]
            for text in texts if condition else ["\n".join(texts)]:
                expressions = EXPRESSION.findall(text) or ([text] if condition else [])
                for expression in expressions:
                    found += _references_in(expression, condition, path.name, job)
    return found


def _references_in(
    expression: str, condition: bool, workflow: str, job: str | None
) -> list[Reference]:
    """The references of one expression; a condition only tests what it reads."""
    expression = LITERAL.sub("''", expression)
    found = []
    for match in REFERENCE.finditer(expression):
        tested = bool(match.group(1) or match.group(4)) or condition
        context, name = match.group(2), match.group(3).upper()
        if context == "secrets" and name in AUTOMATIC_SECRETS:
            continue
        found.append(Reference(context, name, not tested, workflow, job))
    return found


def required_by_name(found: Sequence[Reference], context: str) -> dict[str, bool]:
    """name -> required, in order: required only if no reference tests it or falls back."""
    required: dict[str, bool] = {}
    for ref in found:
        if ref.context == context:
            required[ref.name] = required.get(ref.name, True) and ref.required
    return required


def workflow_variables(repo: Path, names: Sequence[str] = ()) -> dict[str, bool]:
    """Repository variables the workflows read: name -> required (no fallback, no test)."""
    return required_by_name(references(repo, names), "vars")


def workflow_secrets(repo: Path, names: Sequence[str] = ()) -> dict[str, bool]:
    """Secrets the workflows read, except GITHUB_TOKEN: name -> required."""
    return required_by_name(references(repo, names), "secrets")


def workflow_paths(repo: Path, names: Sequence[str] = ()) -> list[Path]:
    """The workflow files, in name order (or those named)."""
    folder = repo / ".github" / "workflows"
    return [folder / n for n in names] if names else sorted(folder.glob("*.y*ml"))


def environment_values(repo: Path, workflow: str) -> dict[str, str]:
    """job -> its `environment:` as written (a name or an expression; "" for none), for
    each job of the workflow: `environment: X` or `name: X` under it."""
    text = (repo / ".github" / "workflows" / workflow).read_text(encoding="utf-8")
    found: dict[str, str] = {}
    body_indent: dict[str, int] = {}
    waiting_for_name: str | None = None  # the job whose `environment:` had no value
    for job, line, _ in segments(text):
        key = KEY.match(line)
        if job is None or key is None:
            continue
        indent = len(key.group(1))
        if job not in found:
            found[job] = ""  # the job's own line
            continue
        body_indent.setdefault(job, indent)
        value = line[key.end() :].strip().strip("\"'")
        if waiting_for_name == job and indent > body_indent[job] and key.group(2) == "name":
            found[job], waiting_for_name = value, None
        elif indent == body_indent[job] and key.group(2) == "environment":
            found[job] = value
            waiting_for_name = job if not value else None
    return found


def job_environments(
    repo: Path, workflow: str, variables: Mapping[str, str] | None = None
) -> dict[str, tuple[str, ...]]:
    """job -> the environments it may run in, for each job of the workflow (none: `()`).

    An expression such as `${{ vars.X == 'true' && 'production' || 'staging' }}` may
    yield each of its names; given the repository's variables, the one it yields, and
    a job whose `if:` those variables make false is left out: it will not run
    (terraform.yml's one-environment jobs, or its staging jobs, by FINLEX_SKIP_STAGING).
    """
    conditions = job_conditions(repo, workflow) if variables is not None else {}
    return {
        job: environment_names(value, variables)
        for job, value in environment_values(repo, workflow).items()
        if variables is None or may_run(conditions.get(job, ""), variables)
    }


def job_conditions(repo: Path, workflow: str) -> dict[str, str]:
    """job -> its own `if:` (not a step's), as written; a block scalar's lines joined."""
    text = (repo / ".github" / "workflows" / workflow).read_text(encoding="utf-8")
    found: dict[str, str] = {}
    job: str | None = None
    in_jobs, job_indent, body_indent = False, None, None
    collecting: str | None = None  # the job whose `if: >-` lines follow
    for raw in text.splitlines():
        line = strip_comment(raw) if collecting is None else raw
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if collecting is not None and body_indent is not None and indent > body_indent:
            found[collecting] = f"{found[collecting]} {line.strip()}".strip()
            continue
        collecting = None
        key = KEY.match(line)
        if indent == 0:
            in_jobs, job = bool(key and key.group(2) == "jobs"), None
            continue
        if not in_jobs or key is None:
            continue
        job_indent = indent if job_indent is None else job_indent
        if indent == job_indent:
            job, body_indent = key.group(2), None
            continue
        body_indent = indent if body_indent is None else body_indent
        if job is not None and indent == body_indent and key.group(2) == "if":
            value = line[key.end() :].strip()
            if value[:1] in {">", "|"}:
                found[job], collecting = "", job
            else:
                found[job] = value
    return found


def may_run(condition: str, variables: Mapping[str, str]) -> bool:
    """False only when the repository's variables alone make the `if:` false: one of
    its top-level `&&` parts reads nothing but variables and literals, and is false.
    Anything else (github.*, needs.*, a function) may go either way: True."""
    expressions = EXPRESSION.findall(condition)
    expression = expressions[0] if len(expressions) == 1 else condition
    for part in conjuncts(expression):
        try:
            value = evaluate(part, variables)
        except ValueError:
            continue
        if value in (None, False, 0, ""):
            return False
    return True


def environment_names(value: str, variables: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The environments an `environment:` value names: the name, what its expression
    yields with these variables, or else what it may yield (its string literals, except
    those compared with == or !=)."""
    expressions = EXPRESSION.findall(value)
    if not expressions:
        return (value,) if ENVIRONMENT_NAME.match(value) else ()
    if variables is not None and EXPRESSION.fullmatch(value):
        try:
            chosen = evaluate(expressions[0], variables)
        except ValueError:
            chosen = None
        if isinstance(chosen, str) and ENVIRONMENT_NAME.match(chosen):
            return (chosen,)
    names = []
    for expression in expressions:
        for literal in LITERAL.finditer(expression):
            before, after = expression[: literal.start()], expression[literal.end() :]
            if before.rstrip().endswith(("==", "!=")) or after.lstrip().startswith(("==", "!=")):
                continue
            name = literal.group(0)[1:-1].replace("''", "'")
            if ENVIRONMENT_NAME.match(name) and name not in names:
                names.append(name)
    return tuple(names)
