"""AWS clients and errors: regions, credentials and SSO sessions, timeouts and
bounded retries, each a one-line error with its exit code."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from pathlib import Path

import botocore.credentials
import botocore.tokens
import pytest
from botocore.exceptions import EndpointConnectionError

from finlex_release import aws
from finlex_release.errors import Exit


def test_no_region(no_credentials, monkeypatch, run) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    result = run("status", "--cluster", "c", "--service", "s")
    assert result.code == Exit.USAGE
    assert "no AWS region: pass --region or set AWS_REGION" in result.err


def test_aws_region_alone_names_the_region(no_credentials, monkeypatch) -> None:
    # botocore reads AWS_DEFAULT_REGION only; the error tells users to set AWS_REGION.
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    client = aws.client_factory(None)("ecs")
    assert client.meta.region_name == "eu-west-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    assert aws.client_factory("ap-south-1")("ecs").meta.region_name == "ap-south-1"


def sso_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An SSO profile as `aws configure sso` writes it; returns the token cache folder."""
    config = tmp_path / "sso-config"
    config.write_text(
        "[profile finlex-sso]\n"
        "sso_start_url = https://example.awsapps.com/start\n"
        "sso_region = eu-west-1\n"
        "sso_account_id = 123456789012\n"
        "sso_role_name = Deploy\n"
        "region = eu-west-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "finlex-sso")
    cache = tmp_path / "sso-cache"
    cache.mkdir()
    # botocore fixes the token cache folder (~/.aws/sso/cache) at import time.
    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(botocore.tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    return cache


def test_missing_sso_token_is_a_credentials_error(
    no_credentials, monkeypatch, run, tmp_path
) -> None:
    sso_config(tmp_path, monkeypatch)
    result = run("status", "--cluster", "c", "--service", "s")
    assert result.code == Exit.CREDENTIALS, result.err
    assert "no usable AWS SSO session" in result.err
    assert "aws sso login" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_expired_sso_token_is_a_credentials_error(
    no_credentials, monkeypatch, run, tmp_path
) -> None:
    cache = sso_config(tmp_path, monkeypatch)
    start_url = "https://example.awsapps.com/start"
    name = hashlib.sha1(start_url.encode()).hexdigest()  # noqa: S324 - botocore's cache key
    (cache / f"{name}.json").write_text(
        json.dumps(
            {
                "startUrl": start_url,
                "region": "eu-west-1",
                "accessToken": "expired",
                "expiresAt": "2020-01-01T00:00:00Z",
            }
        )
    )
    result = run("status", "--cluster", "c", "--service", "s")
    assert result.code == Exit.CREDENTIALS, result.err
    assert "no usable AWS SSO session" in result.err
    assert "expired" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_unknown_profile_is_a_credentials_error(no_credentials, monkeypatch, run) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    result = run("status", "--cluster", "c", "--service", "s")
    assert result.code == Exit.CREDENTIALS, result.err
    assert "The config profile (no-such-profile) could not be found" in result.err


@pytest.mark.parametrize("region", ["nowhere", "eu west 1", "eu-west-1;"])
def test_malformed_region_is_a_usage_error(aws_env, run, region) -> None:
    result = run("status", "--region", region, "--cluster", "c", "--service", "s")
    assert result.code == Exit.USAGE, result.err
    assert "check --region" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_unreachable_unknown_region_is_a_usage_error() -> None:
    unknown = EndpointConnectionError(endpoint_url="https://ecs.eu-west-9.amazonaws.com/")
    assert aws.translate(unknown).code == Exit.USAGE
    assert "unknown AWS region 'eu-west-9'" in aws.translate(unknown).message
    known = EndpointConnectionError(endpoint_url="https://ecs.eu-west-1.amazonaws.com/")
    assert aws.translate(known).code == Exit.AWS


def test_aws_clients_have_timeouts_and_bounded_retries(aws_env) -> None:
    config = aws.client_factory("eu-west-1")("ecs").meta.config
    assert (config.connect_timeout, config.read_timeout) == (aws.CONNECT_TIMEOUT, aws.READ_TIMEOUT)
    assert config.retries == {"mode": "standard", "total_max_attempts": aws.MAX_ATTEMPTS}
    worst = aws.MAX_ATTEMPTS * (aws.CONNECT_TIMEOUT + aws.READ_TIMEOUT) + 2 * 20
    assert worst <= 120  # README: a black-holed endpoint fails within about 2 minutes


def test_black_holed_endpoint_fails_in_bounded_time(aws_env, monkeypatch, run) -> None:
    # Accepts connections (the kernel's backlog) and never answers.
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{hole.getsockname()[1]}")
        monkeypatch.setattr(aws, "READ_TIMEOUT", 0.5)
        monkeypatch.setattr(aws, "CONNECT_TIMEOUT", 0.5)
        monkeypatch.setattr(aws, "MAX_ATTEMPTS", 2)
        started = time.monotonic()
        result = run("status", "--cluster", "c", "--service", "s")
        took = time.monotonic() - started
    assert result.code == Exit.AWS, result.err
    assert "AWS did not answer in time" in result.err
    assert took < 10
