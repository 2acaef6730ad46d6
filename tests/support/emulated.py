"""A script against the emulated account, run in a Python process of its own.

The emulator (tools/rehearse/emulator.py) patches moto process-wide, so a test
that starts one runs it in a child process with tools/ on its path; the script
prints what it found as JSON on its last line of output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from support import REPO_ROOT


def run_script(script: str, *args: str, timeout: float) -> dict[str, Any]:
    """Run `script` with `args` as its sys.argv[1:]; its last line, parsed."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "tools")}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
