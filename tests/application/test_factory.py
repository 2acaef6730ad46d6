"""The package and its factory: create_app reads the environment, the version is
application/VERSION as installed, and the server's main process stays without Flask."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest
from servers import APPLICATION

from finlex_api import routes
from finlex_api.factory import create_app
from finlex_api.settings import SettingsError


def test_create_app_reads_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINLEX_MAX_BODY_BYTES", "10")
    monkeypatch.setenv("FINLEX_REVISION", "abc123")
    client = create_app().test_client()
    assert client.post(routes.VERSION_PATH, data=b"x" * 11).status_code == 413
    assert client.get(routes.HEALTH_PATH).headers[routes.REVISION_HEADER] == "abc123"


def test_create_app_refuses_a_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINLEX_LOG_LEVEL", "loud")
    with pytest.raises(SettingsError, match="FINLEX_LOG_LEVEL='loud'"):
        create_app()


def test_the_installed_version_is_application_version() -> None:
    """pyproject.toml bakes VERSION into the metadata at install time: an install
    older than the file (`make venv` reinstalls it) would report the old one."""
    on_disk = (APPLICATION / "VERSION").read_text(encoding="utf-8").strip()
    assert on_disk == routes.VERSION, "the installed finlex-api is stale: run make venv"


def test_a_missing_install_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(routes.metadata, "version", not_installed)
    with pytest.raises(SystemExit) as stop:
        routes._installed_version()
    assert str(stop.value) == (
        "finlex: the finlex-api package is not installed: "
        "pip install -e ./application (make venv does)"
    )


def test_the_servers_main_process_imports_no_flask() -> None:
    """Granian's main process imports serve and settings only; Flask (10 MB of
    resident memory) is for the workers, which import the factory."""
    code = "import sys, finlex_api.serve; print(sorted(m for m in sys.modules if 'flask' in m))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
