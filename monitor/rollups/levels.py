"""The rollup resolutions and the group dimensions that have their own rollups."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


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
    """Group rollups exist per value of each single dimension (and for the whole project).

    Peak QPS and stability are not additive across series (the peak of a sum is not
    the sum of peaks), so groups by one dimension get rollups of their own.
    """

    ALL = 0
    TIER = 1
    MODEL = 2
    SERVICE = 3
    DEPLOYMENT = 4


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
