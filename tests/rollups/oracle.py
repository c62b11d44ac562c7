"""The exact figures, computed straight from the records a test posted: what rollups must match."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

SEED_PRICE_NANO = {"o3": 150_000_000, "4o": 80_000_000, "o4-mini": 30_000_000}


@dataclass
class Exact:
    requests: int
    errors: int
    tokens_in: int | None
    tokens_out: int | None
    cost_nano: int
    cost_calls: int
    latencies: list[float]
    ttfts: list[float]
    per_second: Counter[int]
    per_minute: dict[int, list[int]]

    def percentile(self, values: list[float], q: float) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        return ordered[max(1, math.ceil(q * len(ordered))) - 1]

    @property
    def peak(self) -> int | None:
        return max(self.per_second.values()) if self.per_second else None

    @property
    def stability(self) -> float | None:
        rates = [e / c for c, e in self.per_minute.values() if c]
        return 1 - sum(rates) / len(rates) if rates else None


def exact(records: list[dict[str, Any]], start: int, end: int) -> Exact:
    """Figures over the calls whose second ⌊ts⌋ is in [start, end)."""
    out = Exact(0, 0, None, None, 0, 0, [], [], Counter(), defaultdict(lambda: [0, 0]))
    for rec in records:
        second = math.floor(rec["ts"])
        if not start <= second < end:
            continue
        calls = rec.get("count", 1)
        errors = rec.get("errors", 0) if "count" in rec else (1 if rec.get("status") == "error" else 0)
        out.requests += calls
        out.errors += errors
        if rec.get("tokens_in") is not None:
            out.tokens_in = (out.tokens_in or 0) + rec["tokens_in"]
        if rec.get("tokens_out") is not None:
            out.tokens_out = (out.tokens_out or 0) + rec["tokens_out"]
        if "cost" in rec:
            out.cost_nano += round(rec["cost"] * 1_000_000_000)
            out.cost_calls += calls
        elif rec["tier"] in SEED_PRICE_NANO:
            out.cost_nano += SEED_PRICE_NANO[rec["tier"]] * calls
            out.cost_calls += calls
        out.latencies += [rec["latency_ms"]] * calls
        if rec.get("ttft_ms") is not None:
            out.ttfts += [rec["ttft_ms"]] * calls
        out.per_second[second] += calls
        minute = out.per_minute[second - second % 60]
        minute[0] += calls
        minute[1] += errors
    return out


def close(measured: float | None, wanted: float | None, relative: float) -> bool:
    if wanted is None or measured is None:
        return measured is None and wanted is None
    return abs(measured - wanted) <= relative * abs(wanted) + 1e-12
