"""Per-key ingest rate limit (INGEST_RATE_LIMIT records/s), shared by all web processes.

A token bucket in Redis holding one second of allowance. A batch is admitted
while the bucket is not in debt and may overdraw it, so a batch larger than
one second's allowance still gets through; the debt then delays the next ones.
"""

from __future__ import annotations

import math
from functools import lru_cache

import redis
from django.conf import settings

from monitor.api.errors import ApiError

_SCRIPT = """
local rate = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
-- Redis's clock, not each web host's: hosts' clocks may disagree.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or rate
local at = tonumber(state[2]) or now
tokens = math.min(rate, tokens + (now - at) * rate)
if tokens < 0 then
  redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
  redis.call('EXPIRE', KEYS[1], 3600)
  return tostring(-tokens / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens - cost, 'at', now)
redis.call('EXPIRE', KEYS[1], 3600)
return '0'
"""


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def admit(key_id: int, records: int) -> None:
    """Raise a 429 when the key is over its rate; a no-op when the limit is off."""
    rate = settings.INGEST_RATE_LIMIT
    if rate <= 0:
        return
    try:
        wait = float(_client().eval(_SCRIPT, 1, f"tw:ratelimit:{key_id}", rate, records))
    except redis.RedisError:
        raise ApiError(
            503, "The rate limiter (Redis) is unreachable; retry later.", headers={"Retry-After": "5"}
        ) from None
    if wait > 0:
        raise ApiError(
            429,
            f"This key is over its ingest rate of {rate:,} records per second; retry later.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
