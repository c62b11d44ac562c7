"""Answer a Query: a report (one row per group) or time series (points per group)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from monitor.timeutil import rfc3339

from .definitions import POINT_SUMS, point, report_row
from .fetch import Cells, add_peaks, add_sketches, add_stability, add_totals
from .groups import Grouping, resolve
from .plan import plan
from .query import Query
from .totals import Totals


def _sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: tuple(item["labels"].values()))


def report(query: Query) -> list[dict[str, Any]]:
    grouping = resolve(query)
    if grouping.empty:
        return []
    window = query.window
    pieces = plan(window.start, window.end)
    cells: Cells = defaultdict(Totals)
    add_totals(cells, grouping, pieces, None, window.start, query.project_id)
    if not any(cell.calls for cell in cells.values()):
        return []
    add_sketches(cells, grouping, pieces, None, window.start, query.project_id)
    add_peaks(cells, grouping, pieces, None, window.start, query.project_id)
    add_stability(cells, grouping, window.start, window.end, query.stability_interval, query.project_id)
    rows = []
    for g, group in enumerate(grouping.groups):
        totals = cells.get((g, window.start))
        if totals is not None and totals.calls:
            rows.append({"labels": group.labels, **report_row(totals, window.seconds)})
    return _sorted(rows)


def timeseries(query: Query) -> list[dict[str, Any]]:
    grouping: Grouping = resolve(query)
    if grouping.empty:
        return []
    window, step = query.window, query.step
    pieces = plan(window.start, window.end, step)
    cells: Cells = defaultdict(Totals)
    add_totals(cells, grouping, pieces, step, window.start, query.project_id, POINT_SUMS)
    active = {g for (g, _), cell in cells.items() if cell.calls}
    if not active:
        return []
    add_sketches(cells, grouping, pieces, step, window.start, query.project_id)
    add_peaks(cells, grouping, pieces, step, window.start, query.project_id)
    # (start, its time as text, its seconds inside the window): the same for every group.
    buckets = [
        (start, rfc3339(max(start, window.start)), min(start + step, window.end) - max(start, window.start))
        for start in query.points()
    ]
    series = []
    for g in sorted(active):
        points = [{"t": t, **point(cells.get((g, start)), covered)} for start, t, covered in buckets]
        series.append({"labels": grouping.groups[g].labels, "points": points})
    return _sorted(series)
