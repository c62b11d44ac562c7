"""Time as the store keeps it: integer Unix microseconds, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
US_PER_S = 1_000_000


def to_us(moment: datetime) -> int:
    """Exact Unix microseconds of an aware datetime (no float rounding)."""
    return (moment - EPOCH) // ONE_US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)
