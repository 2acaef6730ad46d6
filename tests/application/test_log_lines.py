"""The access log's batching writer: whole lines, atomic writes, nothing lost at exit."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finlex_api import logs
from finlex_api.logs import LineBatcher

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[bytes]:
    """Every os.write the batcher makes, in order (to a real file, so it batches)."""
    recorded: list[bytes] = []
    real_write = os.write

    def record(fd: int, data: bytes) -> int:
        recorded.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(logs.os, "write", record)
    return recorded


def _batcher(tmp_path: Path, interval: float = 60) -> LineBatcher:
    fd = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    batcher = LineBatcher(fd=fd, interval=interval)
    assert batcher.batching  # a file, like a pipe, is batched
    return batcher


def test_lines_are_batched_in_whole_lines_of_at_most_pipe_buf(
    writes: list[bytes], tmp_path: Path
) -> None:
    batcher = _batcher(tmp_path)
    lines = [(json.dumps({"n": n, "pad": "x" * (n % 300)}) + "\n").encode() for n in range(500)]
    for line in lines:
        batcher.add(line)
    batcher.flush()
    assert b"".join(writes) == b"".join(lines)  # every line, in order
    assert 10 < len(writes) < len(lines)  # batched, not one write per line
    for data in writes:
        assert len(data) <= select.PIPE_BUF
        assert data.endswith(b"\n")
        assert all(json.loads(line) for line in data.splitlines())  # whole lines only


def test_a_line_longer_than_pipe_buf_goes_alone(writes: list[bytes], tmp_path: Path) -> None:
    batcher = _batcher(tmp_path)
    big = b'{"traceback":"' + b"x" * 10_000 + b'"}\n'
    batcher.add(b'{"a":1}\n')
    batcher.add(big)
    batcher.add(b'{"b":2}\n')
    batcher.flush()
    assert writes == [b'{"a":1}\n', big, b'{"b":2}\n']


def test_a_batch_is_written_within_the_interval(writes: list[bytes], tmp_path: Path) -> None:
    batcher = _batcher(tmp_path, interval=0.05)
    batcher.add(b'{"a":1}\n')
    deadline = time.monotonic() + 5
    while not writes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writes == [b'{"a":1}\n']


def test_a_terminal_or_captured_stdout_is_written_line_by_line(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    assert LineBatcher(fd=write_end).batching
    with open(os.devnull, "rb") as devnull:  # a character device, like a terminal
        assert not LineBatcher(fd=devnull.fileno()).batching


def test_lines_are_flushed_when_the_process_exits() -> None:
    code = "from finlex_api import logs\nfor n in range(3): logs.LINES.add(b'{\"n\":%d}\\n' % n)\n"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, timeout=60, check=True
    )
    assert result.stdout == b'{"n":0}\n{"n":1}\n{"n":2}\n'


def test_the_flusher_thread_leaves_sigterm_to_the_main_thread(tmp_path: Path) -> None:
    """A SIGTERM handed to the flusher thread would wait unnoticed while a Granian
    worker's main thread sleeps: the thread blocks SIGTERM and SIGINT."""
    batcher = _batcher(tmp_path, interval=0.05)
    batcher.add(b'{"a":1}\n')
    flusher = batcher._flusher
    assert flusher is not None
    deadline = time.monotonic() + 5
    blocked = 0
    while time.monotonic() < deadline:
        status = Path(f"/proc/self/task/{flusher.native_id}/status").read_text()
        blocked = int(
            next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16
        )
        if blocked:
            break
        time.sleep(0.01)
    for signum in (signal.SIGTERM, signal.SIGINT):
        assert blocked & (1 << (signum - 1)), f"{signum!r} is not blocked: {blocked:x}"
