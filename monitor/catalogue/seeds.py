"""The seed's tier profiles and prices (seed 000, table 1.2 and section 3.2).

Every new project starts with these three tiers in its catalogue and their
per-call prices in its price table; the demo generator uses the same profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class TierProfile:
    name: str
    ttft_low_ms: float  # "first response" range from the seed table
    ttft_high_ms: float
    context_tokens: int
    rated_qps: float
    power_w: float
    price_per_call: Decimal  # yuan (CNY)


SEED_TIERS: tuple[TierProfile, ...] = (
    TierProfile("o3", 800, 1200, 32_000, 15, 45, Decimal("0.15")),
    TierProfile("4o", 300, 500, 16_000, 40, 22, Decimal("0.08")),
    TierProfile("o4-mini", 120, 200, 4_000, 120, 8, Decimal("0.03")),
)

# The demo generator sends some traffic to this old 4o version, and the demo set-up
# marks it deprecated, so the dashboards have a deprecated model still taking calls.
DEPRECATED_DEMO_MODEL = "4o-2024-05-13"
