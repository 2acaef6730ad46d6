"""verify against the real service (application/finlex_api/serve.py) on loopback."""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from finlex_api import routes, settings
from finlex_release import cli, verify
from finlex_release.errors import Exit
from finlex_release.waiting import Clock
from localhost import free_port
from support.makedb import make_env
from support.prerequisites import require_tool
from support.release_fakes import FakeClock
from support.servers.lookalike import COMMIT, VERSION, http_server, revision_server
from support.servers.production import APPLICATION, production_server


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    with production_server() as (base, _process):
        yield base


REVISION = COMMIT


@pytest.fixture(scope="module")
def built_service() -> Iterator[str]:
    """The server as the image runs it: FINLEX_REVISION from the REVISION build argument."""
    with production_server(extra_env={"FINLEX_REVISION": REVISION}) as (base, _process):
        yield base


def verify_argv(url: str, *extra: str, expected_version: str = VERSION) -> tuple[str, ...]:
    """`verify` of the plain-http server at `url`, expecting `expected_version`."""
    return ("verify", "--allow-http", "--url", url, "--expected-version", expected_version, *extra)


def test_defaults_are_the_application_routes() -> None:
    assert verify.DEFAULT_VERSION_PATH == routes.VERSION_PATH
    assert verify.DEFAULT_HEALTH_PATH == routes.HEALTH_PATH
    assert verify.REVISION_HEADER == routes.REVISION_HEADER
    args = cli.build_parser().parse_args(["verify", "--url", "https://x"])
    assert (args.version_path, args.health_path) == (routes.VERSION_PATH, routes.HEALTH_PATH)


def test_version_matches(service, run) -> None:
    result = run(*verify_argv(service))
    assert result.code == 0, result.err
    assert f"reports version {VERSION}" in result.out


def test_expected_version_defaults_to_the_repository_file(service, run) -> None:
    # From a folder inside the repository, application/VERSION is found upward.
    result = run(
        "verify", "--allow-http", "--url", service + "/", cwd=APPLICATION.parent / "release" / "src"
    )
    assert result.code == 0, result.err
    assert f"reports version {VERSION}" in result.out


def test_version_file_option(service, run, tmp_path) -> None:
    version_file = tmp_path / "VERSION"
    version_file.write_text(VERSION + "\n")
    result = run(
        "verify",
        "--allow-http",
        "--url",
        service,
        "--version-file",
        str(version_file),
        cwd=tmp_path,
    )
    assert result.code == 0, result.err


def test_wrong_version_fails(service, run) -> None:
    argv = verify_argv(service, "--timeout", "3", expected_version="9.9.9")
    result = run(*argv, "--interval", "0.5", clock=Clock())
    assert result.code == Exit.FAILED
    assert f"reports version {VERSION}, expected 9.9.9" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert result.progress.count("not yet") >= 2  # it retried before giving up


def test_nothing_listening_times_out(run) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    argv = verify_argv(url, "--timeout", "2")
    result = run(*argv, "--interval", "0.2", "--max-interval", "0.5", clock=Clock())
    assert result.code == Exit.TIMEOUT
    assert "no answer within 2s" in result.err
    assert "Connection refused" in result.err


def test_backoff_doubles_up_to_the_cap(run) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    clock = FakeClock()
    argv = verify_argv(url, "--timeout", "60", expected_version="1")
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
    with http_server(_Unhealthy) as url:
        argv = verify_argv(url, "--timeout", "1")
        result = run(*argv, "--interval", "0.2", clock=Clock())
    assert result.code == Exit.FAILED
    assert f"{url}{routes.HEALTH_PATH} answered 503" in result.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--url", "ftp://example.com", "--expected-version", "1"), "must be an https://"),
        (("--url", "example.com", "--expected-version", "1"), "must be an https://"),
        (("--url", "https://x", "--expected-version", " "), "--expected-version is empty"),
        (("--url", "https://x", "--version-path", "v", "--expected-version", "1"), "must start"),
        (("--url", "https://x", "--version-file", "/nonexistent/VERSION"), "cannot read version"),
        (("--url", "https://x"), "no application/VERSION in"),
        (("--url", "localhost:5000", "--expected-version", "1"), "must be an https://"),
        (("--url", "https://127.0.0.1:99999", "--expected-version", "1"), "invalid port"),
        (("--url", "https://127.0.0.1:abc", "--expected-version", "1"), "invalid port"),
        (("--url", "https://exa mple.com", "--expected-version", "1"), "whitespace"),
        (("--url", "https://x/?a=1", "--expected-version", "1"), "base URL only"),
        (("--url", "https://x", "--expected-version", "1", "--expected-revision", "a b"), "1-128"),
        (("--url", "http://127.0.0.1:5000", "--expected-version", "1"), "pass --allow-http"),
        (("--url", "https://x';touch;'", "--expected-version", "1"), "is not a host name"),
        (("--url", "https://x/a'b", "--expected-version", "1"), "path may hold only"),
    ],
)
def test_bad_input(run, tmp_path: Path, argv, message) -> None:
    result = run("verify", *argv, cwd=tmp_path)
    assert result.code == Exit.USAGE
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert result.progress == ""  # rejected before "verifying ..."


def test_version_file_that_is_not_utf8(run, tmp_path: Path) -> None:
    version_file = tmp_path / "VERSION"
    version_file.write_bytes(b"1.0.\xff\n")
    result = run(
        "verify", "--allow-http", "--url", "https://x", "--version-file", str(version_file)
    )
    assert result.code == Exit.USAGE
    assert f"version file {version_file} is not UTF-8 text" in result.err


# --- the build that is live: the revision header --------------------------------


def test_revision_matches(built_service, run) -> None:
    argv = verify_argv(built_service)
    result = run(*argv, "--expected-revision", REVISION)
    assert result.code == 0, result.err
    assert f"reports version {VERSION}, revision {REVISION}" in result.out


def test_old_build_still_live_fails(built_service, run) -> None:
    argv = verify_argv(built_service, "--timeout", "2")
    result = run(*argv, "--expected-revision", "0" * 40, "--interval", "0.5", clock=Clock())
    assert result.code == Exit.FAILED
    assert f"answered from revision {REVISION}, expected {'0' * 40}" in result.err


def test_a_build_without_the_revision_header_fails(run) -> None:
    with http_server(revision_server(lambda n: None)) as url:
        argv = verify_argv(url, "--timeout", "1")
        result = run(*argv, "--expected-revision", REVISION, "--interval", "0.2", clock=Clock())
    assert result.code == Exit.FAILED
    assert "answered from revision none (no X-Finlex-Revision header)" in result.err


def test_every_answer_must_carry_the_revision(run) -> None:
    # Old and new tasks behind one load balancer: every fourth answer is the old build.
    with http_server(revision_server(lambda n: "old" if n % 4 == 3 else REVISION)) as url:
        argv = verify_argv(url, "--timeout", "1")
        result = run(*argv, "--expected-revision", REVISION, "--interval", "0.2", clock=Clock())
    assert result.code == Exit.FAILED
    assert f"answered from revision old, expected {REVISION}" in result.err


def test_without_expected_revision_the_header_is_not_checked(run) -> None:
    with http_server(revision_server(lambda n: "anything")) as url:
        result = run(*verify_argv(url, "--expected-revision", ""))
    assert result.code == 0, result.err


# --- hostile servers: one line and a documented exit, within the deadline --------


@contextlib.contextmanager
def raw_server(serve: Callable[[socket.socket], None]) -> Iterator[str]:
    """A TCP server that runs `serve` on each connection (in a thread)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


def not_http(connection: socket.socket) -> None:
    with connection:
        connection.recv(4096)
        connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")


def trickle(connection: socket.socket) -> None:
    """A valid status line, then one header byte every 0.2 s for up to 30 s."""
    with connection, contextlib.suppress(OSError):
        connection.recv(4096)
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(150):
            connection.sendall(b"X")
            time.sleep(0.2)


def test_a_server_that_is_not_http(run) -> None:
    with raw_server(not_http) as url:
        argv = verify_argv(url, "--timeout", "1")
        result = run(*argv, "--interval", "0.2", clock=Clock())
    assert result.code == Exit.TIMEOUT
    assert "no answer within 1s" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_timeout_is_a_hard_deadline_against_a_trickling_server(run) -> None:
    with raw_server(trickle) as url:
        argv = verify_argv(url, "--timeout", "2")
        started = time.monotonic()
        result = run(*argv, "--request-timeout", "1", "--interval", "0.2", clock=Clock())
        took = time.monotonic() - started
    assert result.code == Exit.TIMEOUT
    assert "no complete answer within" in result.err
    assert took < 3.5  # 2 s of --timeout, not 30 s of trickle


def body_server(body: bytes, revision: str | None = None) -> type:
    """Answers 200 with `body` (and the revision header) to every GET."""
    return revision_server(lambda _n: revision, body=body)


def verify_once(run, url: str, *extra: str):
    argv = verify_argv(url)
    return run(*argv, "--timeout", "0.5", "--interval", "0.2", *extra, clock=Clock())


def test_a_body_that_is_not_json_is_a_bounded_escaped_excerpt(run) -> None:
    body = b"\x1b[2J\x1b]0;owned\x07<html>\xff" + b"A" * 10_000
    with http_server(body_server(body)) as url:
        result = verify_once(run, url)
    assert result.code == Exit.FAILED
    shown = "A" * (verify.EXCERPT_CHARS - 21)  # 21 characters before the As
    excerpt = f'"\\x1b[2J\\x1b]0;owned\\x07<html>\\xff{shown}…" ({len(body)} bytes)'
    assert f"{url}/version sent no JSON with a version field; body: {excerpt}" in result.err
    assert not set("\x1b\x07") & set(result.err + result.progress)
    assert len(result.err.splitlines()) == 1
    assert len(result.err) < 300


def test_a_reported_version_and_revision_are_escaped_and_bounded(run) -> None:
    body = json.dumps({"version": "\x1b[31m1.0\n" + "9" * 5000}).encode()
    with http_server(body_server(body)) as url:
        result = verify_once(run, url)
    assert result.code == Exit.FAILED
    shown = "9" * (verify.EXCERPT_CHARS - 9)  # 9 characters before the nines
    assert f"reports version \\x1b[31m1.0\\n{shown}…, expected" in result.err
    with http_server(body_server(b"{}", revision="\x1b[31mold\x85")) as url:
        result = verify_once(run, url, "--expected-revision", REVISION)
    assert f"answered from revision \\x1b[31mold\\x85, expected {REVISION}" in result.err
    assert "\x1b" not in result.err + result.progress


def test_plain_http_needs_allow_http(run) -> None:
    """Issue 19: verify requires https; plain http only when asked for by name."""
    result = run("verify", "--url", "http://finlex.example.com", "--expected-version", "1")
    assert result.code == Exit.USAGE
    assert result.err == (
        "finlex-release verify: --url 'http://finlex.example.com' is plain http: verify "
        "requires https; pass --allow-http to check a local server over http\n"
    )


# --- the chain: make image -> image environment -> header -> make verify ----------

REPO_ROOT = APPLICATION.parent


def test_the_image_carries_the_revision_it_was_built_from() -> None:
    build = subprocess.run(
        [require_tool("make"), "-n", "--no-print-directory", "image", "REVISION=abc123"],
        cwd=REPO_ROOT,
        env=make_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--build-arg 'REVISION=abc123'" in build
    runtime = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8").rsplit("\nFROM ", 1)[1]
    assert "\nARG REVISION=" in runtime
    assert re.search(r"^\s+FINLEX_REVISION=\$\{REVISION\}", runtime, re.MULTILINE)
    assert settings.ENVIRONMENT["FINLEX_REVISION"][0] == "revision"


def make_verify(*variables: str) -> str:
    result = subprocess.run(
        [require_tool("make"), "-n", "--no-print-directory", "verify", *variables],
        cwd=REPO_ROOT,
        env=make_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_make_verify_checks_the_revision() -> None:
    out = make_verify("URL=https://finlex.example.com", "REVISION=abc123")
    assert "verify --url 'https://finlex.example.com' --expected-revision 'abc123'" in out
    # REVISION= (after a rollback): version and health only.
    assert "--expected-revision ''" in make_verify("URL=https://finlex.example.com", "REVISION=")


def test_verify_goes_through_the_environments_http_proxy(run, monkeypatch) -> None:
    seen: list[str] = []  # a proxy gets the absolute URL
    with http_server(revision_server(lambda n: REVISION, seen)) as proxy:
        for name in ("no_proxy", "NO_PROXY", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("http_proxy", proxy)
        argv = verify_argv("http://finlex.invalid")
        result = run(*argv, "--expected-revision", REVISION, "--rounds", "1")
    assert result.code == 0, result.err
    assert seen == ["http://finlex.invalid/healthz", "http://finlex.invalid/version"]
