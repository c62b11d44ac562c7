"""The raw record table: its columns, in the order rows are written with COPY."""

from __future__ import annotations

from typing import Any

from django.db import connection

RAW_TABLE = "raw_records"

# 8-byte columns first, then 4-byte ones, then text: no alignment padding.
RAW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ts_us", "bigint NOT NULL"),  # when the call finished, Unix microseconds (UTC)
    ("batch_id", "bigint NOT NULL"),  # store_ingestbatch.id
    ("latency_ms", "double precision NOT NULL"),  # a summary's mean
    ("ttft_ms", "double precision"),  # a summary's mean
    ("tokens_in", "bigint"),
    ("tokens_out", "bigint"),
    ("reasoning_tokens", "bigint"),
    ("cost_nano", "bigint"),  # exact cost in 1e-9 of the project's currency
    ("energy_wh", "double precision"),
    ("series_id", "integer NOT NULL"),  # catalogue_series.id
    ("calls", "integer NOT NULL"),  # 1 for an event, `count` for a window summary
    ("errors", "integer NOT NULL"),
    ("cache_hits", "integer"),
    ("window_s", "integer"),  # NULL for a single call
    ("error_type", "text"),
)
COLUMN_NAMES = tuple(name for name, _ in RAW_COLUMNS)
# PostgreSQL type names, for binary COPY.
COLUMN_TYPES = tuple(
    {"bigint": "int8", "integer": "int4", "double precision": "float8", "text": "text"}[decl.removesuffix(" NOT NULL")]
    for _, decl in RAW_COLUMNS
)


def batch_rows(batch_id: int, min_ts_us: int, max_ts_us: int, limit: int = 100) -> list[dict[str, Any]]:
    """The first rows of a batch, for the admin; not a query path for metrics.

    ``min_ts_us`` / ``max_ts_us`` are the batch's own bounds (``IngestBatch``): with
    them PostgreSQL scans only the daily partitions the batch wrote to. No ORDER BY:
    there is no index on ``batch_id``, so the scan stops as soon as it has ``limit`` rows.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(COLUMN_NAMES)} FROM {RAW_TABLE} "
            "WHERE batch_id = %s AND ts_us BETWEEN %s AND %s LIMIT %s",
            [batch_id, min_ts_us, max_ts_us, limit],
        )
        return [dict(zip(COLUMN_NAMES, row, strict=True)) for row in cursor.fetchall()]
