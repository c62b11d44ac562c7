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
from monitor.rollups.stale import STALE_TABLE, clean_sql

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


def branches(grouping: Grouping, plan: Plan, now: float | None = None) -> list[Branch]:
    cutoff = group_minute_cutoff(now)
    out: list[Branch] = []
    for level in plan.levels:
        regions: list[Literal["pieces", "stale"]] = []
        if plan.pieces[level]:
            regions.append("pieces")
        if plan.within[level] is not None and plan.coarser(level) is not None:
            regions.append("stale")
        for region in regions:
            if grouping.kind is None or level is SECOND:
                out.append(Branch(level, "series", region))
            elif level is MINUTE:
                out.append(Branch(level, "group", region, low=cutoff))
                out.append(Branch(level, "series", region, high=cutoff))
            else:
                out.append(Branch(level, "group", region))
    return out


def _span_sql(spans: list[Span], column: str = "r.bucket") -> str:
    return "(" + " OR ".join(f"({column} >= {s.start} AND {column} < {s.end})" for s in spans) + ")"


def _inside_stale(parent: Level, within: Span) -> str:
    """JOIN the project's stale buckets of ``parent`` in ``within``: rows inside one of them."""
    size = parent.seconds
    return (
        f" JOIN (SELECT DISTINCT st.bucket - st.bucket %% {size} AS b FROM {STALE_TABLE} st "
        f"WHERE st.project_id = %(project)s AND st.level_s <= {size} "
        f"AND st.bucket >= {within.start} AND st.bucket < {within.end}) AS p "
        f"ON r.bucket >= p.b AND r.bucket < p.b + {size}"
    )


def from_where(branch: Branch, plan: Plan, extra_join: str = "") -> str:
    """``FROM <rows> r`` mapped to their group index ``m.g``, and the WHERE that picks them."""
    level = branch.level
    if branch.source == "group":
        rows = f"{branch.table} r JOIN unnest(%(values)s::text[], %(indexes)s::int[]) AS m(value, g) USING (value)"
        owner = "r.project_id = %(project)s AND r.dim = %(dim)s AND r.value = ANY(%(values)s::text[])"
    else:
        rows = (
            f"{branch.table} r JOIN unnest(%(series)s::int[], %(groups)s::int[]) AS m(series_id, g) USING (series_id)"
        )
        owner = "r.series_id = ANY(%(series)s::int[])"
    conditions = [owner]
    if branch.region == "pieces":
        conditions.append(_span_sql(plan.pieces[level]))
    else:
        parent = plan.coarser(level)
        within = plan.within[level]
        assert parent is not None and within is not None
        rows += _inside_stale(parent, within)
    if branch.low is not None:
        conditions.append(f"r.bucket >= {branch.low}")
    if branch.high is not None:
        conditions.append(f"r.bucket < {branch.high}")
    if level is not SECOND:
        conditions.append(clean_sql(level, "r.bucket"))
    return f"FROM {rows} {extra_join} WHERE {' AND '.join(conditions)}"


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
    level = branch.level
    rows = (
        f"{SECOND.series_table} r JOIN unnest(%(series)s::int[], %(groups)s::int[]) AS m(series_id, g) "
        "USING (series_id)"
    )
    conditions = ["r.series_id = ANY(%(series)s::int[])", f"r.bucket >= {low}"]
    if branch.high is not None:
        conditions.append(f"r.bucket < {branch.high}")
    if branch.region == "pieces":
        conditions.append(_span_sql(plan.pieces[level]))
    else:
        parent = plan.coarser(level)
        within = plan.within[level]
        assert parent is not None and within is not None
        rows += _inside_stale(parent, within)
    return f"FROM {rows} WHERE {' AND '.join(conditions)}"
