"""Stale marks: which rollup buckets of a project do not yet reflect the level below.

A mark ``(project, bucket, level_s)`` says that the project's rollup rows of that
level and bucket are out of date. Rollups write per-second rows and mark the
minutes they touched (``level_s`` 60); the compactor rebuilds a minute from its
seconds and marks its hour (3600), rebuilds an hour from its minutes and marks its
day (86,400), and rebuilds a day from its hours.

A row of level L and bucket b is **clean** when no mark of level ≤ L lies in
[b, b + L): every mark under it is a change it does not hold yet. Readers use a
bucket's own row only when it is clean, and read the level below inside it
otherwise (``monitor.metrics.plan``), so a query counts every call rolled up so
far whatever the state of the compaction.

Rollups bump a minute mark's ``touches``; the compactor deletes a mark only if
``touches`` is still what it read before rebuilding, so a change that landed after
its read keeps the mark (``compact.py``).
"""

from __future__ import annotations

from django.db.backends.utils import CursorWrapper

from .levels import DAY, HOUR, MINUTE, Level

STALE_TABLE = "rollup_stale"


def clean_sql(level: Level, bucket: str, project: str = "%(project)s") -> str:
    """SQL true when the project's row of ``level`` at ``bucket`` (an SQL expression) is clean."""
    return (
        f"NOT EXISTS (SELECT 1 FROM {STALE_TABLE} st WHERE st.project_id = {project} "
        f"AND st.bucket >= {bucket} AND st.bucket < {bucket} + {level.seconds} AND st.level_s <= {level.seconds})"
    )


def stale_buckets_sql(level: Level, low: int, high: int, project: str = "%(project)s") -> str:
    """SELECT the starts (as ``b``) of the project's buckets of ``level`` in [low, high) that are not clean."""
    size = level.seconds
    return (
        f"SELECT DISTINCT st.bucket - st.bucket %% {size} AS b FROM {STALE_TABLE} st "
        f"WHERE st.project_id = {project} AND st.level_s <= {size} AND st.bucket >= {low} AND st.bucket < {high}"
    )


def mark(cursor: CursorWrapper, project_id: int, level: Level, buckets: list[int]) -> None:
    """Mark these buckets of ``level`` stale (the compactor's marks: hours and days)."""
    assert level in (MINUTE, HOUR, DAY)
    cursor.execute(
        f"""
        INSERT INTO {STALE_TABLE} AS t (project_id, bucket, level_s, touches, first_at, touched_at)
        SELECT %s, b, %s, 1, now(), now() FROM unnest(%s::bigint[]) AS b ORDER BY b
        ON CONFLICT (project_id, bucket, level_s) DO UPDATE SET touches = t.touches + 1, touched_at = now()
        """,
        [project_id, level.seconds, sorted(buckets)],
    )


def clear(cursor: CursorWrapper, project_id: int, level: Level, seen: list[tuple[int, int]]) -> None:
    """Delete marks of ``level`` whose ``touches`` are still as seen: (bucket, touches) pairs."""
    cursor.execute(
        f"""
        DELETE FROM {STALE_TABLE} t USING unnest(%s::bigint[], %s::bigint[]) AS s(bucket, touches)
        WHERE t.project_id = %s AND t.level_s = %s AND t.bucket = s.bucket AND t.touches = s.touches
        """,
        [[b for b, _ in seen], [n for _, n in seen], project_id, level.seconds],
    )
