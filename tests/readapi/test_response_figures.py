"""The figures /api/v1/metrics and /api/v1/report answer, checked by hand: rates, peaks, costs, stability."""

from __future__ import annotations

import time

import pytest

from monitor.projects.models import Project
from tests.conftest import issue_key, record
from tests.readapi.helpers import METRICS, RATIOS, REPORT, anchor, near, nulls_only, post, read, rfc, ten_o3_calls


@pytest.fixture
def read_key(project: Project) -> str:
    return issue_key(project, "read")


# --- GET /api/v1/metrics ----------------------------------------------------------------------------


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


# --- GET /api/v1/report -----------------------------------------------------------------------------


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
