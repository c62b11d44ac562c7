"""The definition of every metric, from rollup totals (docs/metrics.md says the same in prose).

All figures are over the calls of a group in a window [from, to), ``to`` clipped to
now; ``seconds`` is that window's length. A value without data is None (JSON null),
never NaN; ratios are fractions in [0, 1].
"""

from __future__ import annotations

from decimal import Decimal

from monitor.rollups.sketch import PERCENTILES, quantiles

from .results import Percentiles, PointFigures, PointLatency, ReportRow
from .totals import Totals

SECONDS_PER_DAY = 86_400
_NANO = Decimal(1_000_000_000)


def ratio(part: float, whole: float) -> float | None:
    return None if not whole else part / whole


def money(nano: int) -> float:
    """Nano-units of the project's currency (summed exactly) as a number."""
    return float(Decimal(nano) / _NANO)


def percentiles(bins: dict[int, int], fixed: tuple[float | None, ...] | None = None) -> Percentiles:
    """Nearest-rank p50/p95/p99 of a sketch, within 1 % (or as one rollup row has them)."""
    p50, p95, p99 = list(fixed) if fixed is not None else quantiles(bins.items(), PERCENTILES.values())
    return {"p50": p50, "p95": p95, "p99": p99}


def _with_mean(mean: float | None, values: Percentiles) -> PointLatency:
    return {"mean": mean, "p50": values["p50"], "p95": values["p95"], "p99": values["p99"]}


def error_rate(t: Totals) -> float | None:
    """errors / requests."""
    return ratio(t.errors, t.calls)


def availability(t: Totals) -> float | None:
    """1 − error rate."""
    rate = error_rate(t)
    return None if rate is None else 1 - rate


def stability(t: Totals) -> float | None:
    """1 − the mean, over intervals (UTC minutes) with calls, of each one's pooled error rate."""
    if not t.stability_intervals:
        return None
    return min(1.0, max(0.0, 1 - t.stability_sum / t.stability_intervals))


def peak_qps(t: Totals) -> float | None:
    """The most calls in one epoch-aligned second, summed over the group's series."""
    return None if t.peak_calls is None else float(t.peak_calls)


def total_cost(t: Totals) -> float | None:
    return money(t.cost_nano) if t.cost_calls else None


def cost_per_call(t: Totals) -> float | None:
    """Total cost / calls that have a cost."""
    return None if not t.cost_calls else float(Decimal(t.cost_nano) / _NANO / t.cost_calls)


def projected_daily_cost(t: Totals, seconds: int) -> float | None:
    """Total cost × 86,400 / seconds in range."""
    return None if not t.cost_calls else float(Decimal(t.cost_nano) / _NANO * SECONDS_PER_DAY / seconds)


def tokens_out_per_s(t: Totals, seconds: int) -> float | None:
    """Output tokens / seconds in range (over the calls that report them)."""
    return t.tokens_out / seconds if t.tokens_out_calls else None


def report_row(labels: dict[str, str], t: Totals, seconds: int) -> ReportRow:
    latency = percentiles(t.latency_bins)
    ttft = percentiles(t.ttft_bins)
    return {
        "labels": labels,
        "requests": t.calls,
        "errors": t.errors,
        "avg_latency_ms": ratio(t.latency_sum, t.calls),
        "latency_ms": latency,
        "ttft_ms": ttft,
        "peak_qps": peak_qps(t),
        "error_rate": error_rate(t),
        "availability": availability(t),
        "stability": stability(t),
        "cost_per_call": cost_per_call(t),
        "total_cost": total_cost(t),
        "projected_daily_cost": projected_daily_cost(t, seconds),
        "tokens_in": t.tokens_in if t.tokens_in_calls else None,
        "tokens_out": t.tokens_out if t.tokens_out_calls else None,
        "tokens_out_per_s": tokens_out_per_s(t, seconds),
        "cache_hit_rate": ratio(t.cache_hits, t.cache_calls),
        "energy_per_call_wh": ratio(t.energy_wh, t.energy_calls),
    }


def _nothing() -> PointLatency:
    return {"mean": None, "p50": None, "p95": None, "p99": None}


def _empty_point() -> PointFigures:
    return {
        "requests": 0,
        "qps": None,
        "peak_qps": None,
        "error_rate": None,
        "latency_ms": _nothing(),
        "ttft_ms": _nothing(),
        "tokens_out_per_s": None,
        "cost": None,
        "cost_per_call": None,
    }


# The sums point() reads: a time series fetches only these (a 24-hour chart has
# thousands of points, and every column read costs on each of them).
POINT_SUMS = ("calls", "errors", "latency_sum", "ttft_calls", "ttft_sum", "tokens_out", "tokens_out_calls",
              "cost_nano", "cost_calls")  # fmt: skip


def point(t: Totals | None, seconds: int) -> PointFigures:
    """One step bucket; ``seconds`` is the part of it inside the window (qps divides by it)."""
    if t is None or not t.calls:
        return _empty_point()
    return {
        "requests": t.calls,
        "qps": qps(t.calls, seconds),
        "peak_qps": peak_qps(t),
        "error_rate": error_rate(t),
        "latency_ms": _with_mean(ratio(t.latency_sum, t.calls), percentiles(t.latency_bins, t.latency_percentiles)),
        "ttft_ms": _with_mean(ratio(t.ttft_sum, t.ttft_calls), percentiles(t.ttft_bins, t.ttft_percentiles)),
        "tokens_out_per_s": tokens_out_per_s(t, seconds),
        "cost": total_cost(t),
        "cost_per_call": cost_per_call(t),
    }


# Figures the dashboards derive from report rows: defined here with the rest.
HEADROOM = 0.2  # seed 000, 5: keep 20 % of compute in reserve
SIGNIFICANT_CHANGE = 0.15  # seed 003: act on a change of more than 15-20 %


def qps(calls: int, seconds: int) -> float | None:
    """Calls per second over a window (or a bucket's covered seconds)."""
    return None if not seconds else calls / seconds


def projected_daily_calls(calls: int, seconds: int) -> float | None:
    """Calls × 86,400 / seconds in range."""
    return None if not seconds else calls * SECONDS_PER_DAY / seconds


def headroom_limit(rated_qps: float | None) -> float | None:
    """The most QPS a tier should see while keeping its headroom."""
    return None if rated_qps is None else rated_qps * (1 - HEADROOM)


def relative_change(before: float | None, after: float | None) -> float | None:
    """(after − before) / before; None when either is missing or before is zero."""
    if before is None or after is None or before == 0:
        return None
    return (after - before) / before


def capacity_used(peak: float | None, rated: float | None) -> float | None:
    """Peak QPS / rated QPS: above 1 − HEADROOM, the tier has lost its headroom."""
    return None if peak is None or not rated else peak / rated
