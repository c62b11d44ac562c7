"""What the rollups add up to for one group over one span of time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from monitor.rollups.levels import ADDITIVE


@dataclass
class Totals:
    calls: int = 0
    errors: int = 0
    latency_sum: float = 0.0
    ttft_calls: int = 0
    ttft_sum: float = 0.0
    tokens_in: int = 0
    tokens_in_calls: int = 0
    tokens_out: int = 0
    tokens_out_calls: int = 0
    reasoning_tokens: int = 0
    cost_nano: int = 0
    cost_calls: int = 0
    cache_hits: int = 0
    cache_calls: int = 0
    energy_wh: float = 0.0
    energy_calls: int = 0
    latency_max: float | None = None
    peak_calls: int | None = None
    latency_bins: Counter[int] = field(default_factory=Counter)
    ttft_bins: Counter[int] = field(default_factory=Counter)
    # Percentiles read from a single rollup row (p50, p95, p99), instead of merged bins.
    latency_percentiles: tuple[float | None, ...] | None = None
    ttft_percentiles: tuple[float | None, ...] | None = None
    # The mean error rate over intervals with calls is stability_sum / stability_intervals.
    stability_sum: float = 0.0
    stability_intervals: int = 0

    def add_sums(self, values: tuple[Any, ...], names: Sequence[str] = ADDITIVE) -> None:
        """Add a row of sums (of the columns ``names``, in that order) followed by latency_max."""
        # Through __dict__ rather than getattr/setattr: a 24-hour chart adds thousands of rows.
        fields = self.__dict__
        for name, value in zip(names, values, strict=False):
            if value is not None:
                # numeric sums come back as Decimal: they are whole numbers
                fields[name] += int(value) if type(value) is Decimal else value
        latency_max = values[len(names)]
        if latency_max is not None:
            self.latency_max = max(self.latency_max or 0.0, float(latency_max))

    def fix_percentiles(self, values: list[Any]) -> None:
        """p50, p95, p99 of latency then of TTFT, as one rollup row has them."""
        self.latency_percentiles = tuple(values[:3])
        self.ttft_percentiles = tuple(values[3:6])

    def add_peak(self, peak: int | None) -> None:
        if peak is not None:
            self.peak_calls = max(self.peak_calls or 0, int(peak))
