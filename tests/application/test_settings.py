"""Configuration from the environment: defaults, parsing and clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from servers import APPLICATION, SERVER

from finlex_api import serve, settings
from finlex_api.settings import Settings, SettingsError, load


def test_defaults_with_empty_environment() -> None:
    assert load({}) == Settings()
    assert Settings().port == 5000
    assert Settings().graceful_timeout == settings.DEFAULT_GRACEFUL_TIMEOUT


def test_values_are_read() -> None:
    loaded = load(
        {
            "FINLEX_HOST": "127.0.0.1",
            "FINLEX_PORT": "8080",
            "FINLEX_WORKERS": "3",
            "FINLEX_THREADS": " 6 ",
            "FINLEX_LOG_LEVEL": "WARNING",
            "FINLEX_GRACEFUL_TIMEOUT": "25",
            "FINLEX_MAX_BODY_BYTES": "0",
            "FINLEX_KEEPALIVE_TIMEOUT": "30",
            "FINLEX_REVISION": " 9b80cab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6 ",
        }
    )
    assert loaded == Settings(
        "127.0.0.1", 8080, 3, 6, "warning", 25, 0, 30, "9b80cab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"
    )


def test_prestop_delay_is_off_by_default_and_read_in_seconds() -> None:
    assert Settings().prestop_delay == 0
    assert load({"FINLEX_PRESTOP_DELAY": "35"}).prestop_delay == 35


def test_empty_value_means_default() -> None:
    assert load({"FINLEX_PORT": ""}).port == 5000


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FINLEX_PORT", "abc", "FINLEX_PORT='abc' is not an integer"),
        ("FINLEX_PORT", "0", "FINLEX_PORT=0 is out of range (1-65535)"),
        ("FINLEX_PORT", "70000", "FINLEX_PORT=70000 is out of range (1-65535)"),
        ("FINLEX_WORKERS", "0", "FINLEX_WORKERS=0 is out of range (1-64)"),
        ("FINLEX_GRACEFUL_TIMEOUT", "120", "FINLEX_GRACEFUL_TIMEOUT=120 is out of range (1-110)"),
        ("FINLEX_KEEPALIVE_TIMEOUT", "61", "FINLEX_KEEPALIVE_TIMEOUT=61 is out of range (1-60)"),
        ("FINLEX_PRESTOP_DELAY", "-1", "FINLEX_PRESTOP_DELAY=-1 is out of range (0-120)"),
        ("FINLEX_PRESTOP_DELAY", "121", "FINLEX_PRESTOP_DELAY=121 is out of range (0-120)"),
        ("FINLEX_LOG_LEVEL", "loud", "FINLEX_LOG_LEVEL='loud' is not one of debug, info"),
        ("FINLEX_REVISION", "a\r\nSet-Cookie: x", "FINLEX_REVISION='a\\r\\nSet-Cookie: x' must"),
        ("FINLEX_REVISION", "a" * 129, "FINLEX_REVISION='aaaa"),
    ],
)
def test_bad_values_are_rejected_clearly(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load({name: value})
    assert str(caught.value).startswith(message)


def test_every_setting_has_an_environment_variable() -> None:
    fields = {field for field, _ in settings.ENVIRONMENT.values()}
    assert fields == set(Settings.__dataclass_fields__)


def test_granian_options_carry_the_settings() -> None:
    options = serve.granian_options(
        Settings(port=6000, workers=3, threads=5, graceful_timeout=7, keepalive_timeout=42)
    )
    assert options["interface"] == "wsgi"
    assert options["factory"] is True
    assert (options["port"], options["workers"], options["blocking_threads"]) == (6000, 3, 5)
    assert options["workers_kill_timeout"] == 7
    assert options["http1_settings"].header_read_timeout == 42_000
    assert options["http1_settings"].keep_alive is True


def test_keepalive_timeout_range_is_the_servers() -> None:
    """Granian refuses a header-read timeout above 60 s: the setting's range is that."""
    from granian.cli import cli

    option = next(p for p in cli.params if p.name == "http1_header_read_timeout")
    assert settings._RANGES["keepalive_timeout"][1] * 1000 == option.type.max
    assert settings.DEFAULT_KEEPALIVE_TIMEOUT <= settings.MAX_KEEPALIVE_TIMEOUT


@pytest.mark.parametrize(
    "argv",
    [[SERVER], [sys.executable, "-m", "finlex_api.serve"], [sys.executable, "app.py"]],
    ids=["finlex-api", "python -m finlex_api.serve", "seed app.py"],
)
def test_bad_environment_exits_2_without_traceback(argv: list[str]) -> None:
    result = subprocess.run(
        argv,
        cwd=APPLICATION,
        env={"FINLEX_PORT": "not-a-port", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "finlex: FINLEX_PORT='not-a-port' is not an integer"


def test_serve_rejects_bad_arguments() -> None:
    result = subprocess.run(
        [SERVER, "not-a-target"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "usage: finlex-api [MODULE:FACTORY]" in result.stderr
    assert "Traceback" not in result.stderr
