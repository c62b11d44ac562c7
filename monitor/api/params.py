"""Request parameters of the API (and the pages): parsed with one set of rules and 400s.

Every problem is a ``ParamError`` naming its field; the API's exception handler turns
it into the contract's error body.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Collection, Mapping, Sequence

from monitor.catalogue.names import NUL, NUL_PROBLEM
from monitor.metrics.query import DEFAULT_STEP_S, DIMENSIONS, Query, Window
from monitor.timeutil import FIRST_S
from monitor.timeutil import parse_time as _parse_time

from .errors import ParamError

__all__ = ["EARLIEST", "MAX_RANGE_S", "ParamError", "parse_query", "parse_span", "parse_time", "parse_window"]

MAX_RANGE_S = 400 * 86_400
MAX_POINTS = 10_000
EARLIEST = FIRST_S  # response times cannot go further back than the year 1
DEFAULT_RANGE_S = 3_600

Params = Mapping[str, Sequence[str]]
BIGINT_MAX = 2**63 - 1  # the largest integer PostgreSQL compares without leaving bigint
_ID = re.compile(r"[0-9]{1,19}")


def parse_time(field_name: str, raw: str) -> float:
    try:
        return _parse_time(raw)
    except ValueError as exc:
        raise ParamError(field_name, str(exc)) from None


def check_names(params: Params, allowed: Collection[str], *, repeatable: Collection[str] = ()) -> None:
    """Unknown names, and names other than ``repeatable`` given twice, are a ParamError."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ParamError(unknown[0], "is not a parameter of this endpoint")
    for name, values in params.items():
        if name not in repeatable and len(values) > 1:
            raise ParamError(name, "may be given once")


def one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def parse_span(
    raw_from: str | None,
    raw_to: str | None,
    now: float | None = None,
    *,
    keep_future: bool = False,
    default_s: int = DEFAULT_RANGE_S,
) -> tuple[int, int]:
    """``[start, end)`` in whole seconds from ``from`` / ``to``: every second they touch is in.

    A call belongs to second ⌊ts⌋, so the window is widened to whole seconds. By default a
    ``to`` in the future is clipped to now, and windows end at the last whole second (the
    one now is in has not finished). With ``keep_future`` (annotations, which may announce a
    change ahead) ``to`` is kept, and its default includes the current second.
    ``from`` defaults to ``default_s`` before ``to``.
    """
    clock = time.time() if now is None else now
    if keep_future:
        end = math.ceil(parse_time("to", raw_to)) if raw_to else math.floor(clock) + 1
    else:
        last = math.floor(clock)
        end = min(math.ceil(parse_time("to", raw_to)), last) if raw_to else last
    start = math.floor(parse_time("from", raw_from)) if raw_from else end - default_s
    if start < EARLIEST:
        raise ParamError("from", "is before the year 1")
    if start >= end:
        raise ParamError(
            "from", "must be before to" if keep_future else "must be before to (once to is clipped to now)"
        )
    if end - start > MAX_RANGE_S:
        raise ParamError("from", "makes a range over 400 days")
    return start, end


def parse_id(raw: str) -> int | None:
    """An object id from a URL path, or None when it cannot be one (the caller's 404)."""
    if not _ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= BIGINT_MAX else None


def parse_window(raw_from: str | None, raw_to: str | None, now: float | None = None) -> Window:
    """The read API's window; ``to`` in the future is clipped to now."""
    return Window(*parse_span(raw_from, raw_to, now))


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


def parse_int(field_name: str, raw: str | None, default: int, *, minimum: int, maximum: int = BIGINT_MAX) -> int:
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ParamError(field_name, "must be an integer number of seconds") from None
    if value < minimum:
        raise ParamError(field_name, f"must be at least {minimum}")
    if value > maximum:
        raise ParamError(field_name, f"must be at most {maximum:,}")
    return value


def parse_filters(params: Params) -> dict[str, tuple[str, ...]]:
    """Exact-match filters. A value no name has matches nothing, but PostgreSQL cannot even
    compare a string holding NUL: that one is a ParamError."""
    filters = {name: tuple(params[name]) for name in DIMENSIONS if name in params}
    for name, values in filters.items():
        if any(NUL in value for value in values):
            raise ParamError(name, NUL_PROBLEM)
    return filters


def parse_query(project_id: int, params: Params, *, allowed: set[str], now: float | None = None) -> Query:
    """A Query from request parameters (each name mapped to its list of values)."""
    check_names(params, allowed, repeatable=DIMENSIONS)
    window = parse_window(one(params, "from"), one(params, "to"), now)
    step = parse_int("step", one(params, "step"), DEFAULT_STEP_S, minimum=1)
    interval = parse_int("stability_interval", one(params, "stability_interval"), 60, minimum=60)
    if interval % 60:
        raise ParamError("stability_interval", "must be a multiple of 60 seconds")
    query = Query(
        project_id=project_id,
        window=window,
        group_by=parse_group_by(one(params, "group_by")),
        filters=parse_filters(params),
        step=step,
        stability_interval=interval,
    )
    if "step" in allowed and len(query.points()) > MAX_POINTS:
        raise ParamError("step", f"gives more than {MAX_POINTS:,} points for this range; use a larger step")
    return query
