"""A small per-process cache whose entries expire: for look-ups made on every ingest request.

Entries are read without a lock (a dict read is atomic); writers take one. Expired
entries are dropped when they are read and swept when the cache grows, so it never
holds more than its callers can put in one expiry period.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TimedCache(Generic[K, V]):
    def __init__(self, seconds: Callable[[], float], sweep_above: int = 10_000) -> None:
        # A callable, so a setting changed at run time (or by a test) applies at once.
        self._seconds = seconds
        self._sweep_above = sweep_above
        self._entries: dict[K, tuple[V, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            with self._lock:
                self._entries.pop(key, None)
            return None
        return entry[0]

    def put(self, key: K, value: V) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self._sweep_above:
                self._entries = {k: e for k, e in self._entries.items() if e[1] > now}
            self._entries[key] = (value, now + self._seconds())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
