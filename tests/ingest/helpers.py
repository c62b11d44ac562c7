"""Reading back what ingest stored, straight from the raw store."""

from __future__ import annotations

from typing import Any

from django.db import connection

from monitor.store.raw import COLUMN_NAMES


def stored_rows(project_id: int) -> list[dict[str, Any]]:
    """Every raw row of a project with its series' names, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {", ".join("r." + c for c in COLUMN_NAMES)}, s.service, t.name, m.name, s.deployment
            FROM raw_records r
            JOIN store_ingestbatch b ON b.id = r.batch_id
            JOIN catalogue_series s ON s.id = r.series_id
            JOIN catalogue_tier t ON t.id = s.tier_id
            JOIN catalogue_modelversion m ON m.id = s.model_id
            WHERE b.project_id = %s
            ORDER BY r.ts_us, r.batch_id
            """,
            [project_id],
        )
        names = [*COLUMN_NAMES, "service", "tier", "model", "deployment"]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def counts(project_id: int) -> dict[str, int]:
    """Raw rows, batches and series a project holds: all zero after a rejected first batch."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM raw_records r JOIN store_ingestbatch b ON b.id = r.batch_id
                WHERE b.project_id = %s),
              (SELECT count(*) FROM store_ingestbatch WHERE project_id = %s),
              (SELECT count(*) FROM catalogue_series WHERE project_id = %s)
            """,
            [project_id, project_id, project_id],
        )
        rows, batches, series = cursor.fetchone()
    return {"rows": rows, "batches": batches, "series": series}
