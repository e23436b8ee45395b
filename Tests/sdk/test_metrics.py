"""GET /metrics: the Prometheus text format, read by prometheus_client's parser (and by
`promtool check metrics` when it is installed), with values that move as requests are made."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from fake_upstream import FakeUpstream
from observe_support import Scrape, chat, closed_port

ALLOWED_LABELS = {"api", "provider", "model", "status", "le", "outcome", "kind", "type", "state", "scope", "name",
                  "period"}


@pytest.fixture(scope="module")
def metrics_gateway(launch_gateway):
    upstream = FakeUpstream().start()
    config = {
        "providers": {
            # Tried first for the bare model id; nothing listens there.
            "broken": {"type": "openai_compatible", "base_url": f"http://127.0.0.1:{closed_port()}/v1",
                       "api_key": "k", "priority": 1, "retries": 1, "models": ["gpt-4.1-mini"]},
            "main": {"type": "openai_compatible", "base_url": upstream.base_url, "api_key": "k", "priority": 2,
                     "retries": 0, "models": ["gpt-4.1-mini"], "budget": {"daily_usd": 5}},
        },
        "routes": {"fast": ["main/gpt-4.1-mini"]},
        "failover": {"failure_threshold": 2, "retry_base_delay_seconds": 0.01, "cooldown_seconds": 60},
    }
    try:
        with launch_gateway(config, logs=[upstream], name="metrics") as gw:
            yield gw
    finally:
        upstream.stop()


def test_values_move_as_requests_are_made(metrics_gateway) -> None:
    port = metrics_gateway.port
    before = Scrape(port)
    assert before.value("tollgate_requests_total", api="chat") == 0

    # broken fails twice (one retry), then main answers: one failover.
    status, headers, _ = chat(port, "gpt-4.1-mini", "hello metrics")
    assert status == 200 and headers["x-tollgate-provider"] == "main" and headers["x-tollgate-attempts"] == "3"
    status, _, body = chat(port, "fast", "a stream", stream=True)
    assert status == 200 and b"data: [DONE]" in body
    status, _, _ = chat(port, "no-such-model", "x")
    assert status == 404
    status, _, _ = chat(port, "fast", "#error500")
    assert status == 500

    s = Scrape(port)
    assert s.value("tollgate_requests_total", api="chat", provider="main", model="gpt-4.1-mini", status="200") == 2
    assert s.value("tollgate_requests_total", api="chat", provider="none", model="none", status="404") == 1
    assert s.value("tollgate_requests_total", api="chat", provider="main", status="500") == 1
    assert s.value("tollgate_upstream_failures_total", provider="broken", kind="connection") == 2
    assert s.value("tollgate_upstream_failures_total", provider="main", kind="server_error") == 1
    assert s.value("tollgate_retries_total", provider="broken") == 1
    assert s.value("tollgate_failovers_total", provider="broken") == 1
    assert s.value("tollgate_upstream_attempts_total", provider="broken", outcome="failed_over") == 2
    assert s.value("tollgate_upstream_attempts_total", provider="main", outcome="ok") == 2
    assert s.value("tollgate_upstream_attempts_total", provider="main", outcome="upstream_error") == 1

    assert s.value("tollgate_tokens_total", provider="main", model="gpt-4.1-mini", type="input") > 0
    assert s.value("tollgate_tokens_total", provider="main", model="gpt-4.1-mini", type="output") > 0
    assert s.value("tollgate_tokens_total", provider="main", type="cached_input") == 0
    assert s.value("tollgate_cost_usd_total", provider="main", model="gpt-4.1-mini") > 0

    assert s.value("tollgate_request_duration_seconds_count", api="chat") == 4
    assert s.value("tollgate_request_duration_seconds_count", api="chat", provider="main") == 3
    assert s.value("tollgate_request_first_byte_seconds_count", api="chat", provider="main") == 3
    assert s.value("tollgate_request_overhead_seconds_count", api="chat") == 3
    assert s.value("tollgate_request_overhead_seconds_sum", api="chat") >= 0
    assert s.value("tollgate_upstream_first_byte_seconds_count", provider="main") == 3

    # Two failures in a row opened broken's breaker.
    assert s.value("tollgate_provider_state", provider="broken", state="cooling_down") == 1
    assert s.value("tollgate_provider_state", provider="broken", state="healthy") == 0
    assert s.value("tollgate_provider_state", provider="main", state="healthy") == 1
    assert 0 < s.value("tollgate_provider_cooldown_remaining_seconds", provider="broken") <= 60
    assert s.value("tollgate_provider_cooldown_remaining_seconds", provider="main") == 0

    assert s.value("tollgate_budget_limit_usd", scope="provider", name="main", period="daily") == 5
    assert s.value("tollgate_budget_used_usd", scope="provider", name="main", period="daily") == pytest.approx(
        s.value("tollgate_cost_usd_total", provider="main"), rel=1e-6)
    assert not s.label_sets("tollgate_budget_limit_usd") or all(
        l["name"] == "main" and l["period"] == "daily" for l in s.label_sets("tollgate_budget_limit_usd"))

    assert s.value("tollgate_ledger_commit_duration_seconds_count") == 3  # one per routed request here
    assert s.value("tollgate_ledger_rows_total") == 5  # one per upstream attempt
    assert s.value("tollgate_ledger_commit_errors_total") == 0
    assert s.value("tollgate_open_connections") >= 1
    assert s.value("tollgate_requests_in_flight") >= 1  # this scrape

    # Scrapes themselves are counted as requests of their own API.
    assert Scrape(port).value("tollgate_requests_total", api="metrics", status="200") >= 2


def test_format_follows_prometheus_conventions(metrics_gateway) -> None:
    chat(metrics_gateway.port, "fast", "for the format")
    s = Scrape(metrics_gateway.port)
    for family in s.families.values():
        assert family.name.startswith("tollgate_"), family.name
        assert family.documentation, family.name
        assert family.type in {"counter", "gauge", "histogram"}, family.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
    for line in s.text.splitlines():
        if line.startswith("# TYPE") and line.endswith(" counter"):
            assert line.split()[2].endswith("_total"), line
    for sample in s.samples:
        assert set(sample.labels) <= ALLOWED_LABELS, sample
        for value in sample.labels.values():
            assert not value.startswith("req_"), sample  # never a request id
    # Histogram buckets are cumulative and end with +Inf equal to the count.
    for family in (f for f in s.families.values() if f.type == "histogram"):
        series: dict[tuple, list] = {}
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                key = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
                series.setdefault(key, []).append(sample)
        for key, buckets in series.items():
            values = [b.value for b in buckets]
            assert values == sorted(values), (family.name, key)
            assert buckets[-1].labels["le"] == "+Inf"
            count = [x.value for x in family.samples
                     if x.name.endswith("_count") and tuple(sorted(x.labels.items())) == key]
            assert count == [values[-1]], (family.name, key)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_scrape(metrics_gateway) -> None:
    text = Scrape(metrics_gateway.port).text
    result = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_client_budgets_are_reported_per_client(launch_gateway) -> None:
    upstream = FakeUpstream().start()
    config = {
        "clients": {"alice": {"key": "client-key-alice", "budget": {"daily_usd": 2, "total_usd": 20}},
                    "batch": {"key": "client-key-batch"}},
        "providers": {"main": {"type": "openai_compatible", "base_url": upstream.base_url, "api_key": "k",
                               "models": ["gpt-4.1-mini"]}},
    }
    try:
        with launch_gateway(config, logs=[upstream], name="metrics-clients") as gw:
            status, _, _ = chat(gw.port, "gpt-4.1-mini", "as alice", headers={"Authorization": "Bearer client-key-alice"})
            assert status == 200
            s = Scrape(gw.port)
            assert s.value("tollgate_budget_limit_usd", scope="client", name="alice", period="daily") == 2
            assert s.value("tollgate_budget_limit_usd", scope="client", name="alice", period="total") == 20
            assert not [l for l in s.label_sets("tollgate_budget_limit_usd") if l["name"] == "batch"]
            used = s.value("tollgate_budget_used_usd", scope="client", name="alice", period="daily")
            assert used > 0 and used == pytest.approx(s.value("tollgate_cost_usd_total", provider="main"), rel=1e-6)
            assert s.value("tollgate_budget_used_usd", scope="client", name="batch", period="daily") == 0
            assert "client-key" not in s.text
    finally:
        upstream.stop()
