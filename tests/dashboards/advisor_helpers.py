"""Shared data for the tier advisor tests: the seed's tier table and small lookup helpers."""

from __future__ import annotations

from dashboards.advisor import PRESETS, Scenario, TierFacts, Verdict

# Shaped like the seed's tier table (seed 000, 1.2 and 3.2): TTFT p95 at the top of each
# profile's range but inside it, peaks under 80 % of the rated QPS, the seed's prices.
O3 = TierFacts(
    name="o3",
    rated_qps=15,
    context_tokens=32_000,
    ttft_p95_ms=1100,
    latency_p99_ms=4200,
    peak_qps=10,
    error_rate=0.01,
    cost_per_call=0.15,
    projected_daily_calls=100_000,
)
FOUR_O = TierFacts(
    name="4o",
    rated_qps=40,
    context_tokens=16_000,
    ttft_p95_ms=450,
    latency_p99_ms=1800,
    peak_qps=30,
    error_rate=0.005,
    cost_per_call=0.08,
    projected_daily_calls=100_000,
)
O4_MINI = TierFacts(
    name="o4-mini",
    rated_qps=120,
    context_tokens=4_000,
    ttft_p95_ms=180,
    latency_p99_ms=700,
    peak_qps=90,
    error_rate=0.002,
    cost_per_call=0.03,
    projected_daily_calls=100_000,
)
SEED_TIERS = [O3, FOUR_O, O4_MINI]


def scenario(key: str) -> Scenario:
    return next(each for each in PRESETS if each.key == key)


def by_tier(verdicts: list[Verdict]) -> dict[str, Verdict]:
    return {verdict.tier: verdict for verdict in verdicts}


def outcomes(verdict: Verdict) -> dict[str, str]:
    return {check.need: check.outcome for check in verdict.checks}
