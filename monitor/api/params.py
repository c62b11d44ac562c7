"""Request parameters of the read API (and the pages): parsed with one set of rules and 400s.

Every problem is a ``ParamError`` naming its field; the views turn it into the
contract's error body.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

from monitor.metrics.query import DEFAULT_STEP_S, DIMENSIONS, Query, Window
from monitor.timeutil import parse_time as _parse_time

MAX_RANGE_S = 400 * 86_400
MAX_POINTS = 10_000
EARLIEST = -62_135_596_800  # 0001-01-01T00:00:00Z: response times cannot go further back
DEFAULT_RANGE_S = 3_600


class ParamError(ValueError):
    """A bad parameter: becomes a 400 naming ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


def parse_time(field_name: str, raw: str) -> float:
    try:
        return _parse_time(raw)
    except ValueError as exc:
        raise ParamError(field_name, str(exc)) from None


def parse_window(raw_from: str | None, raw_to: str | None, now: float | None = None) -> Window:
    """``to`` in the future is clipped to now. A call belongs to second ⌊ts⌋, so the
    window is widened to whole seconds: every (finished) second it touches is in."""
    # The second now is in has not finished: windows end at the last whole second.
    last = math.floor(time.time() if now is None else now)
    end = min(math.ceil(parse_time("to", raw_to)), last) if raw_to else last
    start = math.floor(parse_time("from", raw_from)) if raw_from else end - DEFAULT_RANGE_S
    if start < EARLIEST:
        raise ParamError("from", "is before the year 1")
    window = Window(start, end)
    if window.start >= window.end:
        raise ParamError("from", "must be before to (once to is clipped to now)")
    if window.seconds > MAX_RANGE_S:
        raise ParamError("from", "makes a range over 400 days")
    return window


def parse_group_by(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ("tier",)
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    for name in names:
        if name not in DIMENSIONS:
            raise ParamError("group_by", f"must list names from {', '.join(DIMENSIONS)}; {name!r} is not one")
    if len(set(names)) != len(names):
        raise ParamError("group_by", "names a dimension twice")
    return names


def parse_int(field_name: str, raw: str | None, default: int, *, minimum: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ParamError(field_name, "must be an integer number of seconds") from None
    if value < minimum:
        raise ParamError(field_name, f"must be at least {minimum}")
    return value


def parse_query(
    project_id: int,
    params: Mapping[str, Sequence[str]],
    *,
    allowed: set[str],
    now: float | None = None,
) -> Query:
    """A Query from request parameters (each name mapped to its list of values)."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ParamError(unknown[0], "is not a parameter of this endpoint")
    for name, values in params.items():
        if name not in DIMENSIONS and len(values) > 1:
            raise ParamError(name, "may be given once")

    def one(name: str) -> str | None:
        values = params.get(name)
        return values[0] if values else None

    window = parse_window(one("from"), one("to"), now)
    step = parse_int("step", one("step"), DEFAULT_STEP_S, minimum=1)
    interval = parse_int("stability_interval", one("stability_interval"), 60, minimum=60)
    if interval % 60:
        raise ParamError("stability_interval", "must be a multiple of 60 seconds")
    query = Query(
        project_id=project_id,
        window=window,
        group_by=parse_group_by(one("group_by")),
        filters={name: tuple(params[name]) for name in DIMENSIONS if name in params},
        step=step,
        stability_interval=interval,
    )
    if "step" in allowed and len(query.points()) > MAX_POINTS:
        raise ParamError("step", f"gives more than {MAX_POINTS:,} points for this range; use a larger step")
    return query
