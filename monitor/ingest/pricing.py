"""Cost of a record that reports none: the price in effect at its time.

A model's own price wins; failing that, its tier's. Prices become integer
nano-units (1e-9 of the project's currency) so that costs add up exactly.
The book is cached per process for PRICE_CACHE_SECONDS.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal

from monitor.catalogue.models import Price
from monitor.catalogue.series import SeriesRef
from monitor.timedcache import TimedCache
from monitor.timeutil import to_us

NANO = 1_000_000_000
PRICE_CACHE_SECONDS = 10.0


def to_nano(amount: Decimal | float) -> int:
    """Exact for prices (9 decimal places); rounds a float cost to the nearest nano-unit."""
    if isinstance(amount, Decimal):
        return int((amount * NANO).to_integral_value())
    return round(amount * NANO)


@dataclass(frozen=True)
class PricePoint:
    from_us: int
    per_call: int  # nano-units per call
    per_million_in: int  # nano-units per 1M input tokens
    per_million_out: int

    def cost(self, calls: int, tokens_in: int | None, tokens_out: int | None) -> int | None:
        """Nano-units, or None when the price needs a token count the record does not give."""
        if (tokens_in is None and self.per_million_in) or (tokens_out is None and self.per_million_out):
            return None
        tokens_part = (tokens_in or 0) * self.per_million_in + (tokens_out or 0) * self.per_million_out
        return self.per_call * calls + (tokens_part + 500_000) // 1_000_000


class _Timeline:
    """The prices of one model or tier, in the order they took effect."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.points: list[PricePoint] = []

    def at(self, ts_us: int) -> PricePoint | None:
        idx = bisect_right(self.starts, ts_us) - 1
        return self.points[idx] if idx >= 0 else None


class PriceBook:
    def __init__(self, prices: list[Price]) -> None:
        self._by_model: dict[int, _Timeline] = {}
        self._by_tier: dict[int, _Timeline] = {}
        for price in sorted(prices, key=lambda p: p.effective_from):
            table, owner = (self._by_model, price.model_id) if price.model_id else (self._by_tier, price.tier_id)
            assert owner is not None
            timeline = table.setdefault(owner, _Timeline())
            timeline.starts.append(to_us(price.effective_from))
            timeline.points.append(
                PricePoint(
                    from_us=timeline.starts[-1],
                    per_call=to_nano(price.per_call),
                    per_million_in=to_nano(price.per_million_input),
                    per_million_out=to_nano(price.per_million_output),
                )
            )

    def steady_price(self, series: SeriesRef, from_us: int, to_us: int) -> PricePoint | None:
        """The price of ``series`` if one and the same holds from ``from_us`` to ``to_us``, else None."""
        first = self.price_at(series, from_us)
        return first if first is not None and first is self.price_at(series, to_us) else None

    def price_at(self, series: SeriesRef, ts_us: int) -> PricePoint | None:
        for table, owner in ((self._by_model, series.model_id), (self._by_tier, series.tier_id)):
            timeline = table.get(owner)
            if timeline is not None:
                point = timeline.at(ts_us)
                if point is not None:
                    return point
        return None


_books: TimedCache[int, PriceBook] = TimedCache(lambda: PRICE_CACHE_SECONDS)


def clear_cache() -> None:
    _books.clear()


def price_book(project_id: int) -> PriceBook:
    book = _books.get(project_id)
    if book is None:
        book = PriceBook(list(Price.objects.filter(project_id=project_id)))
        _books.put(project_id, book)
    return book
