"""Celery tasks of the rollup pipeline.

Ingest kicks ``roll_up`` when a batch commits; beat runs it every few seconds as the
safety net (a kick lost with a broker outage, a worker that died mid-task). Both are
safe to run any number of times at once: work is claimed from the outbox table.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

import redis
from celery import shared_task
from django.conf import settings

from .claim import GATHER_PAUSE_S, MAX_BATCHES, MAX_RECORDS, Claimed, roll_up_once, roll_up_pending
from .compact import compact_pending
from .retention import drop_expired_second_partitions, ensure_second_partitions

log = logging.getLogger(__name__)

# While a kick is this fresh, further commits do not queue another task: one
# running task drains everything committed before it finishes.
KICK_DEBOUNCE_MS = 200


@lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)


def kick() -> None:
    """Ask a worker to roll up now. Called on commit of an ingest batch; never raises."""
    try:
        if _redis().set("tw:rollup:kick", 1, nx=True, px=KICK_DEBOUNCE_MS):
            roll_up.delay()
    except Exception as exc:  # the batch is safe in the outbox; beat will get to it
        log.warning("could not queue a rollup (%s); the beat safety net will", exc)


@shared_task(ignore_result=True)
def roll_up(time_budget_s: float = 10.0) -> dict[str, int]:
    first = roll_up_once()
    if first.batches >= MAX_BATCHES or first.records >= MAX_RECORDS:
        # A backlog: bring in another worker process now (it does the same, so every
        # idle worker joins in); a task that finds nothing to claim just ends.
        roll_up.delay(time_budget_s)
    rest = roll_up_pending(time_budget_s, GATHER_PAUSE_S)
    claimed = Claimed(first.batches + rest.batches, first.records + rest.records, first.calls + rest.calls)
    # A batch that committed while our kick was still fresh queued no task of its
    # own: look once more when that kick has expired.
    time.sleep(KICK_DEBOUNCE_MS / 1000 + 0.05)
    late = roll_up_pending(time_budget_s)
    minutes = compact_pending(time_budget_s)
    return {"batches": claimed.batches + late.batches, "records": claimed.records + late.records, "minutes": minutes}


@shared_task(ignore_result=True)
def maintain_rollups() -> dict[str, list[str]]:
    created = ensure_second_partitions()
    dropped = drop_expired_second_partitions()
    if created or dropped:
        log.info("per-second rollups: created %s, dropped %s", created, dropped)
    return {"created": created, "dropped": dropped}
