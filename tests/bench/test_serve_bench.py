"""The benchmark reads wrk's output correctly (the run itself is `make bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import serve_bench

WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:5077/nope
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.64ms    2.82ms  32.07ms   90.66%
    Req/Sec     3.70k   463.95     4.34k    54.55%
  Latency Distribution
     50%  812.00us
     75%    3.04ms
     90%    5.25ms
     99%    1.20s
  4041 requests in 1.10s, 741.90KB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 4041
Requests/sec:   3672.79
Transfer/sec:    674.30KB
"""


def test_parse_wrk_reads_every_figure() -> None:
    result = serve_bench.parse_wrk("x", WRK_OUTPUT)
    assert result.requests_per_s == pytest.approx(3672.79)
    assert result.p50_ms == pytest.approx(0.812)
    assert result.p99_ms == pytest.approx(1200.0)
    assert result.non_2xx == 4041
    assert result.socket_errors == 7
    assert result.errors == 4048


def test_parse_wrk_without_errors() -> None:
    clean = "\n".join(
        line for line in WRK_OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )
    result = serve_bench.parse_wrk("x", clean)
    assert (result.non_2xx, result.socket_errors) == (0, 0)


def test_parse_wrk_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="could not parse wrk output"):
        serve_bench.parse_wrk("x", "unable to connect to 127.0.0.1:9 Connection refused")


def test_bad_arguments_exit_with_usage() -> None:
    with pytest.raises(SystemExit) as caught:
        serve_bench.main(["--duration", "0"])
    assert caught.value.code == 2


def test_parse_wrk_reads_the_request_count() -> None:
    assert serve_bench.parse_wrk("x", WRK_OUTPUT).requests == 4041


def test_scorecard_shows_every_column() -> None:
    baseline = serve_bench.Result("seed", 1000.0, 50.0, 90.0, 0, 0)
    speed = serve_bench.Result("granian", 12000.0, 3.0, 9.5, 0, 0)
    score = serve_bench.Score("granian", speed, (26, 27), 0, 50, 0.41, "closed after 3.0 s")
    table = serve_bench.scorecard_table([score], baseline)
    row = table.splitlines()[-1]
    assert row.startswith(f"| {serve_bench.CANDIDATES['granian']} | 12.00x | 9.50 | 26/27 | 0/50 ")
    assert "| 0.41 | closed after 3.0 s |" in row


def test_stop_soak_rejects_a_zero_count() -> None:
    import stop_soak

    with pytest.raises(SystemExit) as caught:
        stop_soak.main(["--count", "0"])
    assert caught.value.code == 2
