"""Read the rollups for a query: one statement per kind of figure, over the plan's branches.

Each statement is a UNION ALL of ``sources.branches`` (a fixed handful) and returns rows
per (group, point); ``point`` is the start of the step bucket a rollup row falls in, or
the window's start for a report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from django.db import connection

from monitor.rollups.levels import ADDITIVE, DAY, HOUR, MINUTE, QUANTILE_COLUMNS, SECOND, sql_type

from .groups import Grouping
from .plan import Plan, fine_cutoff
from .plan import plan as make_plan
from .sources import Branch, branches, from_where, params, point_sql, seconds_from_where
from .totals import Totals

Key = tuple[int, int]  # (group index, point start)
Cells = defaultdict[Key, Totals]


def _whole(branch: Branch, step: int | None) -> bool:
    """Whether each of the branch's rows is a whole point: a group's own row at the step's level."""
    return bool(step) and branch.level.seconds == step and branch.source == "group"


def _run(sql: str, query_params: dict[str, Any]) -> list[tuple[Any, ...]]:
    if not sql:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, query_params)
        return list(cursor.fetchall())


def _union(selects: list[str]) -> str:
    return " UNION ALL ".join(selects)


class Reader:
    """The figures of one grouping over one plan, added into cells."""

    def __init__(self, grouping: Grouping, plan: Plan, step: int | None, start: int, project_id: int) -> None:
        self.grouping, self.plan, self.step, self.start = grouping, plan, step, start
        self.branches = branches(grouping, plan)
        self.params = params(grouping, project_id)

    def _point(self, column: str = "r.bucket") -> str:
        return point_sql(self.step, self.start, column)

    def _per_point(self, branch: Branch, as_stored: str, summed: str) -> str:
        """SELECT m.g, point, figures over one branch: rows that are whole points read as they
        are stored (no sort, no aggregate: a 24-hour chart by the minute is thousands of them),
        others ``summed`` per point."""
        if _whole(branch, self.step):
            return f"SELECT m.g, r.bucket, {as_stored} {from_where(branch, self.plan)}"
        return f"SELECT m.g, {self._point()}, {summed} {from_where(branch, self.plan)} GROUP BY 1, 2"

    def add_totals(self, cells: Cells, sums: Sequence[str] = ADDITIVE) -> None:
        """The ``sums`` (all of ADDITIVE by default) and latency_max per cell."""
        # sum() of bigint is numeric in PostgreSQL: cast back, so Python gets int and float.
        summed = ", ".join([*(f"sum(r.{c})::{sql_type(c)}" for c in sums), "max(r.latency_max)"])
        as_stored = ", ".join([*(f"r.{c}::{sql_type(c)}" for c in sums), "r.latency_max"])
        sql = _union([self._per_point(b, as_stored, summed) for b in self.branches])
        for g, point, *values in _run(sql, self.params):
            cells[(int(g), int(point))].add_sums(tuple(values), sums)

    def add_sketches(self, cells: Cells) -> None:
        """Latency and TTFT sketches per cell; a point that is exactly one group row reads that
        row's own percentiles instead (a 30-day chart by the hour merges nothing)."""
        whole = [b for b in self.branches if _whole(b, self.step)]
        merged = [b for b in self.branches if not _whole(b, self.step)]
        if whole:
            columns = ", ".join(f"r.{c}" for c in QUANTILE_COLUMNS)
            sql = _union([f"SELECT m.g, r.bucket, {columns} {from_where(b, self.plan)}" for b in whole])
            for g, point, *quantiles in _run(sql, self.params):
                cells[(int(g), int(point))].fix_percentiles(quantiles)
        if merged:
            bins = (
                "CROSS JOIN LATERAL (VALUES (0, r.lat_bins, r.lat_counts), (1, r.ttft_bins, r.ttft_counts)) "
                "AS k(kind, bins, counts) CROSS JOIN LATERAL unnest(k.bins, k.counts) AS u(b, c)"
            )
            sql = _union(
                [
                    f"SELECT m.g, {self._point()}, k.kind, u.b, sum(u.c)::bigint {from_where(b, self.plan, bins)} "
                    "GROUP BY 1, 2, 3, 4"
                    for b in merged
                ]
            )
            for g, point, kind, bin_index, count in _run(sql, self.params):
                cell = cells[(int(g), int(point))]
                (cell.latency_bins if kind == 0 else cell.ttft_bins)[int(bin_index)] += int(count)

    def add_peaks(self, cells: Cells) -> None:
        """The most calls in one second, summed over each group's series (the peak of the sum).

        Group rows know their peak. Series seconds are summed per group as they are read;
        a coarser series row stands for the seconds under it within the per-second
        retention, and before it each series' own peak per bucket is summed instead: an
        upper bound.
        """
        cutoff = fine_cutoff()
        # A bucket's calls (or peaks) summed over each group's series, then the busiest per point.
        per_bucket = "SELECT m.g, r.bucket AS point, {} AS s {} GROUP BY 1, 2"
        per_point = f"SELECT x.g, {self._point('x.point')}, max(x.s) FROM ({{}}) x GROUP BY 1, 2"
        selects = []
        for branch in self.branches:
            if branch.source == "group":
                selects.append(self._per_point(branch, "r.peak_calls", "max(r.peak_calls)"))
                continue
            if branch.level is SECOND:
                selects.append(per_point.format(per_bucket.format("sum(r.calls)", from_where(branch, self.plan))))
                continue
            if branch.high is None or branch.high > cutoff:
                seconds = seconds_from_where(branch, self.plan, max(cutoff, branch.low or cutoff))
                selects.append(per_point.format(per_bucket.format("sum(r.calls)", seconds)))
            if branch.low is None or branch.low < cutoff:
                old = replace(branch, high=min(branch.high or cutoff, cutoff))
                selects.append(per_point.format(per_bucket.format("sum(r.peak_calls)", from_where(old, self.plan))))
        for g, at, peak in _run(_union(selects), self.params):
            cells[(int(g), int(at))].add_peak(peak)


def add_stability(cells: Cells, grouping: Grouping, start: int, end: int, interval: int, project_id: int) -> None:
    """Per group: the sum of the error rates of its intervals with calls, and their number."""
    if grouping.kind is not None and interval == 60:
        _add_group_stability(cells, grouping, start, end, project_id)
        return
    # Pool each interval's calls over the group's series, then average the rates. An
    # interval cut by a piece boundary is pooled across pieces; all of it in PostgreSQL,
    # which returns a row per group rather than per interval (43,000 of them over 30 days).
    reader = Reader(grouping, make_plan(start, end, 60), interval, start, project_id)
    sql = _union(
        [
            f"SELECT m.g, {reader._point()} AS point, sum(r.calls) AS c, sum(r.errors) AS e "
            f"{from_where(b, reader.plan)} GROUP BY 1, 2"
            for b in reader.branches
        ]
    )
    sql = (
        "SELECT g, sum(e::float8 / c), count(*) FROM "
        f"(SELECT x.g, sum(x.c) AS c, sum(x.e) AS e FROM ({sql}) x GROUP BY x.g, x.point) pooled "
        "WHERE c > 0 GROUP BY g"
    )
    for g, rate_sum, intervals in _run(sql, reader.params):
        cell = cells[(int(g), start)]
        cell.stability_sum += float(rate_sum)
        cell.stability_intervals += int(intervals)


def _add_group_stability(cells: Cells, grouping: Grouping, start: int, end: int, project_id: int) -> None:
    """By the minute, from group rows: hours and days keep the sum of their minutes' pooled
    rates; a minute row is one; series minutes and seconds are pooled per minute."""
    reader = Reader(grouping, make_plan(start, end), None, start, project_id)
    selects = []
    for branch in reader.branches:
        where = from_where(branch, reader.plan)
        if branch.source == "group" and branch.level in (HOUR, DAY):
            selects.append(f"SELECT m.g, sum(r.stab_sum), sum(r.stab_minutes) {where} GROUP BY 1")
        elif branch.source == "group":
            selects.append(f"SELECT m.g, sum(r.errors::float8 / r.calls), count(*) {where} AND r.calls > 0 GROUP BY 1")
        else:
            minute = "r.bucket - r.bucket %% 60" if branch.level is SECOND else "r.bucket"
            selects.append(
                "SELECT x.g, sum(x.e::float8 / x.c), count(*) FROM "
                f"(SELECT m.g, {minute} AS minute, sum(r.calls) AS c, sum(r.errors) AS e {where} GROUP BY 1, 2) x "
                "WHERE x.c > 0 GROUP BY 1"
            )
    assert MINUTE in reader.plan.levels
    for g, rate_sum, intervals in _run(_union(selects), reader.params):
        cell = cells[(int(g), start)]
        cell.stability_sum += float(rate_sum or 0)
        cell.stability_intervals += int(intervals or 0)
