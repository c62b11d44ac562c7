"""Answer a Query: a report (one row per group) or time series (points per group)."""

from __future__ import annotations

from collections import defaultdict

from monitor.timeutil import rfc3339

from .definitions import POINT_SUMS, point, report_row
from .fetch import Cells, Reader, add_stability
from .groups import resolve
from .plan import plan
from .query import Query
from .results import Point, ReportRow, Series
from .totals import Totals


def report(query: Query) -> list[ReportRow]:
    grouping = resolve(query)
    if grouping.empty:
        return []
    window = query.window
    reader = Reader(grouping, plan(window.start, window.end), None, window.start, query.project_id)
    cells: Cells = defaultdict(Totals)
    reader.add_totals(cells)
    if not any(cell.calls for cell in cells.values()):
        return []
    reader.add_sketches(cells)
    reader.add_peaks(cells)
    add_stability(cells, grouping, window.start, window.end, query.stability_interval, query.project_id)
    rows = []
    for g, group in enumerate(grouping.groups):
        totals = cells.get((g, window.start))
        if totals is not None and totals.calls:
            rows.append(report_row(group.labels, totals, window.seconds))
    return sorted(rows, key=lambda row: tuple(row["labels"].values()))


def timeseries(query: Query) -> list[Series]:
    grouping = resolve(query)
    if grouping.empty:
        return []
    window, step = query.window, query.step
    reader = Reader(grouping, plan(window.start, window.end, step), step, window.start, query.project_id)
    cells: Cells = defaultdict(Totals)
    reader.add_totals(cells, POINT_SUMS)
    active = {g for (g, _), cell in cells.items() if cell.calls}
    if not active:
        return []
    reader.add_sketches(cells)
    reader.add_peaks(cells)
    # (start, its time as text, its seconds inside the window): the same for every group.
    buckets = [
        (start, rfc3339(max(start, window.start)), min(start + step, window.end) - max(start, window.start))
        for start in query.points()
    ]
    series: list[Series] = []
    for g in sorted(active):
        points: list[Point] = [{"t": t, **point(cells.get((g, start)), covered)} for start, t, covered in buckets]
        series.append({"labels": grouping.groups[g].labels, "points": points})
    return sorted(series, key=lambda item: tuple(item["labels"].values()))
