"""Resolve a bearer key to its project and scope, through a short in-process cache.

Every ingest request authenticates, so the lookup must cost microseconds: the
key's SHA-256 is compared with the stored one, and a lookup is cached for
API_KEY_CACHE_SECONDS (a revoked key stops working within that time).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from monitor.projects.models import KEY_PREFIX_LENGTH, ApiKey, hash_key
from monitor.timedcache import TimedCache

# last_used_at is a hint for operators, not an audit log: write it at most this often.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class KeyPrincipal:
    """The identity of a request made with an API key (DRF's ``request.user``)."""

    key_id: int
    project_id: int
    scope: str
    key_hash: str

    is_authenticated = True
    is_anonymous = False

    def has_scope(self, *scopes: str) -> bool:
        return self.scope in scopes


# What ApiKey.issue makes (lower-case letters and digits): anything else is no key, without a query.
_PREFIX = re.compile(f"[a-z0-9]{{{KEY_PREFIX_LENGTH}}}")

_cache: TimedCache[str, KeyPrincipal] = TimedCache(lambda: settings.API_KEY_CACHE_SECONDS)


def clear_cache() -> None:
    _cache.clear()


def _load(prefix: str) -> tuple[KeyPrincipal, datetime | None] | None:
    row = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if row is None:
        return None
    principal = KeyPrincipal(key_id=row.pk, project_id=row.project_id, scope=row.scope, key_hash=row.key_hash)
    return principal, row.last_used_at


def _touch(principal: KeyPrincipal, last_used_at: datetime | None) -> None:
    now = timezone.now()
    if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=principal.key_id).update(last_used_at=now)


def resolve_key(plain: str) -> KeyPrincipal | None:
    """The principal for a plain key, or None if it is malformed, unknown or revoked."""
    if not plain.startswith("tw_") or len(plain) < 3 + KEY_PREFIX_LENGTH + 16:
        return None
    prefix = plain[3 : 3 + KEY_PREFIX_LENGTH]
    cached = _cache.get(prefix)
    if cached is not None:
        return cached if hmac.compare_digest(cached.key_hash, hash_key(plain)) else None
    if not _PREFIX.fullmatch(prefix):
        return None  # e.g. a NUL byte, which PostgreSQL could not even compare
    loaded = _load(prefix)
    if loaded is None:
        # Unknown prefixes are not cached: made-up keys must not grow the cache.
        return None
    principal, last_used_at = loaded
    if not hmac.compare_digest(principal.key_hash, hash_key(plain)):
        return None
    _touch(principal, last_used_at)  # only for the real key, never for a guess at it
    _cache.put(prefix, principal)
    return principal
