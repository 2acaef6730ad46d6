"""make rehearse-traffic's bad input: one clear line each, nothing started, nothing left."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from traffic import spec as specs
from traffic.__main__ import EXIT_FAILED, EXIT_MISSING, EXIT_USAGE
from traffic.tasks import LABEL

from localhost import free_port

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def rehearse(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "traffic", *args],
        env={**os.environ, "PYTHONPATH": str(TOOLS)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--scenarios", "rolling-deploy", "blue-green"], "unknown scenario or control blue-green"),
        (["--controls", "no-such"], "unknown scenario or control no-such"),
        (["--rate", "0"], "--rate 0 must be above 0"),
        (["--time-scale", "3"], "--time-scale 3 must be above 0 and at most 1"),
        (["--port", "80"], "--port 80 must be from 1024"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    result = rehearse(*args)
    assert result.returncode == EXIT_USAGE
    assert says in one_line(result)


def test_a_missing_haproxy_is_one_line_naming_the_fix() -> None:
    result = rehearse("--haproxy", "no-such-haproxy")
    assert result.returncode == EXIT_MISSING
    assert one_line(result) == (
        "rehearse-traffic: HAProxy (no-such-haproxy) is not installed: apt-get install haproxy"
    )


def test_a_port_in_use_is_one_line(haproxy_binary: str) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = rehearse("--port", str(port), "--haproxy", haproxy_binary)
    assert result.returncode == EXIT_MISSING
    assert f"port 127.0.0.1:{port} is in use" in one_line(result)


def test_a_missing_docker_engine_is_one_line(haproxy_binary: str) -> None:
    result = rehearse("--docker", "no-such-docker", "--haproxy", haproxy_binary, "--port", "0")
    assert result.returncode == EXIT_USAGE  # port 0 is refused first: arguments come first
    result = rehearse("--docker", "no-such-docker", "--haproxy", haproxy_binary)
    assert result.returncode == EXIT_MISSING
    assert "no docker client 'no-such-docker'" in one_line(result)


def test_an_image_that_is_not_there_is_one_line(
    image: tuple[str, str], haproxy_binary: str
) -> None:
    client, _ = image
    result = rehearse(
        "--docker", client, "--image", "finlex:no-such-tag", "--haproxy", haproxy_binary
    )
    assert result.returncode == EXIT_MISSING
    assert "finlex:no-such-tag" in one_line(result)


def _containers(client: str, run_label: str = LABEL) -> list[str]:
    listed = subprocess.run(
        [client, "ps", "--all", "--quiet", "--filter", f"label={run_label}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


def test_an_interrupt_leaves_no_container_haproxy_or_port_behind(
    image: tuple[str, str],
    haproxy_binary: str,
    terraform_spec: specs.Spec,
    tmp_path: Path,
) -> None:
    """Ctrl-C in the middle of a scenario: the containers, HAProxy and its port are gone."""
    import json

    client, name = image
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(terraform_spec.to_json()))
    port = free_port()
    before = set(_containers(client))
    process = subprocess.Popen(
        [
            sys.executable, "-m", "traffic", "--docker", client, "--image", name,
            "--haproxy", haproxy_binary, "--port", str(port), "--spec", str(spec_file),
            "--scenarios", "rolling-deploy", "--controls", "--out", str(tmp_path / "out"),
        ],
        env={**os.environ, "PYTHONPATH": str(TOOLS)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(set(_containers(client)) - before) < 2:  # the service's tasks run
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the scenario never started its tasks"
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_FAILED, (out, err)
    assert err.splitlines()[-1] == (
        "rehearse-traffic: interrupted; containers and HAProxy removed"
    ), err
    assert set(_containers(client)) - before == set()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # HAProxy no longer holds it
    assert (
        "haproxy.cfg"
        not in subprocess.run(
            ["ps", "-eo", "args"], capture_output=True, text=True, check=True
        ).stdout.replace(str(tmp_path), "")
        or str(tmp_path)
        not in subprocess.run(
            ["ps", "-eo", "args"], capture_output=True, text=True, check=True
        ).stdout
    )
