"""Which project a rollup worker serves next: live batches first, then history, round-robin.

Every round, each project with live batches (records from the last few minutes) gets
a claim; then one project's history gets one claim, and one project's stale
rollups one compaction step, each project in turn. A claim of history is about a
second at most, so a backfill, however large, delays nobody's live records by more
than that; and it gets every round's spare time.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable

from django.db import connection

from .claim import (
    DATA_ERRORS,
    NOTHING,
    PENDING,
    TRANSIENT_ERRORS,
    Claimed,
    pending,
    roll_up_project,
    set_aside_failing_batch,
)
from .compact import GRACE_S, compact_step, projects_with_stale_marks

log = logging.getLogger(__name__)

# A round this small means ingest is trickling in: wait a moment for more, since a
# statement's fixed cost is better spread over many batches (freshness allows it).
SMALL_CLAIM_BATCHES = 8
GATHER_PAUSE_S = 0.25

# One turn counter per queue: shared, two queues' calls per round could keep one of
# them always starting at the same project.
_turns = {"live": itertools.count(), "history": itertools.count(), "compact": itertools.count()}


def _rotated(ids: list[int], queue: str) -> list[int]:
    """``ids`` starting at the next one each call of this queue, so no project is always first."""
    if not ids:
        return ids
    start = next(_turns[queue]) % len(ids)
    return ids[start:] + ids[:start]


def projects_waiting(live: bool) -> list[int]:
    """Projects with pending live (or history) batches: a skip scan of the outbox's queue index."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE p AS (
              (SELECT project_id FROM store_ingestbatch WHERE live = %(live)s AND {PENDING}
               ORDER BY project_id LIMIT 1)
              UNION ALL
              SELECT (SELECT b.project_id FROM store_ingestbatch b
                      WHERE b.live = %(live)s AND {pending("b")}
                        AND b.project_id > p.project_id ORDER BY b.project_id LIMIT 1)
              FROM p WHERE p.project_id IS NOT NULL
            )
            SELECT project_id FROM p WHERE project_id IS NOT NULL
            """,
            {"live": live},
        )
        return [int(row[0]) for row in cursor.fetchall()]


def _claim_safely(project_id: int, live: bool) -> Claimed:
    try:
        return roll_up_project(project_id, live)
    except DATA_ERRORS as exc:
        # A batch whose data the database refuses would fail every claim that holds it,
        # and claims take the oldest first: find it and set it aside.
        if set_aside_failing_batch(project_id, live, exc) is not None:
            return Claimed(0, 0, 0, set_aside=1)
    except TRANSIENT_ERRORS as exc:
        # A deadlock, or the database went away: nothing was counted (the transaction
        # rolled back), so trying again is safe.
        log.warning("rollup of project %s retried after %s", project_id, exc)
        time.sleep(0.1)
    return NOTHING


def roll_up_live() -> Claimed:
    """One claim of live batches for every project that has some."""
    total = NOTHING
    for project_id in _rotated(projects_waiting(live=True), "live"):
        total += _claim_safely(project_id, live=True)
    return total


def roll_up_history() -> Claimed:
    """One claim of history for the next project that has some."""
    projects = _rotated(projects_waiting(live=False), "history")
    return _claim_safely(projects[0], live=False) if projects else NOTHING


def compact_next(grace_s: int = GRACE_S) -> int:
    """One compaction step for the next project with stale rollups that nobody is compacting."""
    for project_id in _rotated(projects_with_stale_marks(), "compact"):
        try:
            step = compact_step(project_id, grace_s)
        except TRANSIENT_ERRORS as exc:
            log.warning("compaction of project %s retried after %s", project_id, exc)
            continue
        if step.level is not None:
            return step.buckets
    return 0


def work(
    time_budget_s: float = 10.0,
    *,
    gather_pause_s: float = 0.0,
    grace_s: int = GRACE_S,
    compact: bool = True,
    on_backlog: Callable[[], None] | None = None,
) -> Claimed:
    """Rounds of live claims, a history claim and a compaction step, until nothing is left or
    the budget is spent. ``on_backlog`` is called once if history is waiting (to bring in
    another worker)."""
    deadline = time.monotonic() + time_budget_s
    total = NOTHING
    called = False
    while time.monotonic() < deadline:
        live = roll_up_live()
        history = roll_up_history()
        if history.batches and on_backlog and not called:
            on_backlog()
            called = True
        rebuilt = compact_next(grace_s) if compact else 0
        total += live + history
        if not (live.progressed or history.progressed or rebuilt):
            break
        if not history.batches and not rebuilt and live.batches < SMALL_CLAIM_BATCHES and gather_pause_s:
            time.sleep(gather_pause_s)
    return total


def roll_up_pending(time_budget_s: float = 10.0) -> Claimed:
    """Roll up every project's pending batches (live and history), without compacting."""
    return work(time_budget_s, compact=False)
