"""Rollups answer exactly what the raw records say: totals exact, percentiles within 1 %.

Random record sets, window summaries and late records included, are posted, rolled
up, and read back through the query layer over random ranges, with both the
per-group rollups (grouped by one dimension) and the per-series ones.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any, Literal
from unittest.mock import patch

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.metrics import sources
from monitor.metrics.engine import report, timeseries
from monitor.metrics.query import Query, Window
from monitor.projects.models import ApiKey
from monitor.projects.services import create_project
from monitor.rollups.compact import compact_pending, compact_step
from monitor.rollups.schedule import roll_up_pending
from monitor.timeutil import rfc3339
from tests.conftest import post_records
from tests.rollups.oracle import close, exact

NOW = int(time.time())
PERCENTILE_NAMES: tuple[tuple[Literal["p50", "p95", "p99"], float], ...] = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
_slugs = itertools.count()

TIERS = ["o3", "4o", "o4-mini", "custom"]
# Each example posts, rolls up and queries a real database: slow, and shares the db fixture.
SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
SERVICES = ["svc-a", "svc-b"]


@st.composite
def a_record(draw: st.DrawFn, base: int) -> dict[str, Any]:
    ts = base + draw(st.integers(0, 3 * 3600)) + draw(st.sampled_from([0.0, 0.25, 0.999999]))
    rec: dict[str, Any] = {
        "ts": ts,
        "service": draw(st.sampled_from(SERVICES)),
        "tier": draw(st.sampled_from(TIERS)),
        "latency_ms": draw(st.one_of(st.floats(0.5, 30_000, allow_nan=False), st.just(0.0))),
    }
    if draw(st.booleans()):
        rec["deployment"] = "edge"
    if draw(st.integers(0, 3)) == 0:
        rec["model"] = f"{rec['tier']}-v2"
    if draw(st.booleans()):
        rec["ttft_ms"] = rec["latency_ms"] * draw(st.floats(0, 1))
    if draw(st.booleans()):
        rec["tokens_in"] = draw(st.integers(0, 5000))
        rec["tokens_out"] = draw(st.integers(0, 2000))
    if draw(st.integers(0, 9)) == 0:
        rec["cost"] = draw(st.floats(0, 3)).__round__(6)
    if draw(st.integers(0, 4)) == 0:
        count = draw(st.integers(1, 50))
        rec.update(count=count, window_s=60, errors=draw(st.integers(0, count)))
    elif draw(st.integers(0, 5)) == 0:
        rec["status"] = "error"
    return rec


def _project() -> tuple[int, str]:
    project = create_project(f"prop-{next(_slugs)}")
    return project.pk, ApiKey.issue(project, "ingest")[1]


def _dimension(record: dict[str, Any], name: str) -> str:
    """A record's value of a dimension, defaults included."""
    defaults = {"model": record["tier"], "deployment": "default"}
    return str(record.get(name, defaults.get(name)))


def _check_report(
    project_id: int,
    records: list[dict[str, Any]],
    start: int,
    end: int,
    group_by: tuple[str, ...],
    filters: dict[str, tuple[str, ...]] | None = None,
) -> None:
    filters = filters or {}
    query = Query(project_id=project_id, window=Window(start, end), group_by=group_by, filters=filters)
    chosen = [r for r in records if all(_dimension(r, d) in values for d, values in filters.items())]
    rows = {tuple(row["labels"].values()): row for row in report(query)}
    keys = {tuple(_dimension(r, d) for d in group_by) for r in chosen if start <= int(r["ts"] // 1) < end}
    assert set(rows) == keys
    for key, row in rows.items():
        mine = [r for r in chosen if tuple(_dimension(r, d) for d in group_by) == key]
        want = exact(mine, start, end)
        assert row["requests"] == want.requests
        assert row["errors"] == want.errors
        assert row["tokens_in"] == want.tokens_in and row["tokens_out"] == want.tokens_out
        assert row["total_cost"] == (float(want.cost_nano) / 1e9 if want.cost_calls else None) or close(
            row["total_cost"], want.cost_nano / 1e9, 1e-15
        )
        assert row["peak_qps"] == want.peak
        assert close(row["stability"], want.stability, 1e-9)
        for name, q in PERCENTILE_NAMES:
            assert close(row["latency_ms"][name], want.percentile(want.latencies, q), 0.01), (name, row, key)
            assert close(row["ttft_ms"][name], want.percentile(want.ttfts, q), 0.01), (name, key)


# Groupings the group rollups answer (one dimension, a pair, a model that fixes its tier)
# and ones summed from the series (two filter values, a triple).
GROUPINGS: list[tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = [
    (("tier",), {}),
    (("tier", "service"), {}),
    ((), {}),
    (("tier",), {"service": ("svc-a",)}),
    ((), {"service": ("svc-b",)}),
    (("tier",), {"service": ("svc-a", "svc-b")}),
    (("service",), {"tier": ("4o",), "deployment": ("default",)}),
    (("model",), {"tier": ("o3", "4o")}),
    (("tier",), {"model": ("4o-v2",)}),
]


def _check_every_grouping(project_id: int, records: list[dict[str, Any]], start: int, end: int) -> None:
    for group_by, filters in GROUPINGS:
        _check_report(project_id, records, start, end, group_by, filters)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_reports_equal_the_exact_figures_over_any_range(db, data):
    base = NOW - data.draw(st.integers(3 * 3600 + 60, 5 * 86_400))
    # The smaller lists first: hypothesis' budget of random data per example runs out
    # after a hundred or so records, and later draws then come out empty.
    later = data.draw(st.lists(a_record(base), min_size=data.draw(st.integers(0, 1)), max_size=20))
    late = data.draw(st.lists(a_record(base), max_size=30))  # posted after the first ones are rolled up
    first = data.draw(st.lists(a_record(base), min_size=1, max_size=80))
    # Recent days have group minute rows; older ones are summed from their series.
    history = data.draw(st.booleans())
    # Rows find their group by array position, or (past LOOKUP_MAX series) by a join.
    lookup_max = data.draw(st.sampled_from([sources.LOOKUP_MAX, 0]))
    with override_settings(GROUP_MINUTE_DAYS=-1 if history else 2), patch.object(sources, "LOOKUP_MAX", lookup_max):
        project_id, key = _project()
        client = Client()
        assert post_records(client, key, first).status_code == 202
        roll_up_pending()
        if late:
            assert post_records(client, key, late).status_code == 202
            roll_up_pending()
        records = first + late
        seconds = sorted(int(r["ts"] // 1) for r in records + later)
        start = data.draw(st.integers(seconds[0] - 90, seconds[-1]))
        end = data.draw(st.integers(start + 1, seconds[-1] + 4000))
        # Read from the per-second rollups (minutes not rebuilt yet), after one compaction
        # step (minutes rebuilt, their hours and days stale), from the rebuilt rollups,
        # and with later records making some of those stale again: always the exact figures.
        _check_every_grouping(project_id, records, start, end)
        compact_step(project_id, grace_s=0)
        _check_every_grouping(project_id, records, start, end)
        compact_pending(grace_s=0)
        _check_every_grouping(project_id, records, start, end)
        if later:
            assert post_records(client, key, later).status_code == 202
            roll_up_pending()
            _check_every_grouping(project_id, records + later, start, end)


@pytest.mark.parametrize("history", [False, True], ids=["recent", "history"])
def test_a_groups_peak_counts_the_calls_of_all_its_series_in_one_second(db, history):
    # Peak of the sum, not sum of peaks: one call from each of three series in one
    # second is a tier's peak of 3, though no series ever calls twice in a second.
    second = NOW - 2 * 3600 - NOW % 60 + 30
    calls = [("svc-a", "edge"), ("svc-b", "default"), ("svc-a", "default")]
    records: list[dict[str, Any]] = [
        {"ts": second + 0.1 * n, "service": service, "deployment": deployment, "tier": "o3", "latency_ms": 100 + n}
        for n, (service, deployment) in enumerate(calls)
    ]
    records += [{"ts": second + 7, "service": "svc-a", "tier": "o3", "latency_ms": 90}]
    records += [{"ts": second + 8 + n, "service": "svc-b", "tier": "4o", "latency_ms": 80} for n in range(2)]
    with override_settings(GROUP_MINUTE_DAYS=-1 if history else 2):
        project_id, key = _project()
        assert post_records(Client(), key, records).status_code == 202
        roll_up_pending()
        for phase in ("uncompacted", "compacted"):
            (o3,) = [
                row
                for row in report(Query(project_id, Window(second - 60, second + 60)))
                if row["labels"] == {"tier": "o3"}
            ]
            assert o3["peak_qps"] == 3, phase
            _check_every_grouping(project_id, records, second - 3600, second + 3600)
            compact_pending(grace_s=0)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_time_series_points_equal_the_exact_figures_of_their_buckets(db, data):
    base = NOW - data.draw(st.integers(3 * 3600 + 60, 2 * 86_400))
    records = data.draw(st.lists(a_record(base), min_size=1, max_size=40))
    history = data.draw(st.booleans())
    with override_settings(GROUP_MINUTE_DAYS=-1 if history else 2):
        project_id, key = _project()
        assert post_records(Client(), key, records).status_code == 202
        roll_up_pending()
        compact_pending(grace_s=data.draw(st.sampled_from([0, 10**9])))  # rebuilt, or not yet
        step = data.draw(st.sampled_from([1, 7, 60, 90, 300, 3600]))
        seconds = sorted(int(r["ts"] // 1) for r in records)
        start = data.draw(st.integers(seconds[0] - 30, seconds[-1]))
        end = min(start + step * data.draw(st.integers(1, 40)), NOW)
        group_by, filters = data.draw(st.sampled_from(GROUPINGS[:5]))
        query = Query(project_id, Window(start, end), group_by=group_by, filters=filters, step=step)
        chosen = [r for r in records if all(_dimension(r, d) in values for d, values in filters.items())]
        for series in timeseries(query):
            mine = [r for r in chosen if all(_dimension(r, d) == v for d, v in series["labels"].items())]
            assert series["points"][0]["t"] == rfc3339(start)
            for p in series["points"]:
                t = int(datetime.fromisoformat(p["t"]).timestamp())
                bucket_start = t - t % step
                want = exact(mine, max(bucket_start, start), min(bucket_start + step, end))
                assert p["requests"] == want.requests
                assert p["peak_qps"] == want.peak
                assert p["error_rate"] == (want.errors / want.requests if want.requests else None)
                assert close(p["cost"], want.cost_nano / 1e9 if want.cost_calls else None, 1e-12)
                assert close(p["latency_ms"]["p95"], want.percentile(want.latencies, 0.95), 0.01)
                assert close(p["ttft_ms"]["p95"], want.percentile(want.ttfts, 0.95), 0.01)


def test_percentiles_of_a_thousand_calls_are_within_one_percent(db):
    project_id, key = _project()
    base = NOW - 7200
    latencies = [float(n) for n in range(1, 1001)]
    records = [
        {"ts": base + n % 600, "service": "s", "tier": "4o", "latency_ms": lat, "ttft_ms": lat / 2}
        for n, lat in enumerate(latencies)
    ]
    assert post_records(Client(), key, records).status_code == 202
    roll_up_pending()
    (row,) = report(Query(project_id=project_id, window=Window(base, base + 3600)))
    assert row["requests"] == 1000
    expected: tuple[tuple[Literal["p50", "p95", "p99"], int], ...] = (("p50", 500), ("p95", 950), ("p99", 990))
    for name, wanted in expected:
        assert close(row["latency_ms"][name], wanted, 0.01), (name, row["latency_ms"])
        assert close(row["ttft_ms"][name], wanted / 2, 0.01), (name, row["ttft_ms"])
    assert row["avg_latency_ms"] == sum(latencies) / 1000


def test_points_keep_calls_of_a_minute_that_starts_before_the_first_bucket(db, settings):
    # Past the per-second retention a window's edge widens to whole minutes; with a
    # 7-second step such a minute can start before the first bucket: it counts there.
    project_id, key = _project()
    minute = (NOW - 3600) // 420 * 420  # a multiple of both 60 and 7
    assert (
        post_records(Client(), key, [{"ts": minute + 12, "service": "s", "tier": "4o", "latency_ms": 5}]).status_code
        == 202
    )
    roll_up_pending()
    compact_pending(grace_s=0)
    settings.FINE_RETENTION_DAYS = 0  # as if the per-second rollups had all aged away
    query = Query(project_id=project_id, window=Window(minute + 10, minute + 60), group_by=("tier",), step=7)
    (series,) = timeseries(query)
    assert series["points"][0]["requests"] == 1
    assert sum(p["requests"] for p in series["points"]) == 1
