"""The rollup rows a query reads, as a fixed set of SQL branches whatever the compaction state.

For every level of a plan there are at most two regions: its ``pieces`` of the static
cover, and the buckets ``within`` the coarser levels' span whose coarser bucket is
stale (found in SQL from ``rollup_stale``). In both, a row is read only while it is
clean itself: a stale row's buckets are read at the level below in its turn. Seconds
are never stale. So the SQL is a handful of branches with a few constants whether
ten buckets are stale or ten thousand, and a query counts every call rolled up so far.

A branch reads a group kind's own rows where the grouping has them (``Grouping.kind``),
except minutes before ``group_minute_cutoff`` (no group minute rows are kept there) and
seconds; else the series' rows, each series mapped to its group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from monitor.rollups.levels import MINUTE, SECOND, Level
from monitor.rollups.rebuild import group_minute_cutoff
from monitor.rollups.stale import clean_sql, stale_buckets_sql

from .groups import Grouping
from .plan import Plan, Span

Source = Literal["group", "series"]


@dataclass(frozen=True)
class Branch:
    level: Level
    source: Source
    region: Literal["pieces", "stale"]
    # Buckets limited to [low, high): the group minute cutoff, the per-second retention.
    low: int | None = None
    high: int | None = None
    # Map rows to their group by position in the (short) parameter arrays, not by a join.
    lookup: bool = False

    @property
    def table(self) -> str:
        return self.level.group_table if self.source == "group" else self.level.series_table


def params(grouping: Grouping, project_id: int) -> dict[str, Any]:
    """The parameters every branch takes: a few arrays as long as the project's series."""
    return {
        "series": grouping.series_ids,
        "groups": grouping.series_group,
        "project": project_id,
        "dim": int(grouping.kind) if grouping.kind is not None else -1,
        "values": [group.value for group in grouping.groups],
        "indexes": list(range(len(grouping.groups))),
    }


# Up to this many series, a row finds its group by array_position (a short scan in C per
# row); a join instead is planned as a nested loop over every row times every series
# whenever row estimates are low, as a backfill's fresh stale marks make them.
LOOKUP_MAX = 256


def branches(grouping: Grouping, plan: Plan, now: float | None = None) -> list[Branch]:
    cutoff = group_minute_cutoff(now)
    lookup = len(grouping.series_ids) <= LOOKUP_MAX
    out: list[Branch] = []
    for level in plan.levels:
        regions: list[Literal["pieces", "stale"]] = []
        if plan.pieces[level]:
            regions.append("pieces")
        if plan.within[level] is not None and plan.coarser(level) is not None:
            regions.append("stale")
        for region in regions:
            if grouping.kind is None or level is SECOND:
                out.append(Branch(level, "series", region, lookup=lookup))
            elif level is MINUTE:
                out.append(Branch(level, "group", region, low=cutoff, lookup=lookup))
                out.append(Branch(level, "series", region, high=cutoff, lookup=lookup))
            else:
                out.append(Branch(level, "group", region, lookup=lookup))
    return out


def _span_sql(spans: list[Span], column: str = "r.bucket") -> str:
    return "(" + " OR ".join(f"({column} >= {s.start} AND {column} < {s.end})" for s in spans) + ")"


def _inside_stale(parent: Level, within: Span, table: str, conditions: list[str]) -> str:
    """The rows of ``table`` meeting ``conditions`` inside the project's stale buckets of
    ``parent`` in ``within``, as ``r``: one index range scan per run of consecutive stale
    buckets.

    A backfill leaves whole days stale, a live project a few scattered minutes: runs
    ("islands": a bucket minus its rank is the same along a run) make the first a scan
    per day and the second a scan per minute, without knowing which case it is. A LATERAL
    subquery fenced by ``OFFSET 0`` keeps that shape whatever the planner's row estimates
    (a backfill's fresh marks have no statistics yet): joined as a plain range, it would
    rescan every row of the span once per stale bucket.
    """
    size = parent.seconds
    stale = stale_buckets_sql(parent, within.start, within.end)
    runs = (
        f"SELECT min(b) AS lo, max(b) + {size} AS hi FROM "
        f"(SELECT b, b - {size} * row_number() OVER (ORDER BY b) AS run FROM ({stale}) AS s) AS n GROUP BY run"
    )
    return (
        f"({runs}) AS p CROSS JOIN LATERAL (SELECT * FROM {table} r WHERE {' AND '.join(conditions)} "
        f"AND r.bucket >= p.lo AND r.bucket < p.hi OFFSET 0) AS r"
    )


def _owner(branch: Branch) -> tuple[str, str]:
    """The join that maps a branch's rows to their group index ``m.g``, and the rows it owns."""
    if branch.source == "group":
        owner = "r.project_id = %(project)s AND r.dim = %(dim)s AND r.value = ANY(%(values)s::text[])"
        if branch.lookup:
            position = "(%(indexes)s::int[])[array_position(%(values)s::text[], r.value)]"
            return f"CROSS JOIN LATERAL (SELECT {position} AS g) AS m", owner
        return "JOIN unnest(%(values)s::text[], %(indexes)s::int[]) AS m(value, g) USING (value)", owner
    owner = "r.series_id = ANY(%(series)s::int[])"
    if branch.lookup:
        position = "(%(groups)s::int[])[array_position(%(series)s::int[], r.series_id)]"
        return f"CROSS JOIN LATERAL (SELECT {position} AS g) AS m", owner
    return "JOIN unnest(%(series)s::int[], %(groups)s::int[]) AS m(series_id, g) USING (series_id)", owner


def _rows(branch: Branch, plan: Plan, table: str, conditions: list[str]) -> tuple[str, list[str]]:
    """The FROM item of a branch's region, and the conditions left for its WHERE."""
    if branch.region == "pieces":
        return f"{table} r", [*conditions, _span_sql(plan.pieces[branch.level])]
    parent = plan.coarser(branch.level)
    within = plan.within[branch.level]
    assert parent is not None and within is not None
    return _inside_stale(parent, within, table, conditions), ["TRUE"]


def from_where(branch: Branch, plan: Plan, extra_join: str = "") -> str:
    """``FROM <rows> r`` mapped to their group index ``m.g``, and the WHERE that picks them."""
    level = branch.level
    mapping, owner = _owner(branch)
    conditions = [owner]
    if branch.low is not None:
        conditions.append(f"r.bucket >= {branch.low}")
    if branch.high is not None:
        conditions.append(f"r.bucket < {branch.high}")
    rows, where = _rows(branch, plan, branch.table, conditions)
    if level is not SECOND:
        where.append(clean_sql(level, "r.bucket"))
    return f"FROM {rows} {mapping} {extra_join} WHERE {' AND '.join(where)}"


def point_sql(step: int | None, start: int, column: str = "r.bucket") -> str:
    """The start of the step bucket a row falls in (the window's start for a report).

    A minute widened past the per-second retention may start before the first bucket:
    it counts in the first one.
    """
    if not step:
        return str(start)
    return f"greatest({column} - {column} %% {step}, {start - start % step})"


def seconds_from_where(branch: Branch, plan: Plan, low: int) -> str:
    """The series' seconds under a coarser series branch's rows, from ``low`` on (the per-second
    retention). Peak QPS reads them: the busiest second of a sum is exact only from seconds.
    Seconds read twice cannot change a maximum, so the region need not be clean."""
    mapping, owner = _owner(Branch(SECOND, "series", branch.region, lookup=branch.lookup))
    conditions = [owner, f"r.bucket >= {low}"]
    if branch.high is not None:
        conditions.append(f"r.bucket < {branch.high}")
    rows, where = _rows(branch, plan, SECOND.series_table, conditions)
    return f"FROM {rows} {mapping} WHERE {' AND '.join(where)}"
