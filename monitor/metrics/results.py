"""The shapes the query layer answers with: what the read API serialises, the pages and the SLO
engine read. A value without data is None (JSON null), never NaN; ratios are fractions in [0, 1]."""

from __future__ import annotations

from typing import TypedDict


class Percentiles(TypedDict):
    p50: float | None
    p95: float | None
    p99: float | None


class PointLatency(Percentiles):
    mean: float | None


class ReportRow(TypedDict):
    labels: dict[str, str]
    requests: int
    errors: int
    avg_latency_ms: float | None
    latency_ms: Percentiles
    ttft_ms: Percentiles
    peak_qps: float | None
    error_rate: float | None
    availability: float | None
    stability: float | None
    cost_per_call: float | None
    total_cost: float | None
    projected_daily_cost: float | None
    tokens_in: int | None
    tokens_out: int | None
    tokens_out_per_s: float | None
    cache_hit_rate: float | None
    energy_per_call_wh: float | None


class PointFigures(TypedDict):
    requests: int
    qps: float | None
    peak_qps: float | None
    error_rate: float | None
    latency_ms: PointLatency
    ttft_ms: PointLatency
    tokens_out_per_s: float | None
    cost: float | None
    cost_per_call: float | None


class Point(PointFigures):
    t: str  # RFC 3339, the bucket's start (clipped to the window)


class Series(TypedDict):
    labels: dict[str, str]
    points: list[Point]
