"""The pre-stop delay of serve.py (FINLEX_PRESTOP_DELAY): after SIGTERM /healthz
fails at once while every other request is served, then the server drains and
exits as before. Real Granian processes on loopback."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request

from support.servers.production import production_server

DELAY = 2
GRACEFUL = 3
MARGIN = 3  # start-up of the stop, process exit, a loaded machine


def status(url: str) -> int:
    """The HTTP status of a GET of `url` on a new connection (0: no answer)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def test_sigterm_fails_healthz_but_serves_everything_else_for_the_delay() -> None:
    env = {"FINLEX_PRESTOP_DELAY": str(DELAY), "FINLEX_GRACEFUL_TIMEOUT": str(GRACEFUL)}
    with production_server(extra_env=env) as (base, process):
        assert status(base + "/healthz") == 200
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        while status(base + "/healthz") != 503:
            assert time.monotonic() - signalled < 0.5, "/healthz still healthy after SIGTERM"
            time.sleep(0.02)
        failing_after = time.monotonic() - signalled
        # Both workers: each request is a new connection, spread over them by the kernel.
        answers = []
        while time.monotonic() - signalled < DELAY - 0.3:
            answers.append((status(base + "/version"), status(base + "/healthz")))
            time.sleep(0.02)
        process.wait(timeout=DELAY + GRACEFUL + MARGIN)
        elapsed = time.monotonic() - signalled
    assert process.returncode == 0
    assert answers
    assert all(pair == (200, 503) for pair in answers), answers
    assert failing_after < 0.5
    assert DELAY <= elapsed < DELAY + GRACEFUL + MARGIN, f"exit after {elapsed:.1f} s"


def test_a_second_stop_signal_ends_the_delay() -> None:
    env = {"FINLEX_PRESTOP_DELAY": "60", "FINLEX_GRACEFUL_TIMEOUT": str(GRACEFUL)}
    with production_server(extra_env=env) as (base, process):
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 2
        while status(base + "/healthz") != 503 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert status(base + "/version") == 200, "not serving during the delay"
        process.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        process.wait(timeout=GRACEFUL + MARGIN)
        elapsed = time.monotonic() - signalled
    assert process.returncode == 0
    assert elapsed < 2.0, f"exit {elapsed:.1f} s after the second signal"


def test_a_group_signal_does_not_stop_the_workers_during_the_delay() -> None:
    """Ctrl-C in a terminal reaches every process of the group: the workers
    leave their stop to the main process, so the delay still serves."""
    env = {"FINLEX_PRESTOP_DELAY": str(DELAY), "FINLEX_GRACEFUL_TIMEOUT": str(GRACEFUL)}
    with production_server(extra_env=env) as (base, process):
        os.killpg(process.pid, signal.SIGINT)
        signalled = time.monotonic()
        answers = []
        while time.monotonic() - signalled < DELAY - 0.3:
            answers.append(status(base + "/version"))
            time.sleep(0.05)
        process.wait(timeout=DELAY + GRACEFUL + MARGIN)
    assert process.returncode == 0
    assert answers
    assert set(answers) == {200}, answers


def test_without_a_delay_healthz_stays_healthy_until_the_stop() -> None:
    with production_server() as (base, process):
        assert status(base + "/healthz") == 200
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=GRACEFUL + MARGIN)
    assert process.returncode == 0
