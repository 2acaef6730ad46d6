"""The CLI as users meet it: console script, help, one-line errors, ecr-login."""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import boto3
import botocore.credentials
import botocore.tokens
import pytest
from botocore.exceptions import EndpointConnectionError
from release_fakes import push_image

from finlex_release import aws, cli, images
from finlex_release.command import AddCommand, Parser
from finlex_release.errors import EXIT_TABLE, Exit
from prereq import require_tool

COMMANDS = ("scan-gate", "deploy", "rollback", "status", "verify", "ecr-login")


def test_help_lists_commands_and_exit_codes(run) -> None:
    result = run("--help")
    assert result.code == 0
    text = result.err + result.out
    help_text = subprocess.run(
        [sys.executable, "-m", "finlex_release", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in COMMANDS:
        assert command in help_text
    for code, meaning in EXIT_TABLE.items():
        assert f"  {int(code)}  {meaning}" in help_text
    assert text == ""  # argparse prints --help to the real stdout, not through context


def test_exit_codes_are_distinct() -> None:
    assert len({int(code) for code in Exit}) == len(Exit)
    assert set(EXIT_TABLE) == set(Exit)


def test_console_script_without_credentials(no_credentials, tmp_path) -> None:
    script = require_tool("finlex-release")
    result = subprocess.run(
        [script, "deploy", "--cluster", "c", "--service", "s", "--image", "finlex:1"],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
        timeout=60,
    )
    assert result.returncode == Exit.CREDENTIALS
    assert result.stderr.startswith("finlex-release deploy: no usable AWS credentials")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("launch",), "invalid choice: 'launch'"),
        (("scan-gate", "--threshold", "SEVERE", "--image", "a:1"), "invalid choice: 'SEVERE'"),
        (("verify", "--url", "http://x", "--timeout", "soon"), "'soon' is not a number"),
    ],
)
def test_usage_errors_are_one_line(run, argv, message) -> None:
    result = run(*argv)
    assert result.code == Exit.USAGE
    assert message in result.err
    assert result.err.rstrip().endswith("(see --help)")
    assert len(result.err.strip().splitlines()) == 1


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


# --- image references --------------------------------------------------------

DIGEST = "sha256:" + "e" * 64
HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("finlex:1.0.1", images.ImageRef("finlex", tag="1.0.1")),
        (f"finlex@{DIGEST}", images.ImageRef("finlex", digest=DIGEST)),
        ("team/finlex:abc123", images.ImageRef("team/finlex", tag="abc123")),
        (
            f"{HOST}/finlex:1.0.1",
            images.ImageRef("finlex", tag="1.0.1", registry_id="123456789012", host=HOST),
        ),
        (
            f"{HOST}/finlex@{DIGEST}",
            images.ImageRef("finlex", digest=DIGEST, registry_id="123456789012", host=HOST),
        ),
    ],
)
def test_image_references(text, expected) -> None:
    assert images.parse(text) == expected
    assert str(images.parse(text)) == text


@pytest.mark.parametrize("text", ["finlex", "Finlex:1", "finlex:", "finlex:-x", "a@sha256:12"])
def test_invalid_image_references(text) -> None:
    with pytest.raises(images.UsageError):
        images.parse(text)


def test_tag_resolves_to_digest(moto) -> None:
    pushed = push_image(tag="1.0.1")
    image = images.resolve(boto3.client("ecr"), images.parse("finlex:1.0.1"))
    assert image.digest == pushed.digest
    assert image.uri == f"{pushed.uri}@{pushed.digest}"
    assert set(image.tags) == {"1.0.1", "tested-1.0.1"}  # the tag and its test record


# --- ecr-login -----------------------------------------------------------------


def fake_docker(tmp_path: Path, exit_code: int = 0) -> tuple[Path, Path]:
    """A `docker` that records its arguments and stdin."""
    record = tmp_path / "docker-call"
    script = tmp_path / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{record}"\n'
        f'cat >> "{record}"\n'
        f'[ {exit_code} -eq 0 ] || echo "Error response from daemon: login denied" >&2\n'
        f"exit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, record


def test_ecr_login_passes_the_password_on_stdin(moto, run, tmp_path) -> None:
    docker, record = fake_docker(tmp_path)
    result = run("ecr-login", "--docker", str(docker))
    assert result.code == 0, result.err
    assert result.out.strip() == HOST
    token = boto3.client("ecr").get_authorization_token()["authorizationData"][0]
    expected = base64.b64decode(token["authorizationToken"]).decode().removeprefix("AWS:")
    arguments, stdin = record.read_text().splitlines()
    assert arguments == f"login --username AWS --password-stdin {HOST}"
    assert stdin == expected
    assert expected not in result.out + result.progress + result.err


def test_ecr_login_failure(moto, run, tmp_path) -> None:
    docker, _ = fake_docker(tmp_path, exit_code=1)
    result = run("ecr-login", "--docker", str(docker))
    assert result.code == Exit.FAILED
    assert "Error response from daemon: login denied" in result.err


def test_ecr_login_without_docker(moto, run, tmp_path) -> None:
    result = run("ecr-login", "--docker", str(tmp_path / "no-docker"))
    assert result.code == Exit.USAGE
    assert "not found on PATH" in result.err


# --- version, help, durations ---------------------------------------------------


def test_version_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "finlex_release", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"finlex-release {importlib.metadata.version('finlex-release')}"


def test_help_names_no_internals() -> None:
    for argv in ((), ("verify",), ("deploy",)):
        text = subprocess.run(
            [sys.executable, "-m", "finlex_release", *argv, "--help"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "errors.Exit" not in text, argv


@pytest.mark.parametrize(
    "argv",
    [
        ("deploy", "--cluster", "c", "--service", "s", "--image", "finlex:1", "--timeout", "inf"),
        ("deploy", "--cluster", "c", "--service", "s", "--image", "finlex:1", "--timeout", "1e999"),
        ("rollback", "--cluster", "c", "--service", "s", "--interval", "1e300"),
        ("scan-gate", "--image", "finlex:1", "--timeout", "Infinity"),
        ("verify", "--url", "http://x", "--request-timeout", "1e12"),
        ("verify", "--url", "http://x", "--max-interval", "86401"),
        ("verify", "--url", "http://x", "--timeout", "nan"),
        ("verify", "--url", "http://x", "--rounds", "0"),
    ],
)
def test_every_duration_is_bounded_before_any_aws_call(run, argv) -> None:
    def no_aws(service: str) -> object:
        raise AssertionError(f"an AWS client ({service}) was made")

    result = run(*argv, clients=no_aws)
    assert result.code == Exit.USAGE, result.err
    assert len(result.err.strip().splitlines()) == 1
    assert result.progress == ""


# --- credentials, profiles, regions -----------------------------------------------


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


# --- SIGTERM, as a CI runner sends it ----------------------------------------------


def test_sigterm_ends_with_one_line_and_exit_143(tmp_path) -> None:
    script = require_tool("finlex-release")
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)
        url = f"http://127.0.0.1:{hole.getsockname()[1]}"
        process = subprocess.Popen(
            [
                script,
                "verify",
                "--allow-http",
                "--url",
                url,
                "--expected-version",
                "1",
                "--timeout",
                "60",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr is not None
            first = process.stderr.readline()  # "verifying ...": the handler is in place
            assert first.startswith("verifying ")
            process.send_signal(signal.SIGTERM)
            _, rest = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == Exit.TERMINATED
    assert rest == "finlex-release verify: terminated (SIGTERM)\n"


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "us-east-1"),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1"),
    ],
)
def test_an_ecr_uri_of_another_region_is_refused(host, region) -> None:
    ref = images.parse(f"{host}/finlex:1.0.1")
    assert ref.region == region
    images.check_region(ref, region)
    with pytest.raises(images.UsageError, match=f"pass --region {region}"):
        images.check_region(ref, "eu-central-1")
    images.check_region(images.parse("finlex:1.0.1"), "eu-central-1")  # no host: no opinion


def test_scan_gate_refuses_an_image_of_another_region(moto, run) -> None:
    pushed = push_image(tag="1.0.1")
    other = pushed.uri.replace(".eu-west-1.", ".us-east-1.")
    result = run("scan-gate", "--image", f"{other}:1.0.1")
    assert result.code == Exit.USAGE
    assert "the registry is in us-east-1 but the AWS region is eu-west-1" in result.err


def test_readme_exit_table_lists_every_exit_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "release" / "README.md").read_text()
    table = readme.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    codes = [int(line.split("|")[1]) for line in table.splitlines()[2:] if line.startswith("|")]
    assert codes == sorted(int(code) for code in Exit)


def test_each_command_module_registers_and_runs_its_own_subcommands() -> None:
    """cli.py is only the table: every subcommand's options and run live in the
    module whose register() adds it, and the table adds every subcommand."""
    every = _subcommands(cli.build_parser())
    seen: dict[str, str] = {}
    for register in cli.COMMANDS:
        parser = Parser(prog="finlex-release")
        register(AddCommand(parser.add_subparsers(dest="command")))
        for name, sub in _subcommands(parser).items():
            assert sub.get_default("run").__module__ == register.__module__, name
            assert name not in seen, f"{name}: added by {seen.get(name)} and {register.__module__}"
            seen[name] = register.__module__
    assert sorted(seen) == sorted(every)
    assert "cli" not in {module.rsplit(".", 1)[-1] for module in seen.values()}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (found,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(found.choices)


def test_readme_code_layout_names_every_module() -> None:
    readme = (Path(__file__).resolve().parents[2] / "release" / "README.md").read_text()
    table = readme.split("## Code layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(\w+\.py)`", table))
    package = Path(cli.__file__).parent
    modules = {path.name for path in package.glob("*.py")} - {"__init__.py", "__main__.py"}
    assert named == modules
