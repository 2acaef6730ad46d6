"""verify against the real service (application/serve.py) on loopback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_fakes import FakeClock
from servers import APPLICATION, free_port, production_server

import routes
from finlex_release import cli, verify
from finlex_release.errors import Exit
from finlex_release.waiting import Clock

VERSION = (APPLICATION / "VERSION").read_text(encoding="utf-8").strip()


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    with production_server() as (base, _process):
        yield base


def test_defaults_are_the_application_routes() -> None:
    assert verify.DEFAULT_VERSION_PATH == routes.VERSION_PATH
    assert verify.DEFAULT_HEALTH_PATH == routes.HEALTH_PATH
    args = cli.build_parser().parse_args(["verify", "--url", "http://x"])
    assert (args.version_path, args.health_path) == (routes.VERSION_PATH, routes.HEALTH_PATH)


def test_version_matches(service, run) -> None:
    result = run("verify", "--url", service, "--expected-version", VERSION)
    assert result.code == 0, result.err
    assert f"reports version {VERSION}" in result.out


def test_expected_version_defaults_to_the_repository_file(service, run) -> None:
    # From a folder inside the repository, application/VERSION is found upward.
    result = run("verify", "--url", service + "/", cwd=APPLICATION.parent / "release" / "src")
    assert result.code == 0, result.err
    assert f"reports version {VERSION}" in result.out


def test_version_file_option(service, run, tmp_path) -> None:
    version_file = tmp_path / "VERSION"
    version_file.write_text(VERSION + "\n")
    result = run("verify", "--url", service, "--version-file", str(version_file), cwd=tmp_path)
    assert result.code == 0, result.err


def test_wrong_version_fails(service, run) -> None:
    argv = ("verify", "--url", service, "--expected-version", "9.9.9", "--timeout", "3")
    result = run(*argv, "--interval", "0.5", clock=Clock())
    assert result.code == Exit.FAILED
    assert f"reports version {VERSION}, expected 9.9.9" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert result.progress.count("not yet") >= 2  # it retried before giving up


def test_nothing_listening_times_out(run) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    argv = ("verify", "--url", url, "--expected-version", VERSION, "--timeout", "2")
    result = run(*argv, "--interval", "0.2", "--max-interval", "0.5", clock=Clock())
    assert result.code == Exit.TIMEOUT
    assert "no answer within 2s" in result.err
    assert "Connection refused" in result.err


def test_backoff_doubles_up_to_the_cap(run) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    clock = FakeClock()
    argv = ("verify", "--url", url, "--expected-version", "1", "--timeout", "60")
    result = run(*argv, "--interval", "2", "--max-interval", "15", clock=clock)
    assert result.code == Exit.TIMEOUT
    assert clock.sleeps == [2, 4, 8, 15, 15, 15, 1]  # the last pause ends at the deadline


class _Unhealthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_unhealthy_service_fails(run) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Unhealthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        argv = ("verify", "--url", url, "--expected-version", VERSION, "--timeout", "1")
        result = run(*argv, "--interval", "0.2", clock=Clock())
    finally:
        server.shutdown()
        server.server_close()
    assert result.code == Exit.FAILED
    assert f"{url}{routes.HEALTH_PATH} answered 503" in result.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--url", "ftp://example.com", "--expected-version", "1"), "must be an http://"),
        (("--url", "example.com", "--expected-version", "1"), "must be an http://"),
        (("--url", "http://x", "--expected-version", " "), "--expected-version is empty"),
        (("--url", "http://x", "--version-path", "v", "--expected-version", "1"), "must start"),
        (("--url", "http://x", "--version-file", "/nonexistent/VERSION"), "cannot read version"),
        (("--url", "http://x"), "no application/VERSION in"),
    ],
)
def test_bad_input(run, tmp_path: Path, argv, message) -> None:
    result = run("verify", *argv, cwd=tmp_path)
    assert result.code == Exit.USAGE
    assert message in result.err
