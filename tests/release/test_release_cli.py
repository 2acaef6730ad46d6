"""The CLI as users meet it: console script, help, one-line errors, ecr-login."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from release_fakes import push_image

from finlex_release import images
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
    assert image.tags == ("1.0.1",)


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
