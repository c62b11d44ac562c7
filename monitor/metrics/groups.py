"""Which series a query covers, and which group each one falls in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection

from monitor.rollups.levels import Dim

from .query import Query

_COLUMN = {"tier": "t.name", "model": "m.name", "service": "s.service", "deployment": "s.deployment"}
_DIM = {"tier": Dim.TIER, "model": Dim.MODEL, "service": Dim.SERVICE, "deployment": Dim.DEPLOYMENT}


@dataclass(frozen=True)
class Group:
    labels: dict[str, str]
    value: str  # its key in the per-group rollups, when the grouping has them


@dataclass(frozen=True)
class Grouping:
    groups: list[Group]
    series_ids: list[int]
    series_group: list[int]  # the group index of each series, aligned with series_ids
    # Set when every group is "all series with one value of one dimension": then
    # the per-group rollups answer peak QPS and stability directly.
    dim: Dim | None

    @property
    def empty(self) -> bool:
        return not self.series_ids


def single_dimension(query: Query) -> str | None:
    """The dimension whose per-group rollups match this grouping, if there is one."""
    named = set(query.group_by) | set(query.filters)
    if not named:
        return "all"
    if len(named) != 1:
        return None
    (dim,) = named
    if dim in query.group_by or len(query.filters[dim]) == 1:
        return dim
    return None


def resolve(query: Query) -> Grouping:
    where = ["s.project_id = %s"]
    params: list[Any] = [query.project_id]
    for name, values in query.filters.items():
        where.append(f"{_COLUMN[name]} = ANY(%s)")
        params.append(list(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.id, t.name, m.name, s.service, s.deployment, s.tier_id, s.model_id
            FROM catalogue_series s
            JOIN catalogue_tier t ON t.id = s.tier_id
            JOIN catalogue_modelversion m ON m.id = s.model_id
            WHERE {" AND ".join(where)}
            ORDER BY s.id
            """,
            params,
        )
        rows = cursor.fetchall()
    dim_name = single_dimension(query)
    groups: list[Group] = []
    index_of: dict[tuple[str, ...], int] = {}
    series_ids: list[int] = []
    series_group: list[int] = []
    for sid, tier, model, service, deployment, tier_id, model_id in rows:
        names = {"tier": tier, "model": model, "service": service, "deployment": deployment}
        key = tuple(names[d] for d in query.group_by)
        if key not in index_of:
            value = {
                "all": "",
                "tier": str(tier_id),
                "model": str(model_id),
                "service": service,
                "deployment": deployment,
                None: "",
            }[dim_name]
            index_of[key] = len(groups)
            groups.append(Group(labels=dict(zip(query.group_by, key, strict=True)), value=value))
        series_ids.append(sid)
        series_group.append(index_of[key])
    dim = None if dim_name is None else (Dim.ALL if dim_name == "all" else _DIM[dim_name])
    return Grouping(groups=groups, series_ids=series_ids, series_group=series_group, dim=dim)
