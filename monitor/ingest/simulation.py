"""The demo traffic model: the calls a multi-tier inference fleet would report.

Pure and deterministic under a seed, so tests can check its properties; the
``simulate`` command turns its records into HTTP batches. First-response ranges,
context sizes and power draw come from the seed tier profiles; the rest (traffic
split, decode speeds, token counts, services) is plausible colour for the demo.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.catalogue.seeds import SEED_TIERS, TierProfile

# One call as the ingest endpoint takes it; ``cost`` is never set, so the
# server's price table prices the demo traffic like any client's.
Record = dict[str, str | int | float | bool]

ERROR_RATE = 0.005
ERROR_TYPES = ("timeout", "rate_limited", "http_500")
ERROR_WEIGHTS = (0.35, 0.35, 0.30)
TIMEOUT_MS = 60_000.0
CACHE_HIT_RATE = 0.08
CACHE_HIT_TTFT_FACTOR = 0.6  # a cached prompt skips most of the prefill
TTFT_TAIL_SHARE = 0.04  # calls slower than the seed's range: queueing, long prompts
TTFT_TAIL_MEAN = 0.25  # mean overshoot of the tail, as a share of the range's top
TOKEN_SIGMA = 0.6  # lognormal spread of token counts around their median

# Every few minutes one tier has a bad half-minute, so the dashboards, SLO burn
# rates and alerts have something to show.
FIRST_BURST_AFTER_S = (60.0, 180.0)
BURST_GAP_S = (120.0, 360.0)
BURST_LENGTH_S = 30.0
BURST_ERROR_RATE = 0.2
BURST_SLOWDOWN = 1.8


@dataclass(frozen=True)
class Route:
    """Where a tier's calls come from: the seed's scenario matrix."""

    service: str
    deployment: str
    weight: float


@dataclass(frozen=True)
class TierTraits:
    share: float  # of all traffic, before renormalising to the chosen tiers
    decode_tok_s: float
    tokens_in_median: int
    tokens_out_median: int
    reasoning_share: tuple[float, float] | None  # of tokens_out; reasoning models only
    models: tuple[tuple[str, float], ...]  # version, weight
    routes: tuple[Route, ...]


def demo_traits(old_4o_model: str) -> dict[str, TierTraits]:
    """Demo traits per seed tier; ``old_4o_model`` is the deprecated 4o version still taking calls."""
    return {
        "o3": TierTraits(
            share=0.15,
            decode_tok_s=40,
            tokens_in_median=3_000,
            tokens_out_median=600,
            reasoning_share=(0.3, 0.8),
            models=(("o3-2025-04-16", 1.0),),
            routes=(Route("research", "cloud-east", 1.0),),
        ),
        "4o": TierTraits(
            share=0.35,
            decode_tok_s=80,
            tokens_in_median=800,
            tokens_out_median=220,
            reasoning_share=None,
            models=(("4o-2024-11-20", 0.9), (old_4o_model, 0.1)),
            routes=(Route("support-bot", "cloud-east", 1.0),),
        ),
        "o4-mini": TierTraits(
            share=0.50,
            decode_tok_s=150,
            tokens_in_median=300,
            tokens_out_median=120,
            reasoning_share=None,
            models=(("o4-mini-2025-04-16", 1.0),),
            routes=(Route("mobile-assistant", "edge", 0.55), Route("moderation", "cloud-east", 0.45)),
        ),
    }


KNOWN_TIERS: tuple[str, ...] = tuple(p.name for p in SEED_TIERS)


class UnknownTier(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown tier {name!r}: the demo generator knows {', '.join(KNOWN_TIERS)}.")
        self.name = name


@dataclass(frozen=True)
class _Tier:
    profile: TierProfile
    traits: TierTraits


class TrafficModel:
    """Random calls for the chosen tiers at ``rate`` calls per second (a Poisson process).

    Ask for consecutive intervals with increasing times: error bursts are
    scheduled along the way.
    """

    def __init__(self, tiers: Sequence[str], rate: float, *, old_4o_model: str, seed: int | None = None) -> None:
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError(f"rate must be a positive number of calls per second, not {rate}")
        if not tiers:
            raise ValueError("choose at least one tier")
        traits = demo_traits(old_4o_model)
        profiles = {p.name: p for p in SEED_TIERS}
        chosen: list[_Tier] = []
        for name in dict.fromkeys(tiers):  # de-duplicated, in order
            if name not in profiles or name not in traits:
                raise UnknownTier(name)
            chosen.append(_Tier(profiles[name], traits[name]))
        self.tiers: tuple[str, ...] = tuple(t.profile.name for t in chosen)
        self.rate = rate
        self._chosen = chosen
        self._shares = [t.traits.share for t in chosen]  # random.choices renormalises
        self._rng = random.Random(seed)
        self._burst_start: float | None = None
        self._burst_tier = ""

    def calls_between(self, start: float, end: float) -> list[Record]:
        """The calls that finished in ``[start, end)`` (Unix seconds), oldest first."""
        records: list[Record] = []
        expovariate = self._rng.expovariate
        ts = start
        while True:
            # Exponential gaps make the count per interval Poisson(rate × length).
            ts += expovariate(self.rate)
            if ts >= end:
                return records
            records.append(self._call(ts))

    def burst_tier_at(self, ts: float) -> str | None:
        """The tier having an error burst at ``ts``, if any (``ts`` must not go backwards)."""
        rng = self._rng
        if self._burst_start is None:
            self._burst_start = ts + rng.uniform(*FIRST_BURST_AFTER_S)
            self._burst_tier = rng.choice(self.tiers)
        while ts >= self._burst_start + BURST_LENGTH_S:
            self._burst_start += BURST_LENGTH_S + rng.uniform(*BURST_GAP_S)
            self._burst_tier = rng.choice(self.tiers)
        return self._burst_tier if ts >= self._burst_start else None

    def _call(self, ts: float) -> Record:
        rng = self._rng
        tier = rng.choices(self._chosen, weights=self._shares)[0]
        profile, traits = tier.profile, tier.traits
        route = rng.choices(traits.routes, weights=[r.weight for r in traits.routes])[0]
        model = rng.choices(traits.models, weights=[w for _, w in traits.models])[0][0]
        in_burst = self.burst_tier_at(ts) == profile.name
        slowdown = BURST_SLOWDOWN if in_burst else 1.0

        tokens_out = min(self._tokens(traits.tokens_out_median), profile.context_tokens // 4)
        tokens_in = min(self._tokens(traits.tokens_in_median), profile.context_tokens - tokens_out)
        record: Record = {
            "ts": ts,
            "service": route.service,
            "tier": profile.name,
            "model": model,
            "deployment": route.deployment,
            "tokens_in": tokens_in,
        }
        if rng.random() < (BURST_ERROR_RATE if in_burst else ERROR_RATE):
            error_type = rng.choices(ERROR_TYPES, weights=ERROR_WEIGHTS)[0]
            record.update(status="error", error_type=error_type, latency_ms=self._failed_latency(error_type, profile))
            return record

        cache_hit = rng.random() < CACHE_HIT_RATE
        ttft = self._ttft(profile) * slowdown * (CACHE_HIT_TTFT_FACTOR if cache_hit else 1.0)
        decode_tok_s = traits.decode_tok_s * max(0.5, rng.gauss(1.0, 0.15)) / slowdown
        latency = ttft + tokens_out / decode_tok_s * 1000
        record.update(
            status="ok",
            # round() is monotonic, so ttft_ms stays ≤ latency_ms as the server requires.
            latency_ms=round(latency, 1),
            ttft_ms=round(ttft, 1),
            tokens_out=tokens_out,
            cache_hit=cache_hit,
            energy_wh=round(profile.power_w * latency / 3_600_000, 6),
        )
        if traits.reasoning_share is not None:
            # A share of tokens_out (reasoning tokens are billed as output), so never more than it.
            record["reasoning_tokens"] = int(tokens_out * rng.uniform(*traits.reasoning_share))
        return record

    def _ttft(self, profile: TierProfile) -> float:
        rng = self._rng
        low, high = profile.ttft_low_ms, profile.ttft_high_ms
        if rng.random() < TTFT_TAIL_SHARE:
            return high * (1 + rng.expovariate(1 / TTFT_TAIL_MEAN))
        return rng.triangular(low, high, low + 0.4 * (high - low))

    def _tokens(self, median: int) -> int:
        return max(1, round(median * math.exp(self._rng.gauss(0.0, TOKEN_SIGMA))))

    def _failed_latency(self, error_type: str, profile: TierProfile) -> float:
        rng = self._rng
        if error_type == "timeout":
            return round(TIMEOUT_MS * rng.uniform(1.0, 1.02), 1)
        if error_type == "rate_limited":  # refused at the gateway, before the model
            return round(rng.uniform(5, 40), 1)
        return round(rng.uniform(0.5, 2.0) * profile.ttft_high_ms, 1)
