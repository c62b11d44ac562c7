"""Resolve a bearer key to its project and scope, through a short in-process cache.

Every ingest request authenticates, so the lookup must cost microseconds: the
key's SHA-256 is compared with the stored one, and a lookup is cached for
API_KEY_CACHE_SECONDS (a revoked key stops working within that time).
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from monitor.projects.models import KEY_PREFIX_LENGTH, ApiKey, hash_key

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


_cache: dict[str, tuple[KeyPrincipal | None, float]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _load(prefix: str) -> KeyPrincipal | None:
    row = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if row is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=row.pk).update(last_used_at=now)
    return KeyPrincipal(key_id=row.pk, project_id=row.project_id, scope=row.scope, key_hash=row.key_hash)


def resolve_key(plain: str) -> KeyPrincipal | None:
    """The principal for a plain key, or None if it is malformed, unknown or revoked."""
    if not plain.startswith("tw_") or len(plain) < 3 + KEY_PREFIX_LENGTH + 16:
        return None
    prefix = plain[3 : 3 + KEY_PREFIX_LENGTH]
    now = time.monotonic()
    cached = _cache.get(prefix)
    if cached is not None and cached[1] > now:
        principal = cached[0]
    else:
        principal = _load(prefix)
        with _lock:
            _cache[prefix] = (principal, now + settings.API_KEY_CACHE_SECONDS)
    if principal is None or not hmac.compare_digest(principal.key_hash, hash_key(plain)):
        return None
    return principal
