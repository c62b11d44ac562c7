"""The series registry: (service, tier, model, deployment) to series ids, new ones registered on first sight.

Ids come from a per-process cache, so a batch of known series costs no query.
A miss reloads the project's series (another process may have made them) and
registers what is still missing inside the caller's transaction (ingest's batch),
under the project's series limit; the cache learns the new ids only once that commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from monitor.timedcache import TimedCache

SeriesKey = tuple[str, str, str, str]  # service, tier, model, deployment


@dataclass(frozen=True)
class SeriesRef:
    id: int
    tier_id: int
    model_id: int


class SeriesLimitExceeded(Exception):
    """Registering the new series would take the project over its series limit; nothing was registered."""

    def __init__(self, limit: int, present: int, adding: int) -> None:
        super().__init__(f"series limit of {limit:,} exceeded")
        self.limit = limit
        self.present = present
        self.adding = adding


# Reloaded now and then, so a tier or model renamed in the admin is seen by every process.
SERIES_CACHE_SECONDS = 60.0
_cache: TimedCache[int, dict[SeriesKey, SeriesRef]] = TimedCache(lambda: SERIES_CACHE_SECONDS)


def clear_cache() -> None:
    _cache.clear()


def _load_project(project_id: int) -> dict[SeriesKey, SeriesRef]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.id, s.service, t.name, m.name, s.deployment, s.tier_id, s.model_id
            FROM catalogue_series s
            JOIN catalogue_tier t ON t.id = s.tier_id
            JOIN catalogue_modelversion m ON m.id = s.model_id
            WHERE s.project_id = %s
            """,
            [project_id],
        )
        return {(r[1], r[2], r[3], r[4]): SeriesRef(r[0], r[5], r[6]) for r in cursor.fetchall()}


def _remember(project_id: int, found: dict[SeriesKey, SeriesRef]) -> None:
    known = _cache.get(project_id)
    _cache.put(project_id, {**known, **found} if known else found)


def resolve_series(project_id: int, keys: Iterable[SeriesKey]) -> dict[SeriesKey, SeriesRef]:
    """Ids for every key; must run inside the caller's transaction. SeriesLimitExceeded when
    the new ones would take the project over its limit."""
    wanted = set(keys)
    known = _cache.get(project_id) or {}
    if wanted.issubset(known):
        return {key: known[key] for key in wanted}
    loaded = _load_project(project_id)
    _cache.put(project_id, loaded)
    missing = wanted - loaded.keys()
    if missing:
        registered = _register(project_id, missing)
        transaction.on_commit(lambda: _remember(project_id, registered))
        loaded = {**loaded, **registered}
    return {key: loaded[key] for key in wanted}


def _register(project_id: int, missing: set[SeriesKey]) -> dict[SeriesKey, SeriesRef]:
    with connection.cursor() as cursor:
        # One registrar per project at a time, so the series limit holds under concurrency.
        # NO KEY UPDATE: it must not conflict with the key-share locks that concurrent
        # batches hold on the project row through their foreign keys.
        cursor.execute("SELECT series_limit FROM projects_project WHERE id = %s FOR NO KEY UPDATE", [project_id])
        (limit,) = cursor.fetchone()
        present = _load_project(project_id)  # may have grown while we waited for the lock
        still_missing = sorted(missing - present.keys())
        if len(present) + len(still_missing) > limit:
            raise SeriesLimitExceeded(limit, len(present), len(still_missing))
        tier_ids = _ensure_names(
            cursor, "catalogue_tier", project_id, {key[1] for key in still_missing}, extra_columns={}
        )
        model_ids: dict[str, int] = {}
        for key in still_missing:
            model = key[2]
            if model not in model_ids:
                model_ids.update(
                    _ensure_names(
                        cursor,
                        "catalogue_modelversion",
                        project_id,
                        {model},
                        extra_columns={"tier_id": tier_ids[key[1]], "lifecycle": "active"},
                    )
                )
        registered: dict[SeriesKey, SeriesRef] = {}
        for service, tier, model, deployment in still_missing:
            cursor.execute(
                """
                INSERT INTO catalogue_series (project_id, service, tier_id, model_id, deployment, created_at)
                VALUES (%s, %s, %s, %s, %s, now())
                ON CONFLICT (project_id, service, tier_id, model_id, deployment) DO NOTHING
                RETURNING id
                """,
                [project_id, service, tier_ids[tier], model_ids[model], deployment],
            )
            row = cursor.fetchone()
            if row is None:  # made by a concurrent batch a moment ago
                cursor.execute(
                    """SELECT id FROM catalogue_series WHERE project_id = %s AND service = %s
                       AND tier_id = %s AND model_id = %s AND deployment = %s""",
                    [project_id, service, tier_ids[tier], model_ids[model], deployment],
                )
                row = cursor.fetchone()
            registered[(service, tier, model, deployment)] = SeriesRef(row[0], tier_ids[tier], model_ids[model])
        return {**present, **registered}


def _ensure_names(
    cursor: object, table: str, project_id: int, names: set[str], *, extra_columns: dict[str, object]
) -> dict[str, int]:
    """Ids of the named catalogue rows, creating the ones that do not exist yet."""
    columns = ["project_id", "name", "created_at", *extra_columns]
    placeholders = ", ".join(["%s", "%s", "now()"] + ["%s"] * len(extra_columns))
    ids: dict[str, int] = {}
    for name in sorted(names):
        cursor.execute(  # type: ignore[attr-defined]
            f"""
            INSERT INTO {table} ({", ".join(columns)}) VALUES ({placeholders})
            ON CONFLICT (project_id, name) DO NOTHING
            """,
            [project_id, name, *extra_columns.values()],
        )
        cursor.execute(f"SELECT id FROM {table} WHERE project_id = %s AND name = %s", [project_id, name])  # type: ignore[attr-defined]
        ids[name] = cursor.fetchone()[0]  # type: ignore[attr-defined]
    return ids
