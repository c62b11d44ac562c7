"""Read the rollups for a query: one UNION ALL statement per kind of figure.

Every statement gets the plan's pieces (level, bucket range) and returns rows per
(group, point); ``point`` is the start of the step bucket a rollup row falls in, or
the window's start for a report.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import connection

from monitor.rollups.levels import ADDITIVE, DAY, HOUR, MINUTE, SECOND, sql_type

from .groups import Grouping
from .plan import Piece, cover, dirty_minutes, fine_cutoff, past_fine_retention
from .totals import Totals

Key = tuple[int, int]  # (group index, point start)
Cells = defaultdict[Key, Totals]


def _point(step: int | None, start: int) -> str:
    return f"r.bucket - r.bucket %% {step}" if step else str(start)


def _series_select(piece: Piece, columns: str, point: str, extra_from: str = "", group: str = "1, 2") -> str:
    return (
        f"SELECT m.g, {point} AS point, {columns} FROM {piece.level.series_table} r "
        f"JOIN unnest(%(series)s::int[], %(groups)s::int[]) AS m(series_id, g) USING (series_id) {extra_from} "
        f"WHERE r.series_id = ANY(%(series)s::int[]) AND r.bucket >= {piece.start} AND r.bucket < {piece.end} "
        f"GROUP BY {group}"
    )


def _run(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _params(grouping: Grouping) -> dict[str, Any]:
    return {"series": grouping.series_ids, "groups": grouping.series_group}


def add_totals(cells: Cells, grouping: Grouping, pieces: list[Piece], step: int | None, start: int) -> None:
    # sum() of bigint is numeric in PostgreSQL: cast back, so Python gets int and float.
    sums = ", ".join([*(f"sum(r.{c})::{sql_type(c)}" for c in ADDITIVE), "max(r.latency_max)"])
    sql = " UNION ALL ".join(_series_select(p, sums, _point(step, start)) for p in pieces)
    for g, point, *values in _run(sql, _params(grouping)):
        cells[(int(g), int(point))].add_sums(tuple(values))


def add_sketches(cells: Cells, grouping: Grouping, pieces: list[Piece], step: int | None, start: int) -> None:
    bins = (
        "CROSS JOIN LATERAL (VALUES (0, r.lat_bins, r.lat_counts), (1, r.ttft_bins, r.ttft_counts)) "
        "AS k(kind, bins, counts) CROSS JOIN LATERAL unnest(k.bins, k.counts) AS u(b, c)"
    )
    sql = " UNION ALL ".join(
        _series_select(p, "k.kind, u.b, sum(u.c)::bigint", _point(step, start), bins, group="1, 2, 3, 4")
        for p in pieces
    )
    for g, point, kind, bin_index, count in _run(sql, _params(grouping)):
        cell = cells[(int(g), int(point))]
        (cell.latency_bins if kind == 0 else cell.ttft_bins)[int(bin_index)] += int(count)


def _group_select(piece: Piece, columns: str, point: str, group: str = "1, 2") -> str:
    return (
        f"SELECT r.value, {point} AS point, {columns} FROM {piece.level.group_table} r "
        f"WHERE r.project_id = %(project)s AND r.dim = %(dim)s AND r.value = ANY(%(values)s) "
        f"AND r.bucket >= {piece.start} AND r.bucket < {piece.end} GROUP BY {group}"
    )


def _group_params(grouping: Grouping, project_id: int) -> tuple[dict[str, Any], dict[str, int]]:
    index = {group.value: g for g, group in enumerate(grouping.groups)}
    assert grouping.dim is not None
    return {"project": project_id, "dim": int(grouping.dim), "values": list(index)}, index


def add_peaks(
    cells: Cells, grouping: Grouping, pieces: list[Piece], step: int | None, start: int, project_id: int
) -> None:
    """The most calls in one second, summed over each group's series (the peak of the sum).

    A grouping by one dimension reads its groups' own minute, hour and day rollups.
    Seconds are summed over the group's series as they are read; before the per-second
    retention, each series' own peak per bucket is summed instead: an upper bound.
    """
    point = _point(step, start)
    outer = f"x.point - x.point %% {step}" if step else str(start)
    cutoff = fine_cutoff()
    by_group, by_series = [], []
    for piece in pieces:
        if grouping.dim is not None and piece.level is not SECOND:
            by_group.append(_group_select(piece, "max(r.peak_calls)", point))
            continue
        parts = []
        if piece.end > cutoff:
            parts.append((Piece(SECOND, max(piece.start, cutoff), piece.end), "sum(r.calls) AS s"))
        if piece.start < cutoff:
            parts.append((Piece(piece.level, piece.start, min(piece.end, cutoff)), "sum(r.peak_calls) AS s"))
        for part, column in parts:
            inner = _series_select(part, column, "r.bucket")
            by_series.append(f"SELECT x.g, {outer}, max(x.s) FROM ({inner}) x GROUP BY 1, 2")
    if by_group:
        params, index = _group_params(grouping, project_id)
        for value, at, peak in _run(" UNION ALL ".join(by_group), params):
            cells[(index[str(value)], int(at))].add_peak(peak)
    if by_series:
        for g, at, peak in _run(" UNION ALL ".join(by_series), _params(grouping)):
            cells[(int(g), int(at))].add_peak(peak)


def add_stability(cells: Cells, grouping: Grouping, start: int, end: int, interval: int, project_id: int) -> None:
    """Per group: the sum of the error rates of its intervals with calls, and their number."""
    if grouping.dim is not None and interval == 60:
        _stability_from_group_rollups(cells, grouping, start, end, project_id)
        return
    # Pool each interval's calls over the group's series, then average the rates. An
    # interval cut by a piece boundary is pooled across pieces, here.
    pieces = past_fine_retention(cover(start, end, (MINUTE, SECOND), dirty_minutes(start, end)), fine_cutoff())
    sql = " UNION ALL ".join(
        _series_select(p, "sum(r.calls), sum(r.errors)", f"r.bucket - r.bucket %% {interval}") for p in pieces
    )
    pooled: defaultdict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for g, at, calls, errors in _run(sql, _params(grouping)):
        pooled[(int(g), int(at))][0] += int(calls)
        pooled[(int(g), int(at))][1] += int(errors)
    for (g, _), (calls, errors) in pooled.items():
        if calls:
            cell = cells[(g, start)]
            cell.stability_sum += errors / calls
            cell.stability_intervals += 1


def _stability_from_group_rollups(cells: Cells, grouping: Grouping, start: int, end: int, project_id: int) -> None:
    by_group, by_series = [], []
    levels = (DAY, HOUR, MINUTE, SECOND)
    for piece in past_fine_retention(cover(start, end, levels, dirty_minutes(start, end)), fine_cutoff()):
        if piece.level.seconds >= 3600:  # hours and days keep the sum of their minutes' rates
            by_group.append(_group_select(piece, "sum(r.stab_sum), sum(r.stab_minutes)", "0", group="1"))
        elif piece.level is MINUTE:
            rates = _group_select(piece, "sum(r.errors::float8 / r.calls), count(*)", "0", group="1")
            by_group.append(rates.replace("GROUP BY", "AND r.calls > 0 GROUP BY"))
        else:  # seconds (an edge of the range, or a minute not rebuilt yet): pooled per minute
            inner = _series_select(piece, "sum(r.calls) AS c, sum(r.errors) AS e", "r.bucket - r.bucket %% 60")
            by_series.append(f"SELECT x.g, 0, sum(x.e::float8 / x.c), count(*) FROM ({inner}) x GROUP BY 1")
    rows: list[tuple[int, Any, Any]] = []
    if by_group:
        params, index = _group_params(grouping, project_id)
        rows += [(index[str(v)], r, n) for v, _, r, n in _run(" UNION ALL ".join(by_group), params)]
    if by_series:
        rows += [(int(g), r, n) for g, _, r, n in _run(" UNION ALL ".join(by_series), _params(grouping))]
    for g, rate_sum, intervals in rows:
        cell = cells[(g, start)]
        cell.stability_sum += float(rate_sum or 0)
        cell.stability_intervals += int(intervals or 0)
