"""A secret ECS sets as an environment variable never reaches a log line or an error.

modules/ecs_cluster hands the container each secret as a variable of its own
(FINLEX_API_KEY, ...). The app reads only its own settings (settings.ENVIRONMENT),
and a bad setting's start-up error names that setting's value: so a secret must
never be one of them (the module refuses such a name, tests/infra), and any
other FINLEX_* variable must stay out of every line the server writes.
"""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from servers import SERVER, free_port, stop_group, wait_until_serving

from finlex_api import settings

VALUE = "s3cr3t-value-that-must-not-be-printed-5e1d"
SECRETS = {"FINLEX_API_KEY": VALUE, "FINLEX_DB_PASSWORD": VALUE + "-db"}


def test_settings_ignore_variables_that_are_not_settings() -> None:
    loaded = settings.load({**SECRETS, "FINLEX_PORT": "5001"})
    assert loaded.port == 5001
    assert VALUE not in repr(loaded)


def test_a_bad_setting_names_its_own_value_only() -> None:
    with pytest.raises(settings.SettingsError) as error:
        settings.load({**SECRETS, "FINLEX_PORT": "not-a-port"})
    assert "FINLEX_PORT" in str(error.value)
    assert VALUE not in str(error.value)


def test_the_start_up_error_does_not_print_a_secret(tmp_path: Path) -> None:
    env = {**os.environ, **SECRETS, "FINLEX_WORKERS": "zero"}
    done = subprocess.run(
        [SERVER],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "FINLEX_WORKERS" in done.stderr
    assert VALUE not in done.stdout + done.stderr


def test_the_server_logs_no_secret_while_serving_and_stopping(tmp_path: Path) -> None:
    """Debug logging, answers, a 404, an error page and a stop: no line holds the value."""
    port = free_port()
    env = {
        **os.environ,
        **SECRETS,
        "FINLEX_HOST": "127.0.0.1",
        "FINLEX_PORT": str(port),
        "FINLEX_WORKERS": "1",
        "FINLEX_LOG_LEVEL": "debug",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [SERVER],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base + "/healthz", process)
            for path in ("/version", "/healthz", "/no-such-page"):
                try:
                    with urllib.request.urlopen(base + path, timeout=5) as answer:
                        answer.read()
                except urllib.error.HTTPError as error:
                    error.read()
        finally:
            stop_group(process)
    text = log.read_text(errors="replace")
    assert "/version" in text, text[-2000:]  # the access log was written
    assert VALUE not in text
