"""Overview: live tiles per tier, the range's charts, and a table per tier."""

from __future__ import annotations

import math
import time
from typing import Any

from monitor.metrics.definitions import qps
from monitor.metrics.engine import report, timeseries
from monitor.metrics.query import Window
from monitor.metrics.results import ReportRow

from ..charts import cost_chart, error_rate_chart, percentile_chart, qps_chart
from ..common import ProjectPage, rated_qps
from ..report_fields import cells, columns
from ..state import LIVE_WINDOW_S
from ..tables import Column, Table, show


def live_tiles(page: ProjectPage) -> list[dict[str, Any]]:
    """Per tier, the last five minutes (whatever range the charts show)."""
    end = math.floor(time.time())
    window = Window(end - LIVE_WINDOW_S, end)
    rows = report(page.state.query(page.project.pk, window=window, group_by=("tier",)))
    tiles = []
    for row in rows:
        tiles.append(
            {
                "tier": row["labels"]["tier"],
                "href": page.url("detail", tier=row["labels"]["tier"]),
                "values": [
                    ("p95 latency", show("ms", row["latency_ms"]["p95"])),
                    ("p95 TTFT", show("ms", row["ttft_ms"]["p95"])),
                    ("QPS", show("qps", qps(row["requests"], window.seconds))),
                    ("Error rate", show("ratio", row["error_rate"])),
                    ("Stability", show("ratio", row["stability"])),
                    ("Cost per call", show("money", row["cost_per_call"])),
                ],
            }
        )
    return tiles


TIER_FIELDS = ("requests", "errors", "error_rate", "latency_p50", "latency_p95", "latency_p99", "ttft_p95",
               "peak_qps", "stability", "cost_per_call", "total_cost")  # fmt: skip


def tier_table(rows: list[ReportRow]) -> Table:
    table = Table("tiers", "Per tier over the range", [Column("Tier"), *columns(TIER_FIELDS)])
    for row in rows:
        table.rows.append([row["labels"]["tier"], *cells(row, TIER_FIELDS)])
    return table


def overview(page: ProjectPage) -> dict[str, Any]:
    pid = page.project.pk
    query = page.state.query(pid, group_by=("tier",))
    series = [] if page.exporting else timeseries(query)
    charts = {}
    if series:
        charts = {
            "latency": percentile_chart(series, "latency_ms", "Latency percentiles (p95; p50 and p99 in the legend)"),
            "ttft": percentile_chart(series, "ttft_ms", "Time to first token (p95; p50 and p99 in the legend)"),
            "qps": qps_chart(series, rated_qps(page.project)),
            "errors": error_rate_chart(series),
            "cost": cost_chart(series, page.project.currency),
        }
    return {
        "tiles": [] if page.exporting else live_tiles(page),
        "charts": charts,
        "tables": [tier_table(report(query))],
    }
