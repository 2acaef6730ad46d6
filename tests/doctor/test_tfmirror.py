"""tools/tfmirror.py: a filesystem mirror, else the registry under the lock, else one line.

The registry cannot be reached here, so its two sides are tested apart: the
probe against a local HTTP server, and the download with a stand-in
`terraform` that writes what `terraform providers mirror` writes.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import tfmirror

REPO = Path(__file__).resolve().parents[2]
LOCKED = "5.100.0"


def plugin(mirror: Path, version: str) -> None:
    folder = mirror / "registry.terraform.io" / "hashicorp" / "aws" / version / "linux_amd64"
    folder.mkdir(parents=True)
    (folder / f"terraform-provider-aws_v{version}_x5").write_bytes(b"")


def no_registry(env: Mapping[str, str]) -> bool:
    return False


def registry_up(env: Mapping[str, str]) -> bool:
    return True


def never_asked(env: Mapping[str, str]) -> bool:
    raise AssertionError("the registry was probed")


def lookup(tmp_path: Path, reachable=no_registry, **env: str) -> tfmirror.Source | None:
    """tfmirror.source on a machine whose every place is under tmp_path."""
    return tfmirror.source(
        {"HOME": str(tmp_path / "home"), **env},
        system=(tmp_path / "usr-share",),
        opt=tmp_path / "opt",
        cache=tmp_path / "cache",
        reachable=reachable,
    )


# --- which source --------------------------------------------------------------


def test_a_mirror_comes_first_and_the_registry_is_not_asked(tmp_path: Path) -> None:
    plugin(tmp_path / "opt" / "tf", LOCKED)
    found = lookup(tmp_path, reachable=never_asked)
    assert found == tfmirror.Source(tmp_path / "opt" / "tf")
    assert found.ready
    assert found.describe() == (
        f"registry.terraform.io/hashicorp/aws {LOCKED} from the filesystem mirror "
        f"{tmp_path / 'opt' / 'tf'}"
    )


def test_no_mirror_but_a_reachable_registry_is_the_registry_under_the_lock(
    tmp_path: Path,
) -> None:
    found = lookup(tmp_path, reachable=registry_up)
    assert found == tfmirror.Source(tmp_path / "cache", registry=True, version=LOCKED)
    assert not found.ready, "nothing downloaded yet"
    assert "from registry.terraform.io under the lock" in found.describe()


def test_a_download_of_the_locked_version_is_used_without_asking_the_registry(
    tmp_path: Path,
) -> None:
    plugin(tmp_path / "cache", LOCKED)
    found = lookup(tmp_path, reachable=never_asked)
    assert found is not None
    assert found.registry
    assert found.ready


def test_a_download_of_another_version_is_not_the_locked_one(tmp_path: Path) -> None:
    plugin(tmp_path / "cache", "5.99.0")
    assert lookup(tmp_path) is None
    found = lookup(tmp_path, reachable=registry_up)
    assert found is not None
    assert not found.ready


def test_no_mirror_and_no_registry_is_one_line_naming_both_fixes(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home")}
    assert lookup(tmp_path) is None
    message = tfmirror.missing(env)
    assert "\n" not in message
    assert message.startswith("no filesystem mirror of registry.terraform.io/hashicorp/aws in ")
    assert "registry.terraform.io is not reachable" in message
    assert "set FINLEX_TF_PROVIDER_MIRROR to a mirror" in message
    assert message.endswith("or run where registry.terraform.io is reachable")


def test_a_named_mirror_is_the_only_place_looked_at(tmp_path: Path) -> None:
    plugin(tmp_path / "opt" / "tf", LOCKED)
    named = str(tmp_path / "empty")
    assert lookup(tmp_path, reachable=never_asked, FINLEX_TF_PROVIDER_MIRROR=named) is None
    message = tfmirror.missing({"FINLEX_TF_PROVIDER_MIRROR": named})
    assert f"in {named} (FINLEX_TF_PROVIDER_MIRROR)" in message
    assert "or unset it to use registry.terraform.io" in message


def test_the_lock_names_the_version(tmp_path: Path) -> None:
    assert tfmirror.locked_version() == LOCKED
    assert tfmirror.locked_version(tmp_path / "none.hcl") is None
    assert lookup(tmp_path, reachable=registry_up) is not None
    found = tfmirror.source(
        {"HOME": str(tmp_path)},
        system=(),
        opt=tmp_path / "opt",
        cache=tmp_path / "cache",
        lock=tmp_path / "none.hcl",
        reachable=registry_up,
    )
    assert found is None, "without a lock there is no version to download"


# --- the registry probe ---------------------------------------------------------


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 200
    seen: list[str] = []  # noqa: RUF012 - one server per test, reset by the fixture

    def do_GET(self) -> None:
        _Answer.seen.append(self.path)
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Answer.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/.well-known/terraform.json"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_probe_is_one_request_for_the_discovery_document(server: str) -> None:
    assert tfmirror.registry_reachable({}, url=server)
    assert _Answer.seen == ["/.well-known/terraform.json"]


def test_an_error_answer_is_not_a_registry(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Answer, "status", 403)  # e.g. a proxy that refuses the host
    assert not tfmirror.registry_reachable({}, url=server)


def test_nothing_listening_is_answered_quickly() -> None:
    port = _closed_port()
    started = time.monotonic()
    assert not tfmirror.registry_reachable({}, url=f"http://127.0.0.1:{port}/", timeout=2)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("value", ["off", "0", "false", "NO"])
def test_the_registry_can_be_turned_off(server: str, value: str) -> None:
    assert not tfmirror.registry_reachable({"FINLEX_TF_REGISTRY": value}, url=server)
    assert _Answer.seen == [], "turned off means not even probed"
    message = tfmirror.missing({"FINLEX_TF_REGISTRY": value})
    assert f"registry.terraform.io is turned off (FINLEX_TF_REGISTRY={value})" in message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the download ----------------------------------------------------------------

FAKE_TERRAFORM = """#!{python}
# What `terraform providers mirror OUT` writes: the packed layout, one zip per platform.
import os, pathlib, sys, zipfile
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
chdir = pathlib.Path(args[0].removeprefix("-chdir="))
if os.environ.get("FAKE_FAIL"):
    print("\\nError: Provider not available\\n\\nFailed to download it:\\nno such host.\\n",
          file=sys.stderr)
    sys.exit(1)
assert args[1:3] == ["providers", "mirror"], args
assert "5.100.0" in (chdir / ".terraform.lock.hcl").read_text(), "the lock is there"
assert 'version = "5.100.0"' in (chdir / "versions.tf").read_text(), "exactly the locked version"
out = pathlib.Path(args[-1]) / "registry.terraform.io" / "hashicorp" / "aws"
out.mkdir(parents=True)
with zipfile.ZipFile(out / "terraform-provider-aws_5.100.0_linux_amd64.zip", "w") as packed:
    binary = zipfile.ZipInfo("terraform-provider-aws_v5.100.0_x5")
    binary.external_attr = 0o755 << 16
    packed.writestr(binary, "#!/bin/sh\\n")
    packed.writestr("LICENSE.txt", "MPL-2.0\\n")
"""


@pytest.fixture
def fake_terraform(tmp_path: Path) -> Path:
    path = tmp_path / "terraform"
    path.write_text(FAKE_TERRAFORM.format(python=sys.executable), encoding="utf-8")
    path.chmod(0o755)
    return path


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_the_locked_version_is_downloaded_once_and_unpacked(
    tmp_path: Path, fake_terraform: Path
) -> None:
    found = tfmirror.Source(tmp_path / "cache", registry=True, version=LOCKED)
    env = {**os.environ, "FAKE_LOG": str(tmp_path / "calls.log")}
    assert tfmirror.fetch(found, str(fake_terraform), env=env) == tmp_path / "cache"
    binary = (
        tmp_path / "cache" / "registry.terraform.io/hashicorp/aws" / LOCKED / "linux_amd64"
        / "terraform-provider-aws_v5.100.0_x5"
    )  # fmt: skip
    assert os.access(binary, os.X_OK), "the plugin stays executable"
    assert tfmirror.versions(tmp_path / "cache") == [LOCKED]
    assert found.ready
    assert [c.split()[1:3] for c in calls(tmp_path)] == [["providers", "mirror"]]
    assert not list((tmp_path / "cache").glob(".download-*")), "no scratch left behind"
    tfmirror.fetch(found, str(fake_terraform), env=env)
    assert len(calls(tmp_path)) == 1, "a second fetch downloads nothing"


def test_a_failed_download_is_one_line_with_terraforms_reason(
    tmp_path: Path, fake_terraform: Path
) -> None:
    found = tfmirror.Source(tmp_path / "cache", registry=True, version=LOCKED)
    env = {**os.environ, "FAKE_LOG": str(tmp_path / "calls.log"), "FAKE_FAIL": "1"}
    with pytest.raises(tfmirror.FetchError) as error:
        tfmirror.fetch(found, str(fake_terraform), env=env)
    assert str(error.value) == (
        "downloading registry.terraform.io/hashicorp/aws 5.100.0 from registry.terraform.io "
        "failed: Provider not available: Failed to download it: no such host."
    )
    assert tfmirror.versions(tmp_path / "cache") == []


def test_a_mirror_source_is_never_downloaded(tmp_path: Path) -> None:
    found = tfmirror.Source(tmp_path / "m")
    assert tfmirror.fetch(found, "/nonexistent/terraform") == tmp_path / "m"


# --- the command line (.ci/run runs it) ----------------------------------------------


def test_the_command_prints_the_source(tmp_path: Path) -> None:
    plugin(tmp_path / "m", LOCKED)
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "tfmirror.py")],
        env={**os.environ, "FINLEX_TF_PROVIDER_MIRROR": str(tmp_path / "m")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"provider: registry.terraform.io/hashicorp/aws {LOCKED} "
        f"from the filesystem mirror {tmp_path / 'm'}\n"
    )


def test_the_command_without_a_source_is_one_line_and_exit_3(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "tfmirror.py")],
        env={**os.environ, "FINLEX_TF_PROVIDER_MIRROR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"tfmirror: no filesystem mirror of registry.terraform.io/hashicorp/aws in {tmp_path}"
    )
