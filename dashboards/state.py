"""What a dashboard shows, read from (and written back to) its URL.

Range, filters and auto-refresh live in the query string, so any view can be
bookmarked or shared. Bad values fall back to the defaults with a message rather
than an error page: the dashboards stay usable while the API answers 400s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from monitor.api.params import MAX_RANGE_S, ParamError, parse_time
from monitor.metrics.query import DIMENSIONS, Query, Window

# (key, label, seconds), shortest first.
RANGES: tuple[tuple[str, str, int], ...] = (
    ("15m", "Last 15 minutes", 900),
    ("1h", "Last hour", 3_600),
    ("6h", "Last 6 hours", 21_600),
    ("24h", "Last 24 hours", 86_400),
    ("7d", "Last 7 days", 604_800),
    ("30d", "Last 30 days", 2_592_000),
)
DEFAULT_RANGE = "1h"
CUSTOM = "custom"
REFRESH_CHOICES = (0, 5, 10, 30, 60, 300)
# Chart steps: the smallest that keeps a chart under MAX_CHART_POINTS points, moved
# down onto a rollup level (a minute, an hour) past a minute: a step on a level reads
# that level's stored percentiles, while one between levels (5 min, 3 h) must merge
# the sketches of the level below, several times slower over long ranges.
STEPS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400)
ROLLUP_STEPS = (60, 3_600, 86_400)
MAX_CHART_POINTS = 300
LIVE_WINDOW_S = 300  # the tiles: the last five minutes


def chart_step(seconds: int) -> int:
    step = next((s for s in STEPS if math.ceil(seconds / s) <= MAX_CHART_POINTS), STEPS[-1])
    if step <= ROLLUP_STEPS[0]:
        return step
    return max(level for level in ROLLUP_STEPS if level <= step)


def _local_input(ts: int) -> str:
    """A time as a ``datetime-local`` input value (UTC, to the second)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_input_time(name: str, raw: str) -> float:
    """``datetime-local`` values (taken as UTC), RFC 3339 or Unix seconds."""
    text = raw.strip()
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return parse_time(name, text)


@dataclass(frozen=True)
class PageState:
    range_key: str = DEFAULT_RANGE
    start: int = 0
    end: int = 0
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    refresh: int = 0
    problems: tuple[str, ...] = ()
    open_end: bool = False  # a custom range without ``to``: it runs up to now

    @property
    def window(self) -> Window:
        return Window(self.start, self.end)

    @property
    def step(self) -> int:
        return chart_step(self.end - self.start)

    @property
    def range_label(self) -> str:
        return next((label for key, label, _ in RANGES if key == self.range_key), "Custom range")

    def query(self, project_id: int, **changes: object) -> Query:
        base = Query(project_id=project_id, window=self.window, filters=dict(self.filters), step=self.step)
        return replace(base, **changes)  # type: ignore[arg-type]

    def params(self, **overrides: str | Sequence[str] | None) -> list[tuple[str, str]]:
        """The state as query-string pairs; an override of None drops that parameter."""
        pairs: dict[str, list[str]] = {"range": [self.range_key]}
        if self.range_key == CUSTOM:
            pairs["from"] = [_local_input(self.start)]
            if not self.open_end:
                pairs["to"] = [_local_input(self.end)]
        for name, values in self.filters.items():
            pairs[name] = list(values)
        if self.refresh:
            pairs["refresh"] = [str(self.refresh)]
        for name, value in overrides.items():
            if value is None:
                pairs.pop(name, None)
            else:
                pairs[name] = [value] if isinstance(value, str) else list(value)
        return [(name, value) for name, values in pairs.items() for value in values]

    def querystring(self, **overrides: str | Sequence[str] | None) -> str:
        return urlencode(self.params(**overrides))

    def pinned(self) -> dict[str, str]:
        """The window shown, to the second: a later request (a CSV export) gets the same one."""
        return {"range": CUSTOM, "from": _local_input(self.start), "to": _local_input(self.end)}

    @property
    def custom_from(self) -> str:
        return _local_input(self.start)

    @property
    def custom_to(self) -> str:
        return _local_input(self.end)


def parse_state(params: Mapping[str, Sequence[str]], now: float | None = None) -> PageState:
    """The page state from request parameters (each name mapped to its values)."""
    last = math.floor(time.time() if now is None else now)
    problems: list[str] = []

    def one(name: str) -> str:
        values = params.get(name) or [""]
        return values[0].strip()

    filters = {
        name: tuple(dict.fromkeys(v for v in params.get(name, ()) if v)) for name in DIMENSIONS if params.get(name)
    }
    filters = {name: values for name, values in filters.items() if values}
    refresh = 0
    if one("refresh"):
        try:
            refresh = int(one("refresh"))
        except ValueError:
            refresh = -1
        if refresh not in REFRESH_CHOICES:
            problems.append(f"refresh must be one of {', '.join(map(str, REFRESH_CHOICES[1:]))} seconds")
            refresh = 0

    range_key = one("range") or (CUSTOM if one("from") else DEFAULT_RANGE)
    if range_key == CUSTOM:
        try:
            start, end = _custom_window(one("from"), one("to"), last)
            return PageState(CUSTOM, start, end, filters, refresh, tuple(problems), open_end=not one("to"))
        except ParamError as exc:
            problems.append(f"{exc.field} {exc.message}; showing the last hour")
            range_key = DEFAULT_RANGE
    seconds = next((s for key, _, s in RANGES if key == range_key), None)
    if seconds is None:
        problems.append(f"range {range_key!r} is not one of {', '.join(k for k, _, _ in RANGES)}, or custom")
        range_key, seconds = DEFAULT_RANGE, 3_600
    return PageState(range_key, last - seconds, last, filters, refresh, tuple(problems))


def _custom_window(raw_from: str, raw_to: str, last: int) -> tuple[int, int]:
    if not raw_from:
        raise ParamError("from", "is needed for a custom range")
    start = math.floor(parse_input_time("from", raw_from))
    end = min(math.ceil(parse_input_time("to", raw_to)), last) if raw_to else last
    if start >= end:
        raise ParamError("from", "must be before to")
    if end - start > MAX_RANGE_S:
        raise ParamError("from", "makes a range over 400 days")
    return start, end
