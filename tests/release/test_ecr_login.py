"""ecr-login: docker login with the password on stdin, never in argv or output."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import boto3

from finlex_release.errors import Exit
from support.release_fakes import HOST


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
