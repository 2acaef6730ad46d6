"""The Terraform state is encrypted with the bucket's KMS key, as the README says.

Terraform's S3 backend with `encrypt = true` and no `kms_key_id` asks for
AES256 on every write, which overrides the bucket's SSE-KMS default. The real
check writes a state through infra/backend.tf's own backend block (Terraform's
built-in S3 backend, against a local moto S3 whose bucket defaults to SSE-KMS
like the bootstrap's) and reads back how the object is encrypted.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from localhost import free_port
from support.prerequisites import require_tool
from support.terraform.hcl import BOOTSTRAP, INFRA, blocks, labelled, one_block, resources

BUCKET = "finlex-tfstate-123456789012-us-east-1"
KEY = "finlex/terraform.tfstate"


def backend_block() -> dict[str, object]:
    ((_path, terraform),) = [
        (p, b) for p, b in blocks(INFRA, "terraform") if "backend" in b
    ]  # fmt: skip
    (backend,) = terraform["backend"]
    return dict(backend["s3"])


def asks_for_aes256(settings: dict[str, object]) -> bool:
    """encrypt = true without kms_key_id: Terraform sends x-amz-server-side-encryption: AES256."""
    return settings.get("encrypt") in {True, "true"} and not settings.get("kms_key_id")


def hcl_settings(text: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for name, value in re.findall(r"^\s*([a-z_]+)\s*=\s*(.+?)\s*$", text, flags=re.MULTILINE):
        found[name] = {"true": True, "false": False}.get(value, value.strip('"'))
    return found


def test_backend_does_not_override_the_buckets_kms_default() -> None:
    backend = backend_block()
    assert backend["use_lockfile"] is True
    assert not asks_for_aes256(backend), backend


def test_backend_files_people_copy_do_not_ask_for_aes256_either() -> None:
    example = (INFRA / "backend.hcl.example").read_text(encoding="utf-8")
    assert not asks_for_aes256(hcl_settings(example))
    output = labelled(BOOTSTRAP, "output")["backend_config"]["value"]
    assert not asks_for_aes256(hcl_settings(output))
    assert "encrypt" not in hcl_settings(example)


def test_bucket_defaults_to_sse_kms_and_refuses_aes256_writes() -> None:
    found = resources(BOOTSTRAP)
    sse = found["aws_s3_bucket_server_side_encryption_configuration.state"]
    rule = one_block(sse, "rule")
    default = one_block(rule, "apply_server_side_encryption_by_default")
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == "${var.kms_key_arn}"
    assert rule["bucket_key_enabled"] is True
    policy = resources(BOOTSTRAP, "data")["aws_iam_policy_document.state"]
    (deny,) = [s for s in policy["statement"] if s.get("sid") == "DenyWritesThatAskForAes256"]
    assert deny["effect"] == "Deny"
    assert deny["actions"] == ["s3:PutObject"]
    assert deny["condition"] == [
        {
            "test": "StringEquals",
            "variable": "s3:x-amz-server-side-encryption",
            "values": ["AES256"],
        }
    ]


def test_bootstrap_outputs_the_key_the_pipeline_roles_need() -> None:
    outputs = labelled(BOOTSTRAP, "output")
    assert outputs["state_kms_key_arn"]["value"] == "${var.kms_key_arn}"
    root_vars = labelled(INFRA, "variable")
    assert "state_kms_key_arn" in root_vars


# --- the real thing: a state written through infra/backend.tf ------------------------


def written_encryption(tmp_path: Path, backend_tf: str) -> str:
    """Write a state through `backend_tf` into a moto bucket that defaults to SSE-KMS."""
    key = f"{tmp_path.name}/{KEY}"  # moto's backends are per process: one key per test
    import boto3
    from moto.server import ThreadedMotoServer

    terraform = require_tool("terraform")  # skips, or fails under CI=true
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        s3 = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",  # noqa: S106 (moto's)
        )  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_encryption(
            Bucket=BUCKET,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
        (tmp_path / "backend.tf").write_text(backend_tf, encoding="utf-8")
        (tmp_path / "main.tf").write_text('output "written" {\n  value = 1\n}\n', encoding="utf-8")
        (tmp_path / "backend.hcl").write_text(
            f'bucket = "{BUCKET}"\nkey = "{key}"\nregion = "us-east-1"\n'
            'access_key = "test"\nsecret_key = "test"\n'
            "skip_credentials_validation = true\nskip_requesting_account_id = true\n"
            "skip_metadata_api_check = true\nskip_region_validation = true\n"
            f'use_path_style = true\nendpoints = {{ s3 = "{endpoint}" }}\n',
            encoding="utf-8",
        )
        (tmp_path / "cli.tfrc").write_text("", encoding="utf-8")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "TF_CLI_CONFIG_FILE": str(tmp_path / "cli.tfrc"),
            "CHECKPOINT_DISABLE": "1",
        }
        for args in (
            ["init", "-input=false", "-no-color", "-backend-config=backend.hcl"],
            ["apply", "-input=false", "-no-color", "-auto-approve"],
        ):
            result = subprocess.run(
                [terraform, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                timeout=120, check=False,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
        return str(s3.head_object(Bucket=BUCKET, Key=key).get("ServerSideEncryption"))
    finally:
        server.stop()


@pytest.mark.slow
def test_a_state_written_through_the_backend_block_is_sse_kms(tmp_path: Path) -> None:
    backend_tf = (INFRA / "backend.tf").read_text(encoding="utf-8")
    assert written_encryption(tmp_path, backend_tf) == "aws:kms"


@pytest.mark.slow
def test_encrypt_true_alone_would_write_aes256(tmp_path: Path) -> None:
    # The defect this file guards against, shown with the same harness.
    old = (
        'terraform {\n  backend "s3" {\n    use_lockfile = true\n    encrypt      = true\n  }\n}\n'
    )
    assert written_encryption(tmp_path, old) == "AES256"
