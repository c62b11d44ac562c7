"""What /api/v1/metrics and /api/v1/report answer: their shapes, and figures checked by hand."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from monitor.projects.models import Project
from tests.conftest import issue_key, post_records, record, roll_up_everything

METRICS = "/api/v1/metrics"
REPORT = "/api/v1/report"
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")

POINT_KEYS = {
    "t",
    "requests",
    "qps",
    "peak_qps",
    "error_rate",
    "latency_ms",
    "ttft_ms",
    "tokens_out_per_s",
    "cost",
    "cost_per_call",
}
ROW_KEYS = {
    "labels",
    "requests",
    "errors",
    "avg_latency_ms",
    "latency_ms",
    "ttft_ms",
    "peak_qps",
    "error_rate",
    "availability",
    "stability",
    "cost_per_call",
    "total_cost",
    "projected_daily_cost",
    "tokens_in",
    "tokens_out",
    "tokens_out_per_s",
    "cache_hit_rate",
    "energy_per_call_wh",
}
RATIOS = ("error_rate", "availability", "stability", "cache_hit_rate")

Params = Sequence[tuple[str, Any]]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read(client: Client, path: str, key: str, params: Params = ()) -> dict[str, Any]:
    """A 200 answer's body, parsed by a JSON parser that refuses NaN and Infinity."""
    query = urlencode([(name, str(value)) for name, value in params])
    response = client.get(f"{path}?{query}" if query else path, headers={"Authorization": f"Bearer {key}"})
    body: dict[str, Any] = json.loads(response.content, parse_constant=_no_constants)
    assert response.status_code == 200, body
    return body


def rfc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def near(measured: float | None, *candidates: float) -> bool:
    """Within 1 % of one of the candidates (nearest-rank or interpolated percentile)."""
    return measured is not None and any(abs(measured - c) <= 0.01 * abs(c) + 1e-9 for c in candidates)


def anchor(minutes_back: int = 6) -> int:
    """A start aligned to 120 s (so to UTC minutes too), at least ``minutes_back`` minutes ago."""
    return (int(time.time()) // 120 - minutes_back) * 120


def post(client: Client, key: str, records: list[dict[str, Any]]) -> None:
    response = post_records(client, key, records)
    assert response.status_code == 202, response.content
    roll_up_everything()


def nulls_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(nulls_only(v) for v in value.values())
    return value is None


@pytest.fixture
def read_key(project: Project) -> str:
    return issue_key(project, "read")


def ten_o3_calls(minute: int) -> list[dict[str, Any]]:
    """10 o3 calls in one UTC minute: latencies 100..1000 ms, 2 errors, 3 calls in one second,
    100 tokens in and 50 out each, cache_hit on 4 (3 hits), energy on 2 (1 and 3 Wh); no cost, no TTFT."""
    seconds = [10.1, 10.4, 10.9, 12.5, 13.5, 14.5, 15.5, 16.5, 17.5, 18.5]
    calls = []
    for i, second in enumerate(seconds):
        call = record(
            ts=minute + second,
            tier="o3",
            service="research",
            latency_ms=100.0 * (i + 1),
            tokens_in=100,
            tokens_out=50,
        )
        if i < 2:
            call["status"] = "error"
        if i < 4:
            call["cache_hit"] = i != 3
        if i in (4, 5):
            call["energy_wh"] = 1.0 if i == 4 else 3.0
        calls.append(call)
    return calls


# --- GET /api/v1/metrics ----------------------------------------------------------------------------


def test_metrics_answers_the_contracts_shape(client, ingest_key, read_key):
    a = anchor()
    post(client, ingest_key, [record(ts=a + 70.5, tier="o3", ttft_ms=100.0, tokens_out=20)])
    body = read(client, METRICS, read_key, [("from", a), ("to", a + 180)])
    assert list(body) == ["from", "to", "step_s", "group_by", "series"]
    assert body["from"] == rfc(a) and body["to"] == rfc(a + 180)
    assert body["step_s"] == 60
    assert body["group_by"] == ["tier"]
    assert len(body["series"]) == 1
    (series,) = body["series"]
    assert set(series) == {"labels", "points"}
    assert series["labels"] == {"tier": "o3"}
    assert len(series["points"]) == 3
    for point in series["points"]:
        assert set(point) == POINT_KEYS, point
        assert set(point["latency_ms"]) == {"mean", "p50", "p95", "p99"}
        assert set(point["ttft_ms"]) == {"mean", "p50", "p95", "p99"}
        assert isinstance(point["requests"], int)
    busy = series["points"][1]
    assert busy["requests"] == 1
    assert near(busy["latency_ms"]["mean"], 420.5) and near(busy["ttft_ms"]["p50"], 100.0)
    assert busy["tokens_out_per_s"] == pytest.approx(20 / 60)


def test_metrics_lists_every_bucket_from_from_to_to_with_its_start(client, ingest_key, read_key):
    a = anchor(8)
    post(client, ingest_key, [record(ts=a + 70.5, tier="o3")])
    body = read(client, METRICS, read_key, [("from", a), ("to", a + 600)])
    (series,) = body["series"]
    assert [p["requests"] for p in series["points"]] == [0, 1] + [0] * 8
    assert [p["t"] for p in series["points"]] == [rfc(a + 60 * k) for k in range(10)]


def test_an_empty_bucket_has_zero_requests_and_every_other_value_null(client, ingest_key, read_key):
    a = anchor(8)
    post(client, ingest_key, [record(ts=a + 70.5, tier="o3", ttft_ms=50.0, tokens_out=9, cost=0.2)])
    body = read(client, METRICS, read_key, [("from", a), ("to", a + 600)])
    (series,) = body["series"]
    points = series["points"]
    assert len(points) == 10
    for index, point in enumerate(points):
        if index == 1:
            continue
        assert point["requests"] == 0, point
        rest = {k: v for k, v in point.items() if k not in ("t", "requests")}
        assert set(rest) == POINT_KEYS - {"t", "requests"}
        assert nulls_only(rest), point
    busy = points[1]
    assert busy["requests"] == 1
    assert all(v is not None for k, v in busy.items() if not isinstance(v, dict)), busy


def test_buckets_are_aligned_to_the_epoch_and_the_first_starts_at_from(client, ingest_key, read_key):
    a = anchor(8)
    post(client, ingest_key, [record(ts=a + 20.5, tier="o3")])
    body = read(client, METRICS, read_key, [("from", a + 17), ("to", a + 290)])
    (series,) = body["series"]
    assert [p["requests"] for p in series["points"]] == [1, 0, 0, 0, 0]
    assert series["points"][0]["t"] == body["from"] == rfc(a + 17)
    assert [p["t"] for p in series["points"]] == [rfc(t) for t in (a + 17, a + 60, a + 120, a + 180, a + 240)]

    body = read(client, METRICS, read_key, [("from", a + 3), ("to", a + 50), ("step", 7)])
    (series,) = body["series"]
    first = (a + 3) - (a + 3) % 7
    starts = [max(s, a + 3) for s in range(first, a + 50, 7)]
    assert body["step_s"] == 7
    assert [p["t"] for p in series["points"]] == [rfc(t) for t in starts]


def test_qps_divides_by_the_seconds_the_bucket_covers(client, ingest_key, read_key):
    a = anchor(8)
    calls = [record(ts=a + 5.5, tier="o3")]  # before from: not counted
    calls += [record(ts=a + 20.5 + i, tier="o3") for i in range(6)]  # first bucket, clipped to [a+17, a+60)
    calls += [record(ts=a + 130.5, tier="o3") for _ in range(12)]  # a whole bucket
    calls += [record(ts=a + 250.5 + i, tier="o3") for i in range(5)]  # last bucket, clipped to [a+240, a+290)
    calls += [record(ts=a + 295.5, tier="o3")]  # at or after to: not counted
    post(client, ingest_key, calls)
    body = read(client, METRICS, read_key, [("from", a + 17), ("to", a + 290)])
    (series,) = body["series"]
    points = series["points"]
    assert [p["requests"] for p in points] == [6, 0, 12, 0, 5]
    assert points[0]["qps"] == pytest.approx(6 / 43)
    assert points[1]["qps"] is None
    assert points[2]["qps"] == pytest.approx(12 / 60)
    assert points[4]["qps"] == pytest.approx(5 / 50)
    assert points[2]["peak_qps"] == 12 and points[0]["peak_qps"] == 1


def test_a_step_longer_than_the_range_gives_one_point_covering_it(client, ingest_key, read_key):
    a = anchor()
    post(client, ingest_key, ten_o3_calls(a + 60))
    body = read(client, METRICS, read_key, [("from", a + 30), ("to", a + 150), ("step", 10**12)])
    assert body["step_s"] == 10**12
    (series,) = body["series"]
    (point,) = series["points"]
    assert point["requests"] == 10
    assert point["qps"] == pytest.approx(10 / 120)
    assert point["peak_qps"] == 3
    assert point["t"] == body["from"] == rfc(a + 30)


def test_a_bucket_with_calls_has_the_hand_computed_figures(client, ingest_key, read_key):
    a = anchor()
    post(client, ingest_key, ten_o3_calls(a + 60))
    body = read(client, METRICS, read_key, [("from", a), ("to", a + 180)])
    (series,) = body["series"]
    point = series["points"][1]
    assert point["requests"] == 10
    assert point["qps"] == pytest.approx(10 / 60)
    assert point["peak_qps"] == 3
    assert point["error_rate"] == pytest.approx(0.2)
    assert point["latency_ms"]["mean"] == pytest.approx(550.0)
    assert near(point["latency_ms"]["p50"], 500, 550)
    assert near(point["latency_ms"]["p95"], 1000, 955)
    assert near(point["latency_ms"]["p99"], 1000, 991)
    assert nulls_only(point["ttft_ms"])
    assert point["tokens_out_per_s"] == pytest.approx(500 / 60)
    assert point["cost"] == pytest.approx(1.5)
    assert point["cost_per_call"] == pytest.approx(0.15)


@pytest.mark.parametrize("path", [METRICS, REPORT])
def test_group_by_tier_and_service_labels_each_group_with_both(client, ingest_key, read_key, path):
    a = anchor()
    calls = [
        record(ts=a + 70.5, tier="o3", service="chat"),
        record(ts=a + 71.5, tier="o3", service="search"),
        record(ts=a + 72.5, tier="4o", service="chat"),
        record(ts=a + 73.5, tier="4o", service="chat"),
    ]
    post(client, ingest_key, calls)
    body = read(client, path, read_key, [("from", a), ("to", a + 180), ("group_by", "tier,service")])
    assert body["group_by"] == ["tier", "service"]
    groups = body["series"] if path == METRICS else body["rows"]
    labels = [g["labels"] for g in groups]
    assert all(list(label) == ["tier", "service"] for label in labels), labels
    assert sorted((label["tier"], label["service"]) for label in labels) == [
        ("4o", "chat"),
        ("o3", "chat"),
        ("o3", "search"),
    ]
    if path == METRICS:
        requests = {tuple(g["labels"].values()): sum(p["requests"] for p in g["points"]) for g in groups}
    else:
        requests = {tuple(g["labels"].values()): g["requests"] for g in groups}
    assert requests == {("4o", "chat"): 2, ("o3", "chat"): 1, ("o3", "search"): 1}


@pytest.mark.parametrize("path", [METRICS, REPORT])
def test_groups_without_calls_in_the_range_are_left_out(client, ingest_key, read_key, path):
    a = anchor()
    post(client, ingest_key, [record(ts=a - 600.5, tier="4o"), record(ts=a + 70.5, tier="o3")])
    body = read(client, path, read_key, [("from", a), ("to", a + 180)])
    groups = body["series"] if path == METRICS else body["rows"]
    assert [g["labels"] for g in groups] == [{"tier": "o3"}]
    # The 4o call is there when the range covers it; o4-mini (in the catalogue, never called) never is.
    body = read(client, path, read_key, [("from", a - 900), ("to", a + 180)])
    groups = body["series"] if path == METRICS else body["rows"]
    assert sorted(g["labels"]["tier"] for g in groups) == ["4o", "o3"]


@pytest.mark.parametrize("path", [METRICS, REPORT])
def test_a_range_without_calls_answers_no_groups(client, ingest_key, read_key, path):
    a = anchor()
    post(client, ingest_key, [record(ts=a + 70.5, tier="o3")])
    body = read(client, path, read_key, [("from", a - 7200), ("to", a - 3600)])
    assert body["series" if path == METRICS else "rows"] == []


# --- GET /api/v1/report -----------------------------------------------------------------------------


def test_report_answers_one_row_per_group_with_every_field(client, ingest_key, read_key):
    a = anchor()
    post(client, ingest_key, [*ten_o3_calls(a + 60), record(ts=a + 30.5, tier="4o", ttft_ms=80.0)])
    body = read(client, REPORT, read_key, [("from", a), ("to", a + 180)])
    assert list(body) == ["from", "to", "group_by", "rows"]
    assert body["group_by"] == ["tier"]
    assert [row["labels"] for row in body["rows"]] == [{"tier": "4o"}, {"tier": "o3"}]
    for row in body["rows"]:
        assert set(row) == ROW_KEYS, sorted(set(row) ^ ROW_KEYS)
        assert set(row["latency_ms"]) == {"p50", "p95", "p99"}
        assert set(row["ttft_ms"]) == {"p50", "p95", "p99"}
        assert isinstance(row["requests"], int) and isinstance(row["errors"], int)
        for name in ("tokens_in", "tokens_out"):  # null for a group whose calls report no tokens
            assert row[name] is None or isinstance(row[name], int), (name, row[name])
    assert isinstance(body["rows"][1]["tokens_in"], int) and isinstance(body["rows"][1]["tokens_out"], int)


def test_report_figures_equal_the_hand_computed_ones(client, ingest_key, read_key):
    a = anchor()
    post(client, ingest_key, ten_o3_calls(a + 60))
    body = read(client, REPORT, read_key, [("from", a), ("to", a + 180)])
    (row,) = body["rows"]
    assert row["labels"] == {"tier": "o3"}
    assert row["requests"] == 10
    assert row["errors"] == 2
    assert row["error_rate"] == pytest.approx(0.2)
    assert row["availability"] == pytest.approx(0.8)
    assert row["stability"] == pytest.approx(0.8)
    assert row["peak_qps"] == 3
    assert row["avg_latency_ms"] == pytest.approx(550.0)
    assert near(row["latency_ms"]["p50"], 500, 550)
    assert near(row["latency_ms"]["p95"], 1000, 955)
    assert near(row["latency_ms"]["p99"], 1000, 991)
    assert row["ttft_ms"] == {"p50": None, "p95": None, "p99": None}
    # No cost on the records: the seed price of o3, 0.15 a call.
    assert row["cost_per_call"] == pytest.approx(0.15)
    assert row["total_cost"] == pytest.approx(1.5)
    assert row["projected_daily_cost"] == pytest.approx(1.5 * 86_400 / 180)
    assert row["tokens_in"] == 1000
    assert row["tokens_out"] == 500
    assert row["tokens_out_per_s"] == pytest.approx(500 / 180)
    assert row["cache_hit_rate"] == pytest.approx(0.75)
    assert row["energy_per_call_wh"] == pytest.approx(2.0)


@pytest.mark.parametrize("group_by", ["tier", "tier,service"])
def test_the_same_calls_give_the_same_figures_over_any_range_that_holds_them(client, ingest_key, read_key, group_by):
    a = anchor()
    post(client, ingest_key, ten_o3_calls(a + 60))
    now = int(time.time())
    same = ("requests", "errors", "avg_latency_ms", "latency_ms", "peak_qps", "stability", "total_cost", "tokens_out")
    figures = []
    # 3 minutes; the default hour; 6 hours and 2 days (whole hours and days in the middle).
    for params in ([("from", a), ("to", a + 180)], [], [("from", now - 6 * 3600)], [("from", now - 2 * 86_400)]):
        (row,) = read(client, REPORT, read_key, [*params, ("group_by", group_by)])["rows"]
        figures.append({name: row[name] for name in same})
    assert all(f == figures[0] for f in figures), figures
    assert figures[0]["requests"] == 10 and figures[0]["peak_qps"] == 3
    assert figures[0]["stability"] == pytest.approx(0.8)


def test_hourly_steps_over_a_day_put_the_calls_in_their_hour(client, ingest_key, read_key):
    a = anchor()
    post(client, ingest_key, ten_o3_calls(a + 60))
    now = int(time.time())
    body = read(client, METRICS, read_key, [("from", now - 86_400), ("step", 3600)])
    (series,) = body["series"]
    points = series["points"]
    assert len(points) in (24, 25)
    hour = (a + 60) // 3600 * 3600
    first = (now - 86_400) // 3600 * 3600
    busy = points[(hour - first) // 3600]
    assert busy["requests"] == 10 and busy["peak_qps"] == 3 and busy["error_rate"] == pytest.approx(0.2)
    assert sum(p["requests"] for p in points) == 10


def test_projected_daily_cost_scales_total_cost_to_a_day_over_the_default_hour(client, ingest_key, read_key):
    a = anchor()
    post(client, ingest_key, ten_o3_calls(a + 60))
    body = read(client, REPORT, read_key)
    (row,) = body["rows"]
    assert row["total_cost"] == pytest.approx(1.5)
    assert row["projected_daily_cost"] == pytest.approx(1.5 * 24)


def test_a_window_summary_counts_as_its_count_of_calls(client, ingest_key, read_key):
    a = anchor()
    summary = record(
        ts=a + 100.5,
        tier="4o",
        count=5,
        window_s=60,
        errors=1,
        cache_hits=2,
        latency_ms=300.0,
        ttft_ms=120.0,
        tokens_in=1000,
        tokens_out=400,
        energy_wh=10.0,
    )
    post(client, ingest_key, [summary])
    body = read(client, REPORT, read_key, [("from", a), ("to", a + 180)])
    (row,) = body["rows"]
    assert row["labels"] == {"tier": "4o"}
    assert row["requests"] == 5
    assert row["errors"] == 1
    assert row["error_rate"] == pytest.approx(0.2)
    assert row["availability"] == pytest.approx(0.8)
    assert row["stability"] == pytest.approx(0.8)
    assert row["peak_qps"] == 5
    assert row["avg_latency_ms"] == pytest.approx(300.0)
    assert all(near(row["latency_ms"][p], 300.0) for p in ("p50", "p95", "p99")), row["latency_ms"]
    assert all(near(row["ttft_ms"][p], 120.0) for p in ("p50", "p95", "p99")), row["ttft_ms"]
    assert row["total_cost"] == pytest.approx(0.4)  # 5 calls at 4o's seed price, 0.08
    assert row["cost_per_call"] == pytest.approx(0.08)
    assert row["tokens_in"] == 1000 and row["tokens_out"] == 400
    assert row["cache_hit_rate"] == pytest.approx(0.4)
    assert row["energy_per_call_wh"] == pytest.approx(2.0)
    metrics = read(client, METRICS, read_key, [("from", a), ("to", a + 180)])
    assert [p["requests"] for p in metrics["series"][0]["points"]] == [0, 5, 0]


def test_a_records_own_cost_replaces_the_price_table(client, ingest_key, read_key):
    a = anchor()
    calls = [
        record(ts=a + 70.5, tier="o3", cost=0.5),
        record(ts=a + 71.5, tier="o3", cost=0.25),
        record(ts=a + 72.5, tier="o3"),  # the seed price: 0.15
    ]
    post(client, ingest_key, calls)
    (row,) = read(client, REPORT, read_key, [("from", a), ("to", a + 180)])["rows"]
    assert row["total_cost"] == pytest.approx(0.9)
    assert row["cost_per_call"] == pytest.approx(0.3)


def test_a_group_without_ttft_data_has_null_ttft_percentiles(client, ingest_key, read_key):
    a = anchor()
    calls = [record(ts=a + 70.5, tier="o3"), record(ts=a + 71.5, tier="4o", latency_ms=400.0, ttft_ms=150.0)]
    post(client, ingest_key, calls)
    rows = {r["labels"]["tier"]: r for r in read(client, REPORT, read_key, [("from", a), ("to", a + 180)])["rows"]}
    assert rows["o3"]["ttft_ms"]["p50"] is None
    assert rows["o3"]["ttft_ms"] == {"p50": None, "p95": None, "p99": None}
    assert near(rows["4o"]["ttft_ms"]["p50"], 150.0)
    # Nothing reported, nothing estimated.
    assert rows["o3"]["cache_hit_rate"] is None and rows["o3"]["energy_per_call_wh"] is None


@pytest.mark.parametrize("group_by", ["tier", "tier,service"])
def test_peak_qps_is_the_peak_of_the_groups_sum_not_the_sum_of_peaks(client, ingest_key, read_key, group_by):
    a = anchor()
    calls = [record(ts=a + 70.2, tier="o3", service="svc-a") for _ in range(2)]
    calls += [record(ts=a + 70.7, tier="o3", service="svc-b") for _ in range(2)]
    calls += [record(ts=a + 75.5, tier="o3", service="svc-a") for _ in range(3)]
    post(client, ingest_key, calls)
    rows = read(client, REPORT, read_key, [("from", a), ("to", a + 180), ("group_by", group_by)])["rows"]
    peaks = {tuple(r["labels"].values()): r["peak_qps"] for r in rows}
    if group_by == "tier":
        assert peaks == {("o3",): 4}
    else:
        assert peaks == {("o3", "svc-a"): 3, ("o3", "svc-b"): 2}
    # Two filter values make a group no per-group rollup holds: the same peak of the sum.
    params = [("from", a), ("to", a + 180), ("service", "svc-a"), ("service", "svc-b")]
    (row,) = read(client, REPORT, read_key, params)["rows"]
    assert row["peak_qps"] == 4


@pytest.mark.parametrize("params", [[], [("service", "svc-a"), ("service", "svc-b")], [("group_by", "")]])
def test_stability_pools_each_minute_over_the_group_and_leaves_out_minutes_without_calls(
    client, ingest_key, read_key, params
):
    a = anchor(8)
    # Minute a: svc-a 1 call, 1 error; svc-b 9 calls, no error: pooled 0.1 (the mean of the series' rates is 0.5).
    calls = [record(ts=a + 10.5, tier="o3", service="svc-a", status="error")]
    calls += [record(ts=a + 11.5 + i, tier="o3", service="svc-b") for i in range(9)]
    # Minute a+60: no calls. Minute a+120: 4 calls, 1 error: 0.25.
    calls += [
        record(ts=a + 130.5 + i, tier="o3", service="svc-a", status="error" if i == 0 else "ok") for i in range(4)
    ]
    post(client, ingest_key, calls)
    (row,) = read(client, REPORT, read_key, [("from", a), ("to", a + 180), *params])["rows"]
    assert row["requests"] == 14
    assert row["stability"] == pytest.approx(1 - (0.1 + 0.25) / 2)


@pytest.mark.parametrize("group_by", ["tier", "tier,service"])
def test_stability_interval_changes_the_interval(client, ingest_key, read_key, group_by):
    a = anchor(8)  # a multiple of 120: minutes a and a+60 share one 120 s interval
    calls = ten_o3_calls(a)  # 10 calls, 2 errors
    calls += [
        record(ts=a + 70.5, tier="o3", service="research", status="error"),
        record(ts=a + 71.5, tier="o3", service="research"),
    ]
    post(client, ingest_key, calls)
    window = [("from", a), ("to", a + 180), ("group_by", group_by)]
    (row,) = read(client, REPORT, read_key, window)["rows"]
    assert row["stability"] == pytest.approx(1 - (0.2 + 0.5) / 2)
    (row,) = read(client, REPORT, read_key, [*window, ("stability_interval", 60)])["rows"]
    assert row["stability"] == pytest.approx(1 - (0.2 + 0.5) / 2)
    (row,) = read(client, REPORT, read_key, [*window, ("stability_interval", 120)])["rows"]
    assert row["stability"] == pytest.approx(1 - 3 / 12)


def test_ratios_are_fractions_between_zero_and_one(client, ingest_key, read_key):
    a = anchor()
    calls = [
        *ten_o3_calls(a + 60),
        record(ts=a + 70.5, tier="4o", status="error", cache_hit=True),
        record(ts=a + 71.5, tier="o4-mini", cache_hit=False),
        record(ts=a + 72.5, tier="custom", count=3, window_s=60, errors=3, cache_hits=3),
    ]
    post(client, ingest_key, calls)
    for group_by in ("tier", "tier,service", "", "model,deployment"):
        rows = read(client, REPORT, read_key, [("from", a), ("to", a + 180), ("group_by", group_by)])["rows"]
        assert rows
        for row in rows:
            for name in RATIOS:
                assert row[name] is None or 0 <= row[name] <= 1, (name, row)
            assert row["availability"] == pytest.approx(1 - row["error_rate"])


# --- OpenAPI -----------------------------------------------------------------------------------------


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@pytest.mark.parametrize(
    ("path", "own", "items", "item_keys"),
    [
        (METRICS, "step", "series", {"labels", "points"}),
        (REPORT, "stability_interval", "rows", ROW_KEYS),
    ],
)
def test_the_openapi_document_describes_both_read_endpoints(client, db, path, own, items, item_keys):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert path in schema["paths"], sorted(schema["paths"])
    operation = schema["paths"][path]["get"]
    names = {_resolve(schema, p)["name"] for p in operation["parameters"]}
    assert {"from", "to", "group_by", own, "tier", "model", "service", "deployment"} <= names, names
    body = _resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"from", "to", "group_by", items} <= set(body["properties"])
    item = _resolve(schema, body["properties"][items]["items"])
    assert item_keys <= set(item["properties"]), sorted(item_keys - set(item["properties"]))
    if path == METRICS:
        point = _resolve(schema, item["properties"]["points"]["items"])
        assert set(point["properties"]) >= POINT_KEYS
        assert "step_s" in body["properties"]
    for status in ("400", "401", "403"):
        assert status in operation["responses"], sorted(operation["responses"])
