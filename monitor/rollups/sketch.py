"""Latency and TTFT sketches: log-spaced buckets with 1 % relative accuracy (DDSketch).

A value x > 0 falls in bin ⌈log_γ x⌉ with γ = (1 + α) / (1 − α), α = 0.01; the bin's
representative 2γⁱ / (γ + 1) is within α of every value in it. Zero has a bin of its
own. Sketches are (bins, counts) pairs, merged by adding counts, so rollups of any
series and any span of time combine exactly. PostgreSQL computes the same bins with
``tw_bin`` (see the rollups migration), with the same constant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
ZERO_BIN = -2_147_483_648
# The percentiles every figure reports, by name. The rollups store these for each group
# row (columns lat_p50 … ttft_p99, computed by tw_quantiles in SQL with the same
# nearest-rank rule as ``quantiles`` below).
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def value_of(bin_index: int) -> float:
    if bin_index == ZERO_BIN:
        return 0.0
    return 2 * GAMMA**bin_index / (GAMMA + 1)


def quantiles(bins: Iterable[tuple[int, int]], qs: Iterable[float]) -> list[float | None]:
    """Nearest-rank quantiles from (bin, count) pairs; None for an empty sketch.

    The q-quantile is the value of rank ⌈q·n⌉ (1-based): the returned value is within
    1 % of the exact nearest-rank value over the same calls.
    """
    ordered = sorted(bins)
    total = sum(count for _, count in ordered)
    wanted = list(qs)
    if total <= 0:
        return [None for _ in wanted]
    answers: list[float | None] = []
    for q in wanted:
        rank = max(1, math.ceil(q * total))
        seen = 0
        for bin_index, count in ordered:
            seen += count
            if seen >= rank:
                answers.append(value_of(bin_index))
                break
    return answers
