"""From which bucket on each group kind has rollups of its own (``rollup_group_kind``).

A kind added after data was rolled up (the pairs, migration 0003) has rows only for
buckets built after it: earlier buckets are summed from their series by the readers.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection

from .levels import Dim


@lru_cache(maxsize=1)
def _since() -> dict[int, int]:
    # Written once by the migration, so a process reads it once.
    with connection.cursor() as cursor:
        cursor.execute("SELECT dim, rows_since FROM rollup_group_kind")
        return {int(dim): int(since) for dim, since in cursor.fetchall()}


def group_rows_since(kind: Dim) -> int:
    """The first second whose buckets have rows of this kind, at every level."""
    return _since().get(int(kind), 0)


def clear_cache() -> None:
    _since.cache_clear()
