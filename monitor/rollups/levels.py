"""The rollup resolutions and the group dimensions that have their own rollups."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .sketch import PERCENTILES


@dataclass(frozen=True)
class Level:
    name: str
    seconds: int

    @property
    def series_table(self) -> str:
        return f"rollup_series_{self.name}"

    @property
    def group_table(self) -> str:
        return f"rollup_group_{self.name}"


SECOND = Level("1s", 1)
MINUTE = Level("1m", 60)
HOUR = Level("1h", 3600)
DAY = Level("1d", 86_400)
LEVELS = (SECOND, MINUTE, HOUR, DAY)


class Dim(IntEnum):
    """A kind of group with rollups of its own: the whole project, one dimension, or a pair.

    Peak QPS and stability are not additive across series (the peak of a sum is not
    the sum of peaks), so the groups a page or an SLO asks for get rollups of their own:
    by one dimension (a page grouped by tier), or by a tier or model and a service or
    deployment (a page grouped by tier and filtered on one service; an SLO on
    ``tier=o3, service=chat``). A tier × model group is its model's group wherever a
    model is called under one tier only (the query layer checks). Each kind costs
    every record a share of every rebuild, so kinds no page asks for are left out:
    such groupings are summed from the series. Codes 0-4 predate the pairs.
    """

    ALL = 0
    TIER = 1
    MODEL = 2
    SERVICE = 3
    DEPLOYMENT = 4
    TIER_SERVICE = 5
    TIER_DEPLOYMENT = 6
    MODEL_SERVICE = 7
    MODEL_DEPLOYMENT = 8

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The dimensions a group of this kind fixes, in DIMENSIONS order."""
        return _DIMENSIONS_OF[self]


DIMENSIONS = ("tier", "model", "service", "deployment")
_DIMENSIONS_OF = {
    Dim.ALL: (),
    Dim.TIER: ("tier",),
    Dim.MODEL: ("model",),
    Dim.SERVICE: ("service",),
    Dim.DEPLOYMENT: ("deployment",),
    Dim.TIER_SERVICE: ("tier", "service"),
    Dim.TIER_DEPLOYMENT: ("tier", "deployment"),
    Dim.MODEL_SERVICE: ("model", "service"),
    Dim.MODEL_DEPLOYMENT: ("model", "deployment"),
}
KIND_OF = {frozenset(dims): kind for kind, dims in _DIMENSIONS_OF.items()}
# Names cannot hold control characters (ingest refuses them), so this joins a pair's values.
VALUE_SEPARATOR = "\x1f"
# The SQL expression of each dimension's value in a group key, over catalogue_series s.
_VALUE_SQL = {
    "tier": "s.tier_id::text",
    "model": "s.model_id::text",
    "service": "s.service",
    "deployment": "s.deployment",
}


def group_value(values: dict[str, str]) -> str:
    """The key of a group in the group rollups: its dimensions' values (ids for tier and model), joined."""
    return VALUE_SEPARATOR.join(values[name] for name in DIMENSIONS if name in values)


def group_keys_sql() -> str:
    """A VALUES list of (dim, value) for every group a series ``s`` belongs to, for a LATERAL join."""
    rows = []
    for kind, dims in _DIMENSIONS_OF.items():
        value = " || chr(31) || ".join(_VALUE_SQL[d] for d in dims) if dims else "''::text"
        rows.append(f"({int(kind)}::smallint, {value})")
    return "(VALUES " + ", ".join(rows) + ")"


# Columns added up when rollups merge (in the per-series tables).
ADDITIVE = (
    "calls",
    "errors",
    "latency_sum",
    "ttft_calls",
    "ttft_sum",
    "tokens_in",
    "tokens_in_calls",
    "tokens_out",
    "tokens_out_calls",
    "reasoning_tokens",
    "cost_nano",
    "cost_calls",
    "cache_hits",
    "cache_calls",
    "energy_wh",
    "energy_calls",
)

_FLOAT_COLUMNS = {"latency_sum", "ttft_sum", "energy_wh"}
# Sums a single record can push past 2^63 (costs, token counts): kept exact as numeric.
_NUMERIC_COLUMNS = {"tokens_in", "tokens_out", "reasoning_tokens", "cost_nano"}


def sql_type(column: str) -> str:
    if column in _FLOAT_COLUMNS:
        return "double precision"
    return "numeric" if column in _NUMERIC_COLUMNS else "bigint"


# A group row's own percentiles (NULL on series rows), in PERCENTILES order, latency then TTFT.
QUANTILE_COLUMNS = tuple(f"{sketch}_{name}" for sketch in ("lat", "ttft") for name in PERCENTILES)
