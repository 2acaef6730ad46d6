"""`finlex-release probe`: exit codes, the figures line, the job summary,
progress, bad input and interrupts, against local servers on loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from finlex_release import probe as probe_module
from finlex_release.errors import Exit
from support.makedb import make_env
from support.prerequisites import require_tool
from support.servers.misbehaving import serving

SH = "sh"


def drop_between(start: float, end: float) -> Callable[[float], str]:
    def schedule(elapsed: float) -> str:
        return "drop" if start <= elapsed < end else "ok"

    return schedule


def probe_args(base: str, *more: str) -> tuple[str, ...]:
    return ("probe", "--url", base, "--allow-http", "--rate", "50", *more)


def test_a_healthy_run_exits_0_with_one_line_of_figures(run) -> None:
    with serving() as (base, _state):
        result = run(*probe_args(base, "--duration", "0.6"))
    assert result.code == Exit.OK, result.err
    (line,) = result.out.splitlines()
    assert line.startswith(f"probe {base}/version: ")
    assert " 0 failed (200: " in line
    assert re.search(r", longest gap \d+ ms \(bound 250 ms\), p50 \d+ ms, p99 \d+ ms, max ", line)
    assert f"probing {base}/version at 50/s for 0.6 s" in result.progress
    assert result.err == ""


def test_a_wrapped_command_that_succeeds(run) -> None:
    with serving() as (base, _state):
        result = run(*probe_args(base, "--", SH, "-c", "sleep 0.5"))
    assert result.code == Exit.OK, result.err
    assert "; `sh -c 'sleep 0.5'` exited 0" in result.out
    assert "while `sh -c 'sleep 0.5'` runs" in result.progress


def test_a_wrapped_command_that_fails_fails_the_probe(run) -> None:
    with serving() as (base, _state):
        result = run(*probe_args(base, "--", SH, "-c", "sleep 0.3; exit 3"))
    assert result.code == Exit.FAILED
    assert result.err == "finlex-release probe: `sh -c 'sleep 0.3; exit 3'` exited 3\n"


def test_dropped_requests_fail_the_probe_and_say_how_many(run) -> None:
    with serving(drop_between(0.3, 0.5)) as (base, _state):
        result = run(*probe_args(base, "--duration", "1", "--max-gap", "5"))
    assert result.code == Exit.FAILED
    (line,) = result.err.splitlines()
    assert "requests failed, more than --max-failed 0 (200: " in line
    assert "longest gap" not in line  # under --max-gap 5
    failed = int(line.split("probe: ")[1].split(" of ")[0])
    assert 5 <= failed <= 14


def test_max_failed_and_max_gap_loosen_the_bounds(run) -> None:
    with serving(drop_between(0.3, 0.5)) as (base, _state):
        result = run(*probe_args(base, "--duration", "1", "--max-gap", "5", "--max-failed", "50"))
    assert result.code == Exit.OK, result.err


def test_a_gap_over_the_bound_fails_even_without_failures(run) -> None:
    def schedule(elapsed: float) -> str:
        return "stall" if 0.3 <= elapsed < 0.32 else "ok"

    with serving(schedule) as (base, state):
        state.stall = 0.5
        result = run(*probe_args(base, "--duration", "1", "--connections", "1"))
    assert result.code == Exit.FAILED
    assert " 0 failed " in result.out
    (line,) = result.err.splitlines()
    assert "the longest gap between successful answers was" in line
    assert "over --max-gap 250 ms" in line
    assert "requests failed" not in line


def test_every_reason_is_named_in_the_one_line(run) -> None:
    with serving(drop_between(0.2, 0.7)) as (base, _state):
        result = run(*probe_args(base, "--", SH, "-c", "sleep 1; exit 4"))
    assert result.code == Exit.FAILED
    (line,) = result.err.splitlines()
    assert "exited 4; " in line
    assert "requests failed" in line
    assert "over --max-gap 250 ms" in line


def test_the_job_summary_holds_each_figure_beside_its_bound(run, tmp_path, monkeypatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier steps\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    with serving() as (base, _state):
        # A wide gap bound: this test is about the summary's rows, and a busy
        # machine once stalled a healthy server 350 ms against the default 250.
        result = run(*probe_args(base, "--max-gap", "5", "--", SH, "-c", "sleep 0.4"))
    assert result.code == Exit.OK, result.err
    text = summary.read_text()
    assert text.startswith("earlier steps\n### finlex-release probe: passed\n")  # appended
    assert f"`GET {base}/version` while `sh -c 'sleep 0.4'` ran" in text
    assert "| failed | 0 | at most 0 | ok |" in text
    assert "| longest gap between successes |" in text
    assert "| at most 5000 ms | ok |" in text
    assert "| command | exited 0 | exit 0 | ok |" in text
    for row in ("requests sent", "p50 latency", "p99 latency", "max latency", "answers"):
        assert f"| {row} | " in text


def test_a_failed_run_is_marked_in_the_summary(run, tmp_path, monkeypatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    with serving(lambda elapsed: "503") as (base, _state):
        result = run(*probe_args(base, "--duration", "0.3"))
    assert result.code == Exit.FAILED
    text = summary.read_text()
    assert "### finlex-release probe: FAILED" in text
    assert "| at most 0 | **FAILED** |" in text
    assert "| answers | 503: " in text


def test_an_unwritable_summary_is_reported_not_fatal(run, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing" / "summary.md"))
    with serving() as (base, _state):
        result = run(*probe_args(base, "--duration", "0.3"))
    assert result.code == Exit.OK, result.err
    assert "cannot write the job summary to " in result.progress


def test_no_summary_without_the_variable(run, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    with serving() as (base, _state):
        assert run(*probe_args(base, "--duration", "0.2")).code == Exit.OK
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["duration", "command"])
def test_long_runs_print_progress(run, monkeypatch, mode: str) -> None:
    monkeypatch.setattr(probe_module, "PROGRESS_EVERY", 0.2)
    how = ("--duration", "1") if mode == "duration" else ("--", SH, "-c", "sleep 1")
    with serving() as (base, _state):
        result = run(*probe_args(base, *how))
    assert result.code == Exit.OK, result.err
    lines = [ln for ln in result.progress.splitlines() if ln.endswith("so far")]
    assert len(lines) >= 3, result.progress
    assert ", 0 failed, longest gap " in lines[0]


# --- bad input: one line, exit 2 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (("--url", "http://127.0.0.1:9/", "--duration", "1"), "plain http, refused"),
        (("--url", "https://example.com", "--duration", "1", "--", SH), "exactly one"),
        (("--url", "https://example.com"), "exactly one"),
        (("--url", "https://example.com", "--", "no-such-command-here"), "not found"),
        (("--url", "ftp://example.com", "--duration", "1"), "must be an https:// URL"),
        (("--url", "https://example.com", "--duration", "0"), "--duration: '0' must be > 0"),
        (("--url", "https://example.com", "--duration", "x"), "'x' is not a number"),
        (("--url", "https://example.com", "--duration", "1", "--rate", "0"), "--rate"),
        (("--url", "https://example.com", "--duration", "1", "--max-failed", "-1"), "between"),
        (("--url", "https://example.com", "--duration", "1", "--fresh-share", "2"), "<= 1"),
        (("--url", "https://example.com", "--duration", "1", "--host", ""), "--host"),
        (("--duration", "1"), "--url"),
        (
            ("--url", "https://example.com", "--duration", "1", "--rate", "4"),
            "--max-gap 0.25 s is not above the time between requests (0.25 s at --rate 4)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run, argv: tuple[str, ...], problem: str) -> None:
    result = run("probe", *argv)
    assert result.code == Exit.USAGE
    (line,) = result.err.splitlines()
    assert line.startswith("finlex-release probe: ")
    assert problem in line
    assert result.out == ""


# --- interrupts, as a terminal and a CI runner send them --------------------------------------


def _start(base: str, tmp_path: Path, *more: str) -> tuple[subprocess.Popen[str], Path]:
    """The CLI as a process of its own, wrapping a shell that records its pid."""
    pid_file = tmp_path / "child.pid"
    script = require_tool("finlex-release")
    wrapped = f"echo $$ > {pid_file}; exec sleep 30"
    process = subprocess.Popen(
        [script, *probe_args(base, *more), "--", SH, "-c", wrapped],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    assert process.stderr.readline().startswith("probing ")
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline, "the wrapped command did not start"
        time.sleep(0.02)
    time.sleep(0.3)  # some requests
    return process, pid_file


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_ctrl_c_stops_the_command_and_the_probe_with_exit_130(tmp_path) -> None:
    with serving() as (base, _state):
        process, pid_file = _start(base, tmp_path)
        try:
            os.killpg(process.pid, signal.SIGINT)  # a terminal signals the whole group
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert process.returncode == Exit.INTERRUPTED
    assert err == "finlex-release probe: interrupted (Ctrl-C)\n"
    assert " 0 failed " in out
    assert "`sh -c" in out
    assert out.rstrip().endswith("was killed by SIGINT")
    assert _gone(int(pid_file.read_text()))


def test_sigterm_to_the_probe_alone_is_passed_on_to_the_command(tmp_path) -> None:
    with serving() as (base, _state):
        process, pid_file = _start(base, tmp_path)
        try:
            process.send_signal(signal.SIGTERM)  # only the probe, as some runners do
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert process.returncode == Exit.TERMINATED
    assert err == "finlex-release probe: terminated (SIGTERM)\n"
    assert out.rstrip().endswith("was killed by SIGTERM")
    assert _gone(int(pid_file.read_text()))


def test_ctrl_c_during_a_duration_run(tmp_path) -> None:
    script = require_tool("finlex-release")
    with serving() as (base, _state):
        process = subprocess.Popen(
            [script, *probe_args(base, "--duration", "60")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr is not None
            assert process.stderr.readline().startswith("probing ")
            time.sleep(0.3)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == Exit.INTERRUPTED
    assert err == "finlex-release probe: interrupted (Ctrl-C)\n"
    assert out.startswith(f"probe {base}/version: ")
    assert " 0 failed " in out


def test_the_module_runs_as_python_dash_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "finlex_release", "probe", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "[-- COMMAND ...]" in result.stdout


# --- the deploy runs under it --------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def _make_dry_run(*argv: str) -> str:
    done = subprocess.run(
        [require_tool("make"), "--no-print-directory", "-n", "-B", *argv],
        cwd=REPO, env=make_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.replace("\\\n", " ")


def test_make_deploy_runs_under_the_probe_when_given_a_url() -> None:
    argv = ("deploy", "TAG=0123abc", "RELEASE_ENV=release")
    probed = _make_dry_run(*argv, "PROBE_URL=https://finlex.example.com")
    assert re.search(
        r"\.venv-release/bin/finlex-release probe --url 'https://finlex\.example\.com' -- +"
        r"\.venv-release/bin/finlex-release deploy ",
        probed,
    ), probed
    assert "finlex-release probe" not in _make_dry_run(*argv)


def test_the_deploy_job_probes_the_public_url_during_the_deploy() -> None:
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "deploy.yml").read_text())
    # release: the first environment's deploy; deploy: production's promote.
    for name, target in (("release", "make deploy"), ("deploy", "make promote")):
        job = workflow["jobs"][name]
        (step,) = [s for s in job["steps"] if target in s.get("run", "")]
        assert 'PROBE_URL="$URL"' in step["run"], name
        assert job["env"]["URL"] == "${{ vars.FINLEX_URL }}"  # the environment's public URL
