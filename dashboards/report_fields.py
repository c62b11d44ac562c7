"""The report's figures as the dashboards' tables show them: a column and where the value is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .tables import Column


@dataclass(frozen=True)
class ReportField:
    column: Column
    path: tuple[str, ...]  # keys into a report row (monitor.metrics.engine.report)

    def of(self, row: Mapping[str, Any] | None) -> Any:
        value: Any = row
        for key in self.path:
            if value is None:
                return None
            value = value[key]
        return value


FIELDS: dict[str, ReportField] = {
    "requests": ReportField(Column("Requests", "int"), ("requests",)),
    "errors": ReportField(Column("Errors", "int"), ("errors",)),
    "error_rate": ReportField(Column("Error rate", "ratio"), ("error_rate",)),
    "latency_p50": ReportField(Column("Latency p50", "ms"), ("latency_ms", "p50")),
    "latency_p95": ReportField(Column("Latency p95", "ms"), ("latency_ms", "p95")),
    "latency_p99": ReportField(Column("Latency p99", "ms"), ("latency_ms", "p99")),
    "ttft_p95": ReportField(Column("TTFT p95", "ms"), ("ttft_ms", "p95")),
    "peak_qps": ReportField(Column("Peak QPS", "qps"), ("peak_qps",)),
    "stability": ReportField(Column("Stability", "ratio"), ("stability",)),
    "tokens_out_per_s": ReportField(Column("Output tokens/s", "tokens"), ("tokens_out_per_s",)),
    "cost_per_call": ReportField(Column("Cost per call", "money"), ("cost_per_call",)),
    "total_cost": ReportField(Column("Total cost", "money"), ("total_cost",)),
}


def columns(names: Sequence[str]) -> list[Column]:
    return [FIELDS[name].column for name in names]


def cells(row: Mapping[str, Any], names: Sequence[str]) -> list[Any]:
    return [FIELDS[name].of(row) for name in names]
