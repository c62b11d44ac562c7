"""Which series a query covers, which group each one falls in, and which group rollups answer it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection

from monitor.rollups.kinds import group_rows_since
from monitor.rollups.levels import KIND_OF, Dim, group_value

from .query import Query


@dataclass(frozen=True)
class Group:
    labels: dict[str, str]
    value: str  # its key in the group rollups, when the grouping has them


@dataclass(frozen=True)
class Grouping:
    groups: list[Group]
    series_ids: list[int]
    series_group: list[int]  # the group index of each series, aligned with series_ids
    # Set when every group is "all the project's series with these values of the kind's
    # dimensions": the group rollups then answer every figure, peak QPS and stability too.
    kind: Dim | None

    @property
    def empty(self) -> bool:
        return not self.series_ids


def group_kind(query: Query, models_under_one_tier: bool) -> Dim | None:
    """The kind of group rollups whose groups are exactly this query's groups, if any.

    Every dimension grouped by or filtered on is fixed within a group, unless it is
    filtered on several values without being grouped by. Where every model concerned is
    called under one tier only, a model fixes its tier, so the tier drops out.
    """
    named = set(query.group_by) | set(query.filters)
    spread = {name for name, values in query.filters.items() if name not in query.group_by and len(values) > 1}
    if models_under_one_tier and {"tier", "model"} <= named:
        named.discard("tier")
        spread.discard("tier")
    if spread:
        return None
    return KIND_OF.get(frozenset(named))


_COLUMN = {"tier": "t.name", "model": "m.name", "service": "s.service", "deployment": "s.deployment"}


def resolve(query: Query) -> Grouping:
    where = ["s.project_id = %s"]
    params: list[Any] = [query.project_id]
    for name, values in query.filters.items():
        where.append(f"{_COLUMN[name]} = ANY(%s)")
        params.append(list(values))
    with connection.cursor() as cursor:
        # split_models: the model is called under another tier somewhere in the project.
        cursor.execute(
            f"""
            SELECT s.id, t.name, m.name, s.service, s.deployment, s.tier_id, s.model_id,
              EXISTS (SELECT 1 FROM catalogue_series o WHERE o.model_id = s.model_id AND o.tier_id <> s.tier_id)
            FROM catalogue_series s
            JOIN catalogue_tier t ON t.id = s.tier_id
            JOIN catalogue_modelversion m ON m.id = s.model_id
            WHERE {" AND ".join(where)}
            ORDER BY s.id
            """,
            params,
        )
        rows = cursor.fetchall()
    kind = group_kind(query, models_under_one_tier=not any(row[7] for row in rows))
    if kind is not None and query.window.start < group_rows_since(kind):
        kind = None  # a kind newer than some of the window's rollups: sum the series
    groups: list[Group] = []
    index_of: dict[tuple[str, ...], int] = {}
    series_ids: list[int] = []
    series_group: list[int] = []
    for sid, tier, model, service, deployment, tier_id, model_id, _ in rows:
        names = {"tier": tier, "model": model, "service": service, "deployment": deployment}
        key = tuple(names[d] for d in query.group_by)
        if key not in index_of:
            keys = {"tier": str(tier_id), "model": str(model_id), "service": service, "deployment": deployment}
            value = group_value({d: keys[d] for d in kind.dimensions}) if kind is not None else ""
            index_of[key] = len(groups)
            groups.append(Group(labels=dict(zip(query.group_by, key, strict=True)), value=value))
        series_ids.append(sid)
        series_group.append(index_of[key])
    return Grouping(groups=groups, series_ids=series_ids, series_group=series_group, kind=kind)
