"""Shared fixtures: named users (an owner, a teammate, an outsider), projects and keys.

The suite runs against real PostgreSQL and Redis: `make test` starts throw-away
embedded ones, or uses those DATABASE_URL / REDIS_URL name.
"""

from __future__ import annotations

import gzip as gzip_module
import os
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from django.contrib.auth.models import User
from django.test import Client

from monitor.api import keys as key_cache
from monitor.catalogue import series
from monitor.ingest import backlog, pricing
from monitor.projects.models import ApiKey, Membership, Project
from monitor.projects.services import create_project
from monitor.rollups import kinds

if not os.environ.get("DATABASE_URL"):
    raise pytest.UsageError("Run the tests with `make test` (it starts PostgreSQL and Redis) or set DATABASE_URL.")


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # The production hasher is slow on purpose; these are throw-away test users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    # Rolled-back test transactions leave ids behind that caches must not keep.
    key_cache.clear_cache()
    series.clear_cache()
    pricing.clear_cache()
    backlog.clear_cache()
    kinds.clear_cache()
    yield
    kinds.clear_cache()
    key_cache.clear_cache()
    series.clear_cache()
    pricing.clear_cache()


@pytest.fixture
def owner(db: Any) -> User:
    return User.objects.create_user("olivia", password="owner-pass-123")


@pytest.fixture
def teammate(db: Any) -> User:
    return User.objects.create_user("tom", password="teammate-pass-123")


@pytest.fixture
def outsider(db: Any) -> User:
    return User.objects.create_user("oscar", password="outsider-pass-123")


@pytest.fixture
def project(owner: User, teammate: User) -> Project:
    made = create_project("acme", owner.username)
    Membership.objects.create(project=made, user=teammate, role=Membership.Role.MEMBER)
    return made


@pytest.fixture
def other_project(outsider: User) -> Project:
    return create_project("globex", outsider.username)


def issue_key(project: Project, scope: str = "ingest") -> str:
    return ApiKey.issue(project, scope)[1]


@pytest.fixture
def ingest_key(project: Project) -> str:
    return issue_key(project, "ingest")


def record(**overrides: Any) -> dict[str, Any]:
    """A valid single-call record, finished a moment ago."""
    base: dict[str, Any] = {"ts": time.time() - 1, "service": "support-bot", "tier": "4o", "latency_ms": 420.5}
    base.update(overrides)
    return base


def post_records(
    client: Client,
    key: str | None,
    records: list[dict[str, Any]] | None = None,
    *,
    body: bytes | None = None,
    gzip: bool = False,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Any:
    data = body if body is not None else orjson.dumps({"records": records})
    extra: dict[str, str] = dict(headers or {})
    if gzip:
        data = gzip_module.compress(data)
        extra["Content-Encoding"] = "gzip"
    if key is not None:
        extra["Authorization"] = f"Bearer {key}"
    return client.post("/api/v1/records", data=data, content_type=content_type, headers=extra)


def roll_up_everything() -> None:
    """What the workers do: count pending batches, then rebuild the minutes, hours and days."""
    from monitor.rollups.compact import compact_pending
    from monitor.rollups.schedule import roll_up_pending

    roll_up_pending()
    compact_pending(grace_s=0)


def resolve_ref(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local OpenAPI ``$ref`` (``#/components/...``) if there is one."""
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node
