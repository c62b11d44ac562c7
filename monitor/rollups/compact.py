"""Bring a project's minute, hour and day rollups up to date with the level below.

Each call does one step for one project and one UTC day, in one short transaction:
rebuild the day's stale minutes (marking their hours), or else its stale hours
whose minutes are all clean (marking the day), or else the day itself (``rebuild.py``
holds the statements, ``stale.py`` the marks). Until a bucket is rebuilt, readers
read the level below inside it, so nothing waits on this for correctness: it keeps
queries cheap.

A project's day is compacted by one worker at a time (an advisory lock per project
and day, tried, never waited for), so several workers share a backfill's days, and
other projects go on meanwhile. Marks are not locked while a day is rebuilt: a
rollup that touches a minute meanwhile bumps its mark's ``touches``, and the mark is
deleted only if ``touches`` is still what was read before the rebuild
(``stale.clear``), so the change keeps its minute stale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from . import stale
from .claim import pending
from .levels import DAY, HOUR, MINUTE, Level
from .locks import COMPACT_LOCK, REROLL_LOCK
from .rebuild import rebuild

# A minute still filling up would be rebuilt again and again: wait until it is over.
GRACE_S = 5
# A minute touched in the last SETTLE_S waits for more. While its project still has
# history batches to roll up (a backfill under way), a minute more than LIVE_S old waits
# until they are done, so it is rebuilt once rather than after every claim; but never
# longer than MAX_WAIT_S after it was first marked.
SETTLE_S = 2
LIVE_S = 600
MAX_WAIT_S = 120
_UP = {MINUTE: HOUR, HOUR: DAY}


@dataclass(frozen=True)
class Step:
    level: Level | None  # None: nothing to do
    buckets: int


_NOTHING = Step(None, 0)


def _minute_due(grace_s: int, backfilling: bool, alias: str = "") -> tuple[str, list[int]]:
    """SQL true for a minute mark that is over and, unless ``grace_s`` is 0, has settled."""
    a = f"{alias}." if alias else ""
    now = int(time.time())
    if grace_s == 0:
        return f"{a}bucket <= %s", [now - 60]
    settled = f"{a}touched_at <= now() - make_interval(secs => %s)"
    if backfilling:
        settled += f" AND {a}bucket >= %s"
    return (
        f"{a}bucket <= %s AND (({settled}) OR {a}first_at <= now() - make_interval(secs => %s))",
        [now - grace_s - 60, SETTLE_S, *([now - LIVE_S] if backfilling else []), MAX_WAIT_S],
    )


def _backfilling(cursor: CursorWrapper, project_id: int) -> bool:
    """Whether the project has history batches waiting to be rolled up."""
    cursor.execute(
        f"SELECT 1 FROM store_ingestbatch WHERE live = false AND project_id = %s AND {pending()} LIMIT 1", [project_id]
    )
    return cursor.fetchone() is not None


def _days_due(cursor: CursorWrapper, project_id: int, grace_s: int, backfilling: bool) -> list[int]:
    """Starts of the project's days with marks ready, newest first (the live day first)."""
    due, params = _minute_due(grace_s, backfilling)
    cursor.execute(
        f"SELECT DISTINCT bucket - bucket %% 86400 AS day FROM {stale.STALE_TABLE} "
        f"WHERE project_id = %s AND (level_s > 60 OR ({due})) ORDER BY day DESC",
        [project_id, *params],
    )
    return [int(row[0]) for row in cursor.fetchall()]


def _marks(
    cursor: CursorWrapper, project_id: int, day: int, level: Level, grace_s: int, backfilling: bool
) -> list[tuple[int, int]]:
    """(bucket, touches) of the day's marks of ``level`` that are due, with nothing finer stale inside."""
    due, params = _minute_due(grace_s, backfilling, "t") if level is MINUTE else ("true", list[int]())
    cursor.execute(
        f"""
        SELECT t.bucket, t.touches FROM {stale.STALE_TABLE} t
        WHERE t.project_id = %s AND t.level_s = %s AND t.bucket >= %s AND t.bucket < %s AND {due}
          AND NOT EXISTS (SELECT 1 FROM {stale.STALE_TABLE} f WHERE f.project_id = t.project_id
                          AND f.bucket >= t.bucket AND f.bucket < t.bucket + %s AND f.level_s < t.level_s)
        ORDER BY t.bucket DESC
        """,
        [project_id, level.seconds, day, day + DAY.seconds, *params, level.seconds],
    )
    return [(int(b), int(n)) for b, n in cursor.fetchall()]


def _day_lock(project_id: int, day: int) -> int:
    """One advisory lock key (a bigint) per project and day: 16 bits of space, 28 of project, 20 of day."""
    return (COMPACT_LOCK << 48) | ((project_id & 0xFFF_FFFF) << 20) | (day // DAY.seconds & 0xF_FFFF)


def compact_step(project_id: int, grace_s: int = GRACE_S) -> Step:
    """Rebuild the finest stale level of one of the project's days nobody else is compacting."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [REROLL_LOCK, project_id])
        backfilling = _backfilling(cursor, project_id)
        for day in _days_due(cursor, project_id, grace_s, backfilling):
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_day_lock(project_id, day)])
            if not cursor.fetchone()[0]:
                continue  # another worker is at it
            for level in (MINUTE, HOUR, DAY):
                seen = _marks(cursor, project_id, day, level, grace_s, backfilling)
                if not seen:
                    continue
                buckets = [bucket for bucket, _ in seen]
                rebuild(cursor, project_id, level, buckets)
                if level in _UP:
                    up = _UP[level]
                    stale.mark(cursor, project_id, up, list({b - b % up.seconds for b in buckets}))
                stale.clear(cursor, project_id, level, seen)
                return Step(level, len(buckets))
    return _NOTHING


def projects_with_stale_marks() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE p AS (
              (SELECT project_id FROM {stale.STALE_TABLE} ORDER BY project_id LIMIT 1)
              UNION ALL
              SELECT (SELECT project_id FROM {stale.STALE_TABLE} WHERE project_id > p.project_id
                      ORDER BY project_id LIMIT 1) FROM p WHERE p.project_id IS NOT NULL
            )
            SELECT project_id FROM p WHERE project_id IS NOT NULL
            """
        )
        return [int(row[0]) for row in cursor.fetchall()]


def compact_pending(time_budget_s: float = 10.0, grace_s: int = GRACE_S) -> int:
    """Compact every project in turn (each a step at a time) until none has work or the budget is spent."""
    deadline = time.monotonic() + time_budget_s
    done = 0
    while time.monotonic() < deadline:
        progressed = False
        for project_id in projects_with_stale_marks():
            step = compact_step(project_id, grace_s)
            if step.level is not None:
                done += step.buckets
                progressed = True
            if time.monotonic() >= deadline:
                break
        if not progressed:
            break
    return done
