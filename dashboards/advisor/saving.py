"""What moving traffic from one tier to another does to the daily cost, at measured prices."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .evaluation import TierFacts


@dataclass(frozen=True)
class Saving:
    """Moving ``share`` of ``from_tier``'s daily calls to ``to_tier`` at its measured cost per call.

    ``saving_per_day`` is negative when the target tier costs more per call.
    ``saving_fraction`` is the saving over what the moved calls cost before the move.
    Money is unrounded: the page rounds it for display.
    """

    from_tier: str
    to_tier: str
    share: float
    calls_moved_per_day: float
    cost_before_per_day: float
    cost_after_per_day: float
    saving_per_day: float
    saving_fraction: float | None

    @property
    def extra_cost_per_day(self) -> float:
        """What the move adds to the daily cost (the negative of the saving)."""
        return -self.saving_per_day

    @property
    def extra_cost_fraction(self) -> float | None:
        """The extra cost over what the moved calls cost before the move."""
        return None if self.saving_fraction is None else -self.saving_fraction


def saving(source: TierFacts, target: TierFacts, share: float = 1.0) -> Saving | None:
    """What moving ``share`` of ``source``'s daily calls to ``target`` would save per day.

    Both sides are priced at their measured cost per call. ``None`` when either cost per
    call or the source's projected daily calls is unknown (or not a finite number).
    """
    if not 0 < share <= 1:  # also refuses NaN
        raise ValueError(f"share must be in (0, 1], not {share!r}")
    calls, before_price, after_price = source.projected_daily_calls, source.cost_per_call, target.cost_per_call
    if calls is None or before_price is None or after_price is None:
        return None
    if not all(math.isfinite(value) for value in (calls, before_price, after_price)):
        return None
    moved = calls * share
    before, after = moved * before_price, moved * after_price
    return Saving(
        from_tier=source.name,
        to_tier=target.name,
        share=share,
        calls_moved_per_day=moved,
        cost_before_per_day=before,
        cost_after_per_day=after,
        saving_per_day=before - after,
        saving_fraction=(before - after) / before if before else None,
    )
