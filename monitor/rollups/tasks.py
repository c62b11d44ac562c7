"""Celery tasks of the rollup pipeline.

Ingest kicks ``roll_up`` when a batch commits; beat runs it every few seconds as the
safety net (a kick lost with a broker outage, a worker that died mid-task). Both are
safe to run any number of times at once: work is claimed from the outbox table and
the stale marks, per project (``schedule.py``).
"""

from __future__ import annotations

import logging
from functools import lru_cache

import redis
from celery import shared_task
from django.conf import settings

from .retention import drop_expired_second_partitions, ensure_second_partitions
from .schedule import GATHER_PAUSE_S, work

log = logging.getLogger(__name__)

# Set while a kicked task waits in the queue: further commits need not queue another,
# since that task drains everything committed before it starts. It expires in case
# the queued task is lost (the beat safety net covers the gap).
QUEUED_FLAG = "tw:rollup:queued"
QUEUED_TTL_S = 30


@lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)


def kick() -> None:
    """Ask a worker to roll up now. Called on commit of an ingest batch; never raises."""
    try:
        if _redis().set(QUEUED_FLAG, 1, nx=True, ex=QUEUED_TTL_S):
            roll_up.apply_async(expires=QUEUED_TTL_S)
    except Exception as exc:  # the batch is safe in the outbox; beat will get to it
        log.warning("could not queue a rollup (%s); the beat safety net will", exc)


def _unflag() -> None:
    # From here on, a commit queues a new task: this one may already be past its batch.
    try:
        _redis().delete(QUEUED_FLAG)
    except Exception as exc:
        log.warning("could not clear the rollup queued flag (%s); it expires in %s s", exc, QUEUED_TTL_S)


@shared_task(ignore_result=True)
def roll_up(time_budget_s: float = 10.0) -> dict[str, int]:
    _unflag()

    def bring_in_another_worker() -> None:
        # A backlog: another worker process joins now (it does the same, so every idle
        # worker joins in); a task that finds nothing to claim just ends.
        roll_up.apply_async((time_budget_s,), expires=QUEUED_TTL_S)

    done = work(time_budget_s, gather_pause_s=GATHER_PAUSE_S, on_backlog=bring_in_another_worker)
    return {"batches": done.batches, "records": done.records}


@shared_task(ignore_result=True)
def maintain_rollups() -> dict[str, list[str]]:
    created = ensure_second_partitions()
    dropped = drop_expired_second_partitions()
    if created or dropped:
        log.info("per-second rollups: created %s, dropped %s", created, dropped)
    return {"created": created, "dropped": dropped}
