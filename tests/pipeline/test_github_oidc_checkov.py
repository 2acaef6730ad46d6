"""checkov on the pipeline's IAM module: no failed check, and only the skips
whose reasons infra/README.md lists."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from prereq import require

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
EXPECTED_SKIPS = {
    ("CKV_AWS_111", "aws_iam_policy_document.terraform_apply"),
    ("CKV_AWS_356", "aws_iam_policy_document.terraform_apply"),
}


def test_checkov_passes_the_github_oidc_module() -> None:
    require(CHECKOV.is_file(), "checkov venv missing: run `make .venv-checkov/.installed`")
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            "infra/modules/github_oidc",
            "--framework",
            "terraform",
            "--skip-download",
            "--download-external-modules",
            "false",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
        check=False,
        timeout=300,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["parsing_errors"] == 0, summary
    assert summary["passed"] > 20, summary  # the IAM checks really ran
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [], failed
    skipped = {(c["check_id"], c["resource"]) for c in report["results"]["skipped_checks"]}
    assert skipped == EXPECTED_SKIPS
