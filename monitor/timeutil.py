"""Time as the store keeps it: integer Unix microseconds, UTC."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
US_PER_S = 1_000_000
# What a datetime (and so a DateTimeField) holds: the years 1 to 9999.
FIRST_S = -62_135_596_800  # 0001-01-01T00:00:00Z
LAST_S = 253_402_300_799  # 9999-12-31T23:59:59Z


def to_us(moment: datetime) -> int:
    """Exact Unix microseconds of an aware datetime (no float rounding)."""
    return (moment - EPOCH) // ONE_US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def parse_rfc3339_us(text: str) -> int | None:
    """Unix microseconds of an RFC 3339 time with an offset, or None."""
    if not _RFC3339.fullmatch(text):
        return None
    normalised = text.upper().replace(" ", "T")
    if normalised.endswith("Z"):
        normalised = normalised[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(normalised)
    except ValueError:
        return None
    return to_us(moment)


def rfc3339(seconds: int) -> str:
    """A response time: RFC 3339 in UTC ending in Z."""
    moment = datetime.fromtimestamp(seconds, UTC)
    # strftime's %Y does not pad years before 1000 to four digits; RFC 3339 wants them.
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


TIME_RULE = "must be Unix seconds or an RFC 3339 time with an offset"


def parse_time(raw: str) -> float:
    """Unix seconds from a request time: a number, or RFC 3339 with an offset; ValueError says why not."""
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        parsed = parse_rfc3339_us(text)
        if parsed is None:
            raise ValueError(TIME_RULE) from None
        return parsed / US_PER_S
    if not math.isfinite(value):
        raise ValueError("must be a finite number of Unix seconds")
    return value
