"""The rehearsal's adaptations of moto, each checked against the AWS behaviour it restores.

The emulator patches moto process-wide, so every check that starts it runs in
a subprocess of its own: the other tests keep moto as it ships.
"""

from __future__ import annotations

import pytest

from support.emulated import run_script

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

iam = account.client(e.url, "iam")
iam.create_user(UserName="u")
allowed = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"},
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": objects}]}
iam.put_user_policy(UserName="u", PolicyName="only", PolicyDocument=json.dumps(allowed))
issued = iam.create_access_key(UserName="u")["AccessKey"]
key = (issued["AccessKeyId"], issued["SecretAccessKey"])
ecs, user_s3 = account.client(e.url, "ecs", *key), account.client(e.url, "s3", *key)
with e.gate.enforced():
    # Through the gate: the user's policy allows, the bucket policy's Denies
    # do not apply to an HTTPS request without the AES256 header.
    user_s3.put_object(Bucket="state-bucket", Key="k", Body=b"x")
    out["s3_read"] = user_s3.get_object(Bucket="state-bucket", Key="k")["Body"].read().decode()
    try:
        user_s3.put_object(Bucket="state-bucket", Key="k2", Body=b"x",
                           ServerSideEncryption="AES256")
    except user_s3.exceptions.ClientError as error:
        out["aes_denied"] = error.response["Error"]["Code"]
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
    return run_script(SCRIPT, timeout=120)


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


def test_the_bucket_policys_deny_applies_when_its_condition_holds(
    emulated: dict[str, str],
) -> None:
    assert emulated["aes_denied"] == "AccessDenied"


def test_a_denied_json_protocol_call_is_an_access_denied_exception(
    emulated: dict[str, str],
) -> None:
    assert emulated["denied"] == "AccessDeniedException"
