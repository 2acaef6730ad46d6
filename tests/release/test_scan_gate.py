"""scan-gate against moto (its made-up HIGH finding) and botocore's Stubber."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from finlex_release import scan_gate
from finlex_release.allowlist import EMPTY
from finlex_release.errors import Exit
from support.release_fakes import REGION, push_image

MOTO_CVE = "CVE-9999-9999"  # the HIGH finding moto reports for every scanned image
MOTO_PACKAGE = "moto_fake"  # the package moto's finding names
DIGEST = "sha256:" + "d" * 64


def scanned(tag: str = "1.0.1"):
    image = push_image(tag=tag)
    boto3.client("ecr", region_name=REGION).start_image_scan(
        repositoryName=image.repository, imageId={"imageDigest": image.digest}
    )
    return image


def allowlist_file(tmp_path: Path, cve: str, expires: dt.date, package: str = MOTO_PACKAGE) -> Path:
    """A valid entry for `cve` in `package`, added 60 days before it expires."""
    path = tmp_path / "allow.toml"
    added = expires - dt.timedelta(days=60)
    path.write_text(
        f'[[allow]]\nid = "{cve}"\npackage = "{package}"\n'
        'reason = "not reachable from the service"\nowner = "@finlex/platform"\n'
        f"added = {added}\nexpires = {expires}\n"
    )
    return path


def test_fails_on_a_high_finding(moto, run) -> None:
    image = scanned()
    result = run("scan-gate", "--repository", image.repository, "--image-tag", image.tag)
    assert result.code == 1
    assert MOTO_CVE in result.err
    assert f"not allowlisted: {MOTO_CVE} ({MOTO_PACKAGE})" in result.err
    row = next(line for line in result.out.splitlines() if MOTO_CVE in line)
    assert row.split()[:4] == ["HIGH", MOTO_CVE, "moto_fake", "9.9.9"]
    assert row.rstrip().endswith("BLOCKS")
    assert image.digest in result.out


def test_passes_when_the_finding_is_allowlisted(moto, run, tmp_path) -> None:
    image = scanned()
    today = dt.date(2026, 3, 1)
    allow = allowlist_file(tmp_path, MOTO_CVE, today + dt.timedelta(days=30))
    result = run(
        "scan-gate",
        "--image",
        f"{image.repository}@{image.digest}",
        "--allowlist",
        str(allow),
        today=today,
    )
    assert result.code == 0, result.err
    assert "allowed until 2026-03-31 by @finlex/platform: not reachable" in result.out
    assert "scan gate passed" in result.out


def test_fails_again_once_the_entry_has_expired(moto, run, tmp_path) -> None:
    image = scanned()
    allow = allowlist_file(tmp_path, MOTO_CVE, dt.date(2026, 3, 1))
    argv = ("scan-gate", "--image", f"{image.repository}:{image.tag}", "--allowlist", str(allow))
    assert run(*argv, today=dt.date(2026, 3, 1)).code == 0  # the expiry day itself still counts
    result = run(*argv, today=dt.date(2026, 3, 2))
    assert result.code == 1
    assert "BLOCKS (allowlist entry expired 2026-03-01)" in result.out
    assert f"{MOTO_CVE} in {MOTO_PACKAGE} expired on 2026-03-01; @finlex/platform" in (
        result.progress
    )


def test_the_real_clock_expires_entries_too(moto, run, tmp_path) -> None:
    image = scanned()
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    allow = allowlist_file(tmp_path, MOTO_CVE, yesterday)
    result = run("scan-gate", "--image", f"finlex:{image.tag}", "--allowlist", str(allow))
    assert result.code == 1


def test_threshold_above_the_finding_passes(moto, run) -> None:
    image = scanned()
    result = run("scan-gate", "--image", f"finlex:{image.tag}", "--threshold", "CRITICAL")
    assert result.code == 0, result.err
    assert "findings by severity: HIGH 1" in result.out


def test_without_a_scan_it_waits_then_times_out(moto, run) -> None:
    image = push_image()
    result = run(
        "scan-gate", "--image", f"finlex:{image.tag}", "--timeout", "60", "--interval", "20"
    )
    assert result.code == 5
    assert "not complete after 1m00s" in result.err
    assert result.progress.count("no scan of this image yet") == 4  # at 0, 20, 40, 60 s


def test_start_scan_starts_one(moto, run) -> None:
    image = push_image()
    result = run("scan-gate", "--image", f"finlex:{image.tag}", "--start-scan")
    assert result.code == 1
    assert "scan started" in result.progress
    assert MOTO_CVE in result.err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("--image", "finlex:nope"), 4, "image finlex:nope not found in ECR"),
        (("--image", "missing:1.0.1"), 4, "ECR repository 'missing' not found"),
        (("--image", "finlex"), 2, "needs a :tag or an @sha256: digest"),
        (("--image", "finlex@sha256:abc"), 2, "digest must look like sha256:<64 hex digits>"),
        (("--repository", "finlex"), 2, "name the image"),
        (("--repository", "finlex", "--image-digest", "sha256:1"), 2, "--image-digest"),
        (("--image", "finlex:1.0.1", "--repository", "finlex"), 2, "not both"),
        (("--image", "ghcr.io/finlex:1"), 2, "'ghcr.io' is not an ECR registry"),
    ],
)
def test_bad_or_unknown_images(moto, run, argv, code, message) -> None:
    push_image()
    result = run("scan-gate", *argv)
    assert result.code == code
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err


def test_a_bad_allowlist_is_a_usage_error(moto, run, tmp_path) -> None:
    image = scanned()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[allow]]\nid = "CVE-2024-1"\npackage = "zlib"\nexpires = 2030-01-01\n')
    result = run("scan-gate", "--image", f"finlex:{image.tag}", "--allowlist", str(bad))
    assert result.code == 2
    assert f"allowlist {bad}: entry 1 (CVE-2024-1 in zlib): missing reason" in result.err


def test_an_entry_for_another_package_does_not_cover_the_finding(moto, run, tmp_path) -> None:
    image = scanned()
    today = dt.date(2026, 3, 1)
    allow = allowlist_file(tmp_path, MOTO_CVE, today + dt.timedelta(days=30), package="zlib")
    result = run(
        "scan-gate", "--image", f"finlex:{image.tag}", "--allowlist", str(allow), today=today
    )
    assert result.code == 1
    assert f"not allowlisted: {MOTO_CVE} ({MOTO_PACKAGE})" in result.err


def test_an_entry_past_90_days_stops_the_gate_before_any_aws_call(run, tmp_path) -> None:
    bad = tmp_path / "long.toml"
    bad.write_text(
        '[[allow]]\nid = "CVE-2024-1"\npackage = "zlib"\nreason = "r"\nowner = "@me"\n'
        "added = 2026-01-01\nexpires = 2027-02-05\n"
    )

    def no_aws(service: str) -> None:
        raise AssertionError(f"called AWS ({service}) with an invalid allowlist")

    argv = ("scan-gate", "--image", "finlex:1.0.1", "--allowlist", str(bad))
    result = run(*argv, clients=no_aws, today=dt.date(2026, 1, 2))
    assert result.code == 2
    assert "entry 1 (CVE-2024-1 in zlib): expires 2027-02-05 is 400 days after" in result.err


# --- Stubber: the states moto never shows ------------------------------------


def stubbed_ecr():
    client = boto3.client("ecr", region_name=REGION)
    return client, Stubber(client)


def image_lookup(stub: Stubber) -> None:
    stub.add_response(
        "describe_images",
        {
            "imageDetails": [
                {"registryId": "123456789012", "repositoryName": "finlex", "imageDigest": DIGEST}
            ]
        },
        {"repositoryName": "finlex", "imageIds": [{"imageDigest": DIGEST}]},
    )
    stub.add_response(
        "describe_repositories",
        {
            "repositories": [
                {"repositoryUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/finlex"}
            ]
        },
        {"repositoryNames": ["finlex"]},
    )


def status_page(status: str, **scan: object) -> dict:
    page: dict = {
        "registryId": "123456789012",
        "repositoryName": "finlex",
        "imageId": {"imageDigest": DIGEST},
        "imageScanStatus": {"status": status, "description": status.lower()},
    }
    if scan:
        page["imageScanFindings"] = scan
    return page


SCAN_ARGS = {
    "repositoryName": "finlex",
    "registryId": "123456789012",
    "imageId": {"imageDigest": DIGEST},
}

ENHANCED = [
    {
        "severity": "CRITICAL",
        "status": "ACTIVE",
        "title": "CVE-2024-0001 - openssl",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": "CVE-2024-0001",
            "vulnerablePackages": [{"name": "openssl", "version": "3.0.1"}],
        },
    },
    {
        "severity": "MEDIUM",
        "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2024-0002"},
    },
    {
        "severity": "HIGH",
        "status": "CLOSED",
        "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2024-0003"},
    },
]


def test_waits_for_in_progress_then_reads_enhanced_findings(aws_env, run, tmp_path) -> None:
    ecr, stub = stubbed_ecr()
    image_lookup(stub)
    stub.add_response(
        "describe_image_scan_findings", status_page("PENDING"), {**SCAN_ARGS, "maxResults": 1}
    )
    stub.add_response(
        "describe_image_scan_findings", status_page("IN_PROGRESS"), {**SCAN_ARGS, "maxResults": 1}
    )
    stub.add_response(
        "describe_image_scan_findings", status_page("ACTIVE"), {**SCAN_ARGS, "maxResults": 1}
    )
    stub.add_response(
        "describe_image_scan_findings",
        {**status_page("ACTIVE", enhancedFindings=ENHANCED[:1]), "nextToken": "page2"},
        SCAN_ARGS,
    )
    stub.add_response(
        "describe_image_scan_findings",
        status_page("ACTIVE", enhancedFindings=ENHANCED[1:]),
        {**SCAN_ARGS, "nextToken": "page2"},
    )
    with stub:
        result = run("scan-gate", "--image", f"finlex@{DIGEST}", clients=lambda _: ecr)
        stub.assert_no_pending_responses()
    assert result.code == 1
    assert "1 finding(s) at or above HIGH not allowlisted: CVE-2024-0001 (openssl)" in result.err
    row = next(line for line in result.out.splitlines() if "CVE-2024-0001" in line)
    assert row.split()[:4] == ["CRITICAL", "CVE-2024-0001", "openssl", "3.0.1"]
    assert "CVE-2024-0002" not in result.out.split("findings at or above")[1]  # MEDIUM < HIGH
    assert "CVE-2024-0003" not in result.out  # CLOSED findings are fixed
    assert "IN_PROGRESS" in result.progress


@pytest.mark.parametrize("status", ["FAILED", "UNSUPPORTED_IMAGE", "SCAN_ELIGIBILITY_EXPIRED"])
def test_a_scan_that_cannot_complete_fails(aws_env, run, status) -> None:
    ecr, stub = stubbed_ecr()
    image_lookup(stub)
    stub.add_response(
        "describe_image_scan_findings", status_page(status), {**SCAN_ARGS, "maxResults": 1}
    )
    with stub:
        result = run("scan-gate", "--image", f"finlex@{DIGEST}", clients=lambda _: ecr)
    assert result.code == 1
    assert f"ended with status {status}" in result.err


def test_scan_timeout_is_exit_5(aws_env, run) -> None:
    ecr, stub = stubbed_ecr()
    image_lookup(stub)
    for _ in range(4):  # at 0, 5, 10 and 15 s
        stub.add_response(
            "describe_image_scan_findings",
            status_page("IN_PROGRESS"),
            {**SCAN_ARGS, "maxResults": 1},
        )
    with stub:
        result = run(
            "scan-gate",
            "--image",
            f"finlex@{DIGEST}",
            "--timeout",
            "15",
            "--interval",
            "5",
            clients=lambda _: ecr,
        )
        stub.assert_no_pending_responses()
    assert result.code == 5
    assert "last status IN_PROGRESS" in result.err


def test_unknown_severities_rank_as_chosen() -> None:
    found = [scan_gate.Finding("CVE-2024-7", "UNDEFINED"), scan_gate.Finding("CVE-2024-8", "LOW")]
    today = dt.date(2026, 1, 1)
    closed = scan_gate.evaluate(found, threshold="HIGH", allowlist=EMPTY, today=today)
    assert [row.finding.id for row in closed] == ["CVE-2024-7"]
    lenient = scan_gate.evaluate(
        found, threshold="HIGH", allowlist=EMPTY, today=today, unknown_as="LOW"
    )
    assert lenient == []


def test_basic_findings_parse_package_and_severity() -> None:
    page = status_page(
        "COMPLETE",
        findings=[
            {
                "name": "CVE-2023-1",
                "severity": "CRITICAL",
                "attributes": [
                    {"key": "package_name", "value": "zlib"},
                    {"key": "package_version", "value": "1.2"},
                ],
            }
        ],
    )
    assert scan_gate.parse_findings(page) == [
        scan_gate.Finding("CVE-2023-1", "CRITICAL", "zlib", "1.2")
    ]


def test_an_enhanced_finding_is_one_row_per_vulnerable_package() -> None:
    """Inspector names the Python packages too: each is allowlisted on its own."""
    two = {
        "severity": "HIGH",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": "CVE-2024-0009",
            "vulnerablePackages": [
                {"name": "jinja2", "version": "3.1.5"},
                {"name": "libexpat1", "version": "2.7.1"},
            ],
        },
    }
    found = scan_gate.parse_findings(status_page("ACTIVE", enhancedFindings=[two]))
    assert [(f.package, f.version) for f in found] == [("jinja2", "3.1.5"), ("libexpat1", "2.7.1")]


def test_enhanced_findings_are_allowlisted_by_id_and_package(aws_env, run, tmp_path) -> None:
    ecr, stub = stubbed_ecr()
    image_lookup(stub)
    stub.add_response(
        "describe_image_scan_findings", status_page("ACTIVE"), {**SCAN_ARGS, "maxResults": 1}
    )
    stub.add_response(
        "describe_image_scan_findings", status_page("ACTIVE", enhancedFindings=ENHANCED), SCAN_ARGS
    )
    today = dt.date(2026, 12, 6)
    allow = allowlist_file(tmp_path, "CVE-2024-0001", dt.date(2027, 1, 31), package="openssl")
    with stub:
        argv = ("scan-gate", "--image", f"finlex@{DIGEST}", "--allowlist", str(allow))
        result = run(*argv, clients=lambda _: ecr, today=today)
    assert result.code == 0, result.err
    row = next(line for line in result.out.splitlines() if "CVE-2024-0001" in line)
    assert "allowed until 2027-01-31 by @finlex/platform" in row


def test_scan_gate_refuses_an_image_of_another_region(moto, run) -> None:
    pushed = push_image(tag="1.0.1")
    other = pushed.uri.replace(".eu-west-1.", ".us-east-1.")
    result = run("scan-gate", "--image", f"{other}:1.0.1")
    assert result.code == Exit.USAGE
    assert "the registry is in us-east-1 but the AWS region is eu-west-1" in result.err
