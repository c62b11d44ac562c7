"""Read the rollups for a query: one UNION ALL statement per kind of figure.

Every statement gets the plan's pieces (level, bucket range) and returns rows per
(group, point); ``point`` is the start of the step bucket a rollup row falls in, or
the window's start for a report. A grouping by one dimension reads its groups' own
minute, hour and day rollups; seconds, and any other grouping, read the series'.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection

from monitor.rollups.levels import ADDITIVE, DAY, HOUR, MINUTE, SECOND, sql_type

from .groups import Grouping
from .plan import Piece, cover, dirty_minutes, fine_cutoff, past_fine_retention
from .totals import Totals

Key = tuple[int, int]  # (group index, point start)
Cells = defaultdict[Key, Totals]
QUANTILE_COLUMNS = ("lat_p50", "lat_p95", "lat_p99", "ttft_p50", "ttft_p95", "ttft_p99")


def _by_group(grouping: Grouping, piece: Piece) -> bool:
    return grouping.dim is not None and piece.level is not SECOND


def _whole(grouping: Grouping, piece: Piece, step: int | None) -> bool:
    """Whether each of the piece's rows is a whole point: the groups' own rows at the step's level."""
    return bool(step) and piece.level.seconds == step and _by_group(grouping, piece)


def _select(grouping: Grouping, piece: Piece, columns: str, point: str, extra: str = "", group: str = "1, 2") -> str:
    """SELECT m.g (the group index), point, columns ... over one piece's rollup rows."""
    span = f"r.bucket >= {piece.start} AND r.bucket < {piece.end}"
    if _by_group(grouping, piece):
        source = (
            f"{piece.level.group_table} r JOIN unnest(%(values)s::text[], %(indexes)s::int[]) AS m(value, g) "
            f"USING (value) {extra} WHERE r.project_id = %(project)s AND r.dim = %(dim)s "
            f"AND r.value = ANY(%(values)s::text[]) AND {span}"
        )
    else:
        source = (
            f"{piece.level.series_table} r JOIN unnest(%(series)s::int[], %(groups)s::int[]) AS m(series_id, g) "
            f"USING (series_id) {extra} WHERE r.series_id = ANY(%(series)s::int[]) AND {span}"
        )
    return f"SELECT m.g, {point} AS point, {columns} FROM {source}" + (f" GROUP BY {group}" if group else "")


def _params(grouping: Grouping, project_id: int) -> dict[str, Any]:
    return {
        "series": grouping.series_ids,
        "groups": grouping.series_group,
        "project": project_id,
        "dim": int(grouping.dim) if grouping.dim is not None else -1,
        "values": [group.value for group in grouping.groups],
        "indexes": list(range(len(grouping.groups))),
    }


def _per_point(grouping: Grouping, piece: Piece, step: int | None, start: int, as_stored: str, summed: str) -> str:
    """SELECT m.g, point, figures over one piece: rows that are whole points read as they are
    stored (no sort, no aggregate: a 24-hour chart by the minute is thousands of them),
    others ``summed`` per point."""
    if _whole(grouping, piece, step):
        return _select(grouping, piece, as_stored, "r.bucket", group="")
    return _select(grouping, piece, summed, _point(step, start))


def _run(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _point(step: int | None, start: int, column: str = "r.bucket") -> str:
    """The start of the step bucket a row falls in (the window's start for a report).

    A minute widened past the per-second retention may start before the first bucket:
    it counts in the first one.
    """
    if not step:
        return str(start)
    return f"greatest({column} - {column} %% {step}, {start - start % step})"


def add_totals(
    cells: Cells,
    grouping: Grouping,
    pieces: list[Piece],
    step: int | None,
    start: int,
    project_id: int,
    sums: Sequence[str] = ADDITIVE,
) -> None:
    """The ``sums`` (all of ADDITIVE by default) and latency_max per cell."""
    # sum() of bigint is numeric in PostgreSQL: cast back, so Python gets int and float.
    summed = ", ".join([*(f"sum(r.{c})::{sql_type(c)}" for c in sums), "max(r.latency_max)"])
    as_stored = ", ".join([*(f"r.{c}::{sql_type(c)}" for c in sums), "r.latency_max"])
    sql = " UNION ALL ".join(_per_point(grouping, p, step, start, as_stored, summed) for p in pieces)
    for g, point, *values in _run(sql, _params(grouping, project_id)):
        cells[(int(g), int(point))].add_sums(tuple(values), sums)


def add_sketches(
    cells: Cells, grouping: Grouping, pieces: list[Piece], step: int | None, start: int, project_id: int
) -> None:
    """Latency and TTFT sketches per cell; a point that is exactly one group row reads that
    row's own percentiles instead (a 30-day chart by the hour merges nothing)."""
    whole, merged = [], []
    for piece in pieces:
        if _whole(grouping, piece, step):
            whole.append(_select(grouping, piece, ", ".join(f"r.{c}" for c in QUANTILE_COLUMNS), "r.bucket", group=""))
        else:
            merged.append(piece)
    params = _params(grouping, project_id)
    if whole:
        for g, point, *quantiles in _run(" UNION ALL ".join(whole), params):
            cells[(int(g), int(point))].fix_percentiles(quantiles)
    if merged:
        bins = (
            "CROSS JOIN LATERAL (VALUES (0, r.lat_bins, r.lat_counts), (1, r.ttft_bins, r.ttft_counts)) "
            "AS k(kind, bins, counts) CROSS JOIN LATERAL unnest(k.bins, k.counts) AS u(b, c)"
        )
        columns = "k.kind, u.b, sum(u.c)::bigint"
        sql = " UNION ALL ".join(
            _select(grouping, p, columns, _point(step, start), bins, group="1, 2, 3, 4") for p in merged
        )
        for g, point, kind, bin_index, count in _run(sql, params):
            cell = cells[(int(g), int(point))]
            (cell.latency_bins if kind == 0 else cell.ttft_bins)[int(bin_index)] += int(count)


def add_peaks(
    cells: Cells, grouping: Grouping, pieces: list[Piece], step: int | None, start: int, project_id: int
) -> None:
    """The most calls in one second, summed over each group's series (the peak of the sum).

    Group rows know their peak. Series seconds are summed per group as they are read;
    before the per-second retention, each series' own peak per bucket is summed
    instead: an upper bound.
    """
    outer = _point(step, start, "x.point")
    cutoff = fine_cutoff()
    selects = []
    for piece in pieces:
        if _by_group(grouping, piece):
            selects.append(_per_point(grouping, piece, step, start, "r.peak_calls", "max(r.peak_calls)"))
            continue
        parts = []
        if piece.end > cutoff:
            parts.append((Piece(SECOND, max(piece.start, cutoff), piece.end), "sum(r.calls) AS s"))
        if piece.start < cutoff:
            parts.append((Piece(piece.level, piece.start, min(piece.end, cutoff)), "sum(r.peak_calls) AS s"))
        for part, column in parts:
            inner = _select(grouping, part, column, "r.bucket")
            selects.append(f"SELECT x.g, {outer}, max(x.s) FROM ({inner}) x GROUP BY 1, 2")
    for g, at, peak in _run(" UNION ALL ".join(selects), _params(grouping, project_id)):
        cells[(int(g), int(at))].add_peak(peak)


def add_stability(cells: Cells, grouping: Grouping, start: int, end: int, interval: int, project_id: int) -> None:
    """Per group: the sum of the error rates of its intervals with calls, and their number."""
    dirty = dirty_minutes(start, end)
    params = _params(grouping, project_id)
    if grouping.dim is not None and interval == 60:
        selects = []
        for piece in past_fine_retention(cover(start, end, (DAY, HOUR, MINUTE, SECOND), dirty), fine_cutoff()):
            if piece.level.seconds >= 3600:  # hours and days keep the sum of their minutes' rates
                selects.append(_select(grouping, piece, "sum(r.stab_sum), sum(r.stab_minutes)", "0"))
            elif piece.level is MINUTE:
                rates = _select(grouping, piece, "sum(r.errors::float8 / r.calls), count(*)", "0")
                selects.append(rates.replace(" GROUP BY", " AND r.calls > 0 GROUP BY"))
            else:  # seconds (an edge of the range, or a minute not rebuilt yet): pooled per minute
                inner = _select(grouping, piece, "sum(r.calls) AS c, sum(r.errors) AS e", _point(60, start))
                selects.append(f"SELECT x.g, 0, sum(x.e::float8 / x.c), count(*) FROM ({inner}) x GROUP BY 1")
        for g, _, rate_sum, intervals in _run(" UNION ALL ".join(selects), params):
            cell = cells[(int(g), start)]
            cell.stability_sum += float(rate_sum or 0)
            cell.stability_intervals += int(intervals or 0)
        return
    # Pool each interval's calls over the group's series, then average the rates. An
    # interval cut by a piece boundary is pooled across pieces; all of it in PostgreSQL,
    # which returns a row per group rather than per interval (43,000 of them over 30 days).
    pieces = past_fine_retention(cover(start, end, (MINUTE, SECOND), dirty), fine_cutoff())
    bare = Grouping(grouping.groups, grouping.series_ids, grouping.series_group, dim=None)
    sql = " UNION ALL ".join(
        _select(bare, p, "sum(r.calls) AS c, sum(r.errors) AS e", _point(interval, start)) for p in pieces
    )
    sql = (
        "SELECT g, sum(e::float8 / c), count(*) FROM "
        f"(SELECT x.g, sum(x.c) AS c, sum(x.e) AS e FROM ({sql}) x GROUP BY x.g, x.point) pooled "
        "WHERE c > 0 GROUP BY g"
    )
    for g, rate_sum, intervals in _run(sql, params):
        cell = cells[(int(g), start)]
        cell.stability_sum += float(rate_sum)
        cell.stability_intervals += int(intervals)
