"""The probe's load generator and figures, against local servers on loopback."""

from __future__ import annotations

import itertools
import ssl
import time

import pytest

from finlex_release import probe as probe_module
from finlex_release.errors import UsageError
from finlex_release.probe import Probe, Sample, figures, max_gap
from support.servers.misbehaving import self_signed, serving
from support.servers.production import production_server


def run_for(probe: Probe, seconds: float) -> list[Sample]:
    probe.start()
    time.sleep(seconds)
    return probe.stop()


def sample(due: float, done: float, status: int = 200, error: str = "") -> Sample:
    return Sample(due=due, done=done, status=status, error=error, fresh=False)


# --- figures -----------------------------------------------------------------------------


def test_gap_counts_the_edges_and_the_longest_stretch_between_successes() -> None:
    samples = [
        sample(10.0, 10.1),  # first success 0.1 after the first due
        sample(10.2, 10.3),
        sample(10.4, 10.5, 503),  # failures do not end a gap
        sample(10.6, 10.65, 0, "reset"),
        sample(10.8, 10.9),  # 0.6 after the previous success
        sample(11.0, 11.05),
    ]
    assert max_gap(samples) == pytest.approx(0.6)


def test_gap_from_the_first_due_to_the_first_success() -> None:
    samples = [sample(0.0, 0.05, 0, "refused"), sample(0.1, 0.15, 0, "refused"), sample(0.2, 0.9)]
    assert max_gap(samples) == pytest.approx(0.9)


def test_gap_from_the_last_success_to_the_last_answer() -> None:
    samples = [sample(0.0, 0.01), sample(0.1, 0.11), sample(0.2, 1.5, 0, "timeout")]
    assert max_gap(samples) == pytest.approx(1.39)


def test_gap_without_any_success_is_the_whole_run_and_zero_without_samples() -> None:
    assert max_gap([sample(1.0, 1.2, 503), sample(1.5, 2.5, 503)]) == pytest.approx(1.5)
    assert max_gap([]) == 0.0


def test_figures_count_statuses_and_take_nearest_rank_percentiles() -> None:
    samples = [sample(i / 100, i / 100 + (i + 1) / 1000) for i in range(100)]
    samples[5] = sample(0.05, 0.06, 503)
    samples[6] = sample(0.06, 0.07, 0, "reset")
    found = figures(samples)
    assert (found.sent, found.failed) == (100, 2)
    assert found.statuses == {"200": 98, "503": 1, "reset": 1}
    latencies = sorted(s.latency for s in samples)
    assert found.p50 == latencies[49]
    assert found.p99 == latencies[98]
    assert found.max_latency == latencies[99]
    assert found.rate == pytest.approx(100 / samples[-1].done)


def test_figures_of_nothing() -> None:
    found = figures([])
    assert (found.sent, found.failed, found.max_gap, found.p99, found.rate) == (0, 0, 0, 0, 0)


def test_sample_latency_includes_the_wait_and_ok_means_2xx_or_3xx() -> None:
    assert sample(1.0, 1.25).latency == pytest.approx(0.25)
    assert [sample(0, 1, code).ok for code in (199, 200, 302, 399, 400, 503, 0)] == [
        False,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_fresh_connections_are_spread_evenly() -> None:
    picks = [probe_module._is_fresh(i, 0.1) for i in range(100)]
    assert sum(picks) == 10
    assert [i for i, fresh in enumerate(picks) if fresh][:3] == [9, 19, 29]
    assert not any(probe_module._is_fresh(i, 0.0) for i in range(50))
    assert all(probe_module._is_fresh(i, 1.0) for i in range(50))


# --- input -------------------------------------------------------------------------------


def test_plain_http_is_refused_unless_allowed() -> None:
    with pytest.raises(UsageError, match=r"plain http, refused.*--allow-http"):
        Probe("http://127.0.0.1:8080/", 10)
    assert Probe("http://127.0.0.1:8080/", 10, allow_http=True).url == (
        "http://127.0.0.1:8080/version"
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/", "must be an https:// URL"),
        ("https:///version", "must be an https:// URL"),
        ("https://example.com:99999/", "invalid port"),
        ("https://example.com:0/", "invalid port"),
        ("https://user:pw@example.com/", "no user"),
        ("https://example.com/#top", "no user, password or fragment"),
        ("https://exa mple.com/", "whitespace"),
    ],
)
def test_bad_urls(url: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        Probe(url, 10)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"rate": 0.0}, "rate"),
        ({"rate": float("inf")}, "rate"),
        ({"fresh_share": 1.5}, "fresh share"),
        ({"connections": 0}, "connections"),
        ({"timeout": 0.0}, "timeout"),
        ({"host": "a b"}, "--host"),
    ],
)
def test_bad_options(options: dict[str, object], problem: str) -> None:
    settings: dict[str, object] = {"rate": 10.0, **options}
    rate = settings.pop("rate")
    with pytest.raises(UsageError, match=problem):
        Probe("https://example.com", rate, **settings)  # type: ignore[arg-type]


def test_url_path_and_query_are_kept_and_an_empty_path_is_version() -> None:
    assert Probe("https://example.com", 1).url == "https://example.com/version"
    assert Probe("https://example.com/", 1).url == "https://example.com/version"
    assert Probe("https://example.com/healthz?a=1", 1).target.path == "/healthz?a=1"


# --- against local servers ---------------------------------------------------------------


def test_open_loop_rate_keep_alive_and_fresh_share() -> None:
    with serving() as (base, state):
        probe = Probe(base + "/version", 50, allow_http=True, connections=2, fresh_share=0.25)
        samples = run_for(probe, 1.0)
    found = figures(samples)
    assert 48 <= found.sent <= 53
    assert found.failed == 0
    dues = [s.due for s in samples]
    steps = [later - earlier for earlier, later in itertools.pairwise(dues)]
    assert all(step == pytest.approx(0.02, abs=1e-6) for step in steps)  # on schedule
    fresh = sum(s.fresh for s in samples)
    # A quarter on new connections, plus at most one first connection per worker.
    assert found.sent // 4 <= fresh <= found.sent // 4 + 2
    assert state.connections == fresh  # every other request reused a connection
    assert {path for path, _ in state.requests} == {"/version"}


def test_the_host_header_and_the_default_path() -> None:
    with serving() as (base, state):
        run_for(Probe(base, 20, allow_http=True, host="finlex.example.com"), 0.2)
    assert state.requests
    assert set(state.requests) == {("/version", "finlex.example.com")}


def test_a_server_that_drops_requests_mid_run_is_seen() -> None:
    def schedule(elapsed: float) -> str:
        return "drop" if 0.3 <= elapsed < 0.6 else "ok"

    with serving(schedule) as (base, _state):
        samples = run_for(Probe(base, 50, allow_http=True, connections=4), 1.2)
    found = figures(samples)
    failed = [s for s in samples if not s.ok]
    assert 10 <= found.failed <= 20, found.statuses  # about 0.3 s at 50/s
    assert {s.error for s in failed} <= {"reset", "closed"}, found.statuses
    assert all(s.status == 0 for s in failed)
    assert found.max_gap >= 0.28
    # The failures sit in the window; before and after it everything succeeded.
    first_due = samples[0].due
    assert all(0.25 <= s.due - first_due <= 0.65 for s in failed)


def test_503s_are_failures_with_their_status() -> None:
    def schedule(elapsed: float) -> str:
        return "503" if 0.2 <= elapsed < 0.4 else "ok"

    with serving(schedule) as (base, _state):
        found = figures(run_for(Probe(base, 50, allow_http=True), 0.8))
    assert found.statuses["503"] == found.failed
    assert 8 <= found.failed <= 12


def test_a_stall_shows_as_a_gap_and_as_latency_not_as_fewer_requests() -> None:
    # The first two requests from 0.3 s on stall, one per connection, so that nothing
    # answers for the stall's length (a fixed time window missed both on a busy machine).
    stalled: list[float] = []

    def schedule(elapsed: float) -> str:
        if elapsed >= 0.3 and len(stalled) < 2:
            stalled.append(elapsed)
            return "stall"
        return "ok"

    with serving(schedule) as (base, state):
        state.stall = 0.6
        samples = run_for(Probe(base, 40, allow_http=True, connections=2), 1.5)
    found = figures(samples)
    assert found.failed == 0
    assert found.max_gap >= 0.5
    assert found.max_latency >= 0.5
    assert 58 <= found.sent <= 62  # open loop: the schedule went on during the stall


def test_stale_keep_alive_connections_are_replaced_silently() -> None:
    """The server closes connections idle for 0.1 s; requests come every 0.25 s."""
    with serving(idle_timeout=0.1) as (base, state):
        samples = run_for(Probe(base, 4, allow_http=True, connections=1, fresh_share=0), 1.3)
    assert len(samples) >= 5
    assert figures(samples).failed == 0
    assert all(s.fresh for s in samples)  # each went on a new connection
    assert state.connections == len(samples)


def test_without_the_idle_check_the_same_run_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the server above really closes the connections the probe holds."""
    monkeypatch.setattr(probe_module, "_dropped", lambda sock: False)
    with serving(idle_timeout=0.1) as (base, _state):
        samples = run_for(Probe(base, 4, allow_http=True, connections=1, fresh_share=0), 1.3)
    found = figures(samples)
    assert found.failed >= 2, found.statuses
    assert set(found.statuses) <= {"200", "closed", "reset"}


def test_a_trickling_answer_is_cut_at_the_timeout() -> None:
    """20 body bytes at one per 0.1 s: no single read waits long, the whole does."""
    with serving(lambda elapsed: "trickle") as (base, _state):
        probe = Probe(base, 2, allow_http=True, connections=1, timeout=0.5)
        began = time.monotonic()
        samples = run_for(probe, 0.1)
        took = time.monotonic() - began
    (only,) = samples
    assert (only.status, only.error) == (0, "timeout")
    assert 0.5 <= only.latency < 0.9
    assert took < 1.2


def test_stop_waits_for_requests_in_flight_and_counts_the_unsent() -> None:
    with serving(lambda elapsed: "stall") as (base, state):
        state.stall = 3.0
        probe = Probe(base, 20, allow_http=True, connections=1, timeout=0.5)
        probe.start()
        time.sleep(0.3)
        stopping = time.monotonic()
        samples = probe.stop()
        took = time.monotonic() - stopping
    found = figures(samples)
    assert took < 1.0  # one timeout, not one per queued request
    assert 6 <= found.sent <= 8  # every request that was due is in the count
    assert found.failed == found.sent
    assert found.statuses.get("timeout", 0) >= 1
    assert found.statuses.get("unsent", 0) >= 4
    assert probe.stop() == samples  # a second stop returns the same


def test_refused_connections_are_failures() -> None:
    with serving() as (base, _state):
        pass  # the port is free again
    found = figures(run_for(Probe(base, 20, allow_http=True), 0.3))
    assert found.sent >= 5
    assert found.statuses == {"refused": found.sent}


def test_https_with_a_trusted_certificate(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the probe's default context trusts it
    with serving(tls=server_tls) as (base, state):
        assert base.startswith("https://")
        found = figures(run_for(Probe(base, 20, connections=2), 0.5))
    assert found.failed == 0, found.statuses
    assert found.sent >= 9
    assert state.connections < found.sent  # keep-alive over TLS


def test_https_with_an_untrusted_certificate_fails_as_tls(tmp_path) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    with serving(tls=server_tls) as (base, _state):
        found = figures(run_for(Probe(base, 20, connections=1), 0.3))
    assert found.statuses == {"tls": found.sent}


def test_200_per_second_against_the_production_server() -> None:
    """The rehearsal's load: 200 requests/s must cost the client little. The goal (p99 at
    most 50 ms) is measured by make rehearse-traffic; this test runs beside other test
    sessions, so its time bound leaves a wide margin: five times the goal."""
    with production_server(extra_env={"FINLEX_LOG_LEVEL": "warning"}) as (base, _process):
        found = figures(run_for(Probe(base, 200, allow_http=True), 3.0))
    print(
        f"probe at 200/s against the production server: {found.sent} sent at "
        f"{found.rate:.1f}/s, {found.failed} failed, p50 {found.p50 * 1000:.1f} ms, "
        f"p99 {found.p99 * 1000:.1f} ms, max {found.max_latency * 1000:.1f} ms, "
        f"longest gap {found.max_gap * 1000:.0f} ms"
    )
    assert found.failed == 0, found.statuses
    assert found.rate >= 190
    assert found.p99 < 0.25
