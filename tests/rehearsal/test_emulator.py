"""The rehearsal's adaptations of moto, each checked against the AWS behaviour it restores.

The emulator patches moto process-wide, so every check that starts it runs in
a subprocess of its own: the other tests keep moto as it ships.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rehearse.emulator import conditions_hold

REPO = Path(__file__).resolve().parents[2]

TLS = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}


def test_an_absent_key_fails_a_condition_as_in_iam() -> None:
    # The state bucket's "deny writes that ask for AES256": no header, no match.
    aes = {"StringEquals": {"s3:x-amz-server-side-encryption": "AES256"}}
    assert conditions_hold(aes, TLS) is False
    assert conditions_hold(aes, {**TLS, "s3:x-amz-server-side-encryption": "AES256"}) is True
    assert conditions_hold({"StringEqualsIfExists": aes["StringEquals"]}, TLS) is True


def test_bool_and_numeric_operators() -> None:
    assert conditions_hold({"Bool": {"aws:SecureTransport": "false"}}, TLS) is False
    assert conditions_hold({"Bool": {"aws:SecureTransport": ["true"]}}, TLS) is True
    assert conditions_hold({"NumericLessThan": {"s3:TlsVersion": "1.2"}}, TLS) is False
    assert conditions_hold({"NumericLessThan": {"s3:TlsVersion": "1.2"}}, {"s3:TlsVersion": "1.1"})


def test_an_operator_it_cannot_evaluate_is_an_error_not_a_match() -> None:
    with pytest.raises(NotImplementedError, match="ArnLike"):
        conditions_hold({"ArnLike": {"aws:SourceArn": "arn:*"}}, TLS)


SCRIPT = r"""
import hashlib, json
from rehearse import account, emulator

e = emulator.start()
out = {}
out["zone"] = account.hosted_zone(e.url, "example.com")

ecr = account.client(e.url, "ecr")
ecr.create_repository(repositoryName="repo", imageScanningConfiguration={"scanOnPush": True})
manifest = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
               "digest": "sha256:" + "0" * 64},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": 1,
                "digest": "sha256:" + "1" * 64}]})
image = ecr.put_image(repositoryName="repo", imageManifest=manifest, imageTag="t")["image"]
expected = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
out["digest_ok"] = image["imageId"]["imageDigest"] == expected
scan = ecr.describe_image_scan_findings(repositoryName="repo", imageId={"imageTag": "t"})
out["scanned"] = scan["imageScanStatus"]["status"]

s3 = account.client(e.url, "s3")
s3.create_bucket(Bucket="state-bucket")
objects = ["arn:aws:s3:::state-bucket/*"]
tls_only = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": objects,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
no_aes = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": objects,
          "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "AES256"}}}
policy = {"Version": "2012-10-17", "Statement": [tls_only, no_aes]}
s3.put_bucket_policy(Bucket="state-bucket", Policy=json.dumps(policy))
s3.put_object(Bucket="state-bucket", Key="k", Body=b"x")
out["s3_read"] = s3.get_object(Bucket="state-bucket", Key="k")["Body"].read().decode()

key = account.deploy_user(e.url, "u", {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]})
ecs = account.client(e.url, "ecs", *key)
with e.enforcing_iam():
    ecs.list_clusters()
    try:
        ecs.list_services(cluster="x")
    except ecs.exceptions.ClientError as error:
        out["denied"] = error.response["Error"]["Code"]
e.stop()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def emulated() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "tools")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_hosted_zone_ids_start_with_z_as_on_aws(emulated: dict[str, str]) -> None:
    assert emulated["zone"].startswith("Z")


def test_an_image_digest_is_the_sha256_of_its_manifest(emulated: dict[str, str]) -> None:
    assert emulated["digest_ok"] is True


def test_scan_on_push_scans_what_is_pushed(emulated: dict[str, str]) -> None:
    assert emulated["scanned"] == "COMPLETE"


def test_a_tls_only_bucket_policy_lets_the_emulators_requests_through(
    emulated: dict[str, str],
) -> None:
    assert emulated["s3_read"] == "x"


def test_a_denied_json_protocol_call_is_an_access_denied_exception(
    emulated: dict[str, str],
) -> None:
    assert emulated["denied"] == "AccessDeniedException"
