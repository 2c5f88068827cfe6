"""A leaky bucket of query-cost points per client, in Django's cache (Shopify's model).

A request takes its requested cost up front and is refused with THROTTLED (HTTP 429,
`Retry-After`) when the bucket has not that much room; after execution the difference between
requested and actual cost is given back.

Whose bucket an operation draws from is the client's (schema/client.py): its API key's, else
the signed-in user's, else its address's.

Buckets are sized for a storefront, and by whose bucket it is:

- an API key or a signed-in user is one client: GRAPHQL_THROTTLE_BUCKET_SIZE points (10,000,
  ten catalog pages of 50) restoring at GRAPHQL_THROTTLE_RESTORE_RATE per second (500, a page
  every two seconds, more than a person browses);
- an address is everyone anonymous behind it (a household, an office's NAT, a mobile carrier's
  gateway): GRAPHQL_THROTTLE_ADDRESS_BUCKET_SIZE (20,000) restoring at
  GRAPHQL_THROTTLE_ADDRESS_RESTORE_RATE (1,000/s, a catalog page a second, sustained).

Abuse is refused by the per-query limits (schema/cost.py) first; the bucket bounds the rate.

Atomicity: with Redis (REDIS_URL set, Django's RedisCache) each take/refund is one Lua script,
so every process and server shares one bucket per client without races. With any other cache
backend a process-wide lock makes the read-modify-write atomic within the process; that is
exact for LocMemCache (which is per process anyway) but not across processes for shared
backends such as memcached or the database cache: use Redis in production.

Time comes from an injectable clock (seconds as a float), so tests can drive refills.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed

from schema.client import ADDRESS_PREFIX
from schema.errors import DependencyOutage

if TYPE_CHECKING:
    from schema.errors import RequestRefused

logger = logging.getLogger("vitrine.throttle")

BUCKET_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'available', 'at')
local available = tonumber(state[1])
local at = tonumber(state[2])
if available == nil or at == nil then
  available = capacity
  at = now
end
if now > at then
  available = math.min(capacity, available + (now - at) * rate)
  at = now
end
local allowed = 1
if cost > available then
  allowed = 0
else
  available = math.min(capacity, available - cost)
end
redis.call('HSET', KEYS[1], 'available', tostring(available), 'at', tostring(at))
redis.call('EXPIRE', KEYS[1], ttl)
return {allowed, tostring(available)}
"""


@dataclass(frozen=True)
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "maximumAvailable": _whole(self.maximum_available),
            "currentlyAvailable": _number(self.currently_available),
            "restoreRate": _whole(self.restore_rate),
        }


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: ThrottleStatus
    retry_after: int  # whole seconds until the cost fits; 0 when allowed


def _whole(value: float) -> float | int:
    return int(value) if value == int(value) else value


def _number(value: float) -> float | int:
    """Whole numbers as ints in responses; fractions kept to one decimal."""
    rounded = math.floor(value * 10) / 10
    return int(rounded) if rounded == int(rounded) else rounded


class LeakyBucket:
    def __init__(
        self,
        cache: Any = None,
        *,
        capacity: float,
        restore_rate: float,
        clock: Callable[[], float] = time.time,
        prefix: str = "vitrine:throttle:",
    ) -> None:
        self.cache = cache if cache is not None else caches[settings.GRAPHQL_THROTTLE_CACHE]
        self.capacity = float(capacity)
        self.restore_rate = float(restore_rate)
        self.clock = clock
        self.prefix = prefix
        # Long enough for an empty bucket to fill up again; after that a missing key is full.
        self.ttl = int(self.capacity / self.restore_rate) + 60 if self.restore_rate else 86400
        self._redis = _redis_client(self.cache)
        # Its cache's outages, as this bucket sees them: logged once, probed once a second.
        self.outage = DependencyOutage(
            logger,
            "Throttle unavailable (the cache failed: %s): requests are not throttled until "
            "it is back.",
            "Throttle restored: the cache answers again.",
        )

    # -- Public API ---------------------------------------------------------------------

    def take(self, identity: str, cost: float) -> Decision:
        """Take `cost` points if they fit; a refused take takes nothing."""
        allowed, available = self._apply(identity, max(cost, 0.0))
        status = self._status(available)
        retry_after = 0
        if not allowed:
            missing = cost - available
            retry_after = (
                max(1, math.ceil(missing / self.restore_rate)) if self.restore_rate else 3600
            )
        return Decision(allowed, status, retry_after)

    def refund(self, identity: str, points: float) -> ThrottleStatus:
        """Give back points (never above the bucket size)."""
        _, available = self._apply(identity, -max(points, 0.0))
        return self._status(available)

    def peek(self, identity: str) -> ThrottleStatus:
        _, available = self._apply(identity, 0.0)
        return self._status(available)

    # -- Storage ------------------------------------------------------------------------

    def _status(self, available: float) -> ThrottleStatus:
        return ThrottleStatus(self.capacity, available, self.restore_rate)

    def _apply(self, identity: str, cost: float) -> tuple[bool, float]:
        key = self.cache.make_and_validate_key(self.prefix + identity)
        now = self.clock()
        redis = self._redis
        if redis is not None:
            return self._apply_redis(redis, key, now, cost)
        with _local_lock:
            state = self.cache.get(key)
            available, at = state if state else (self.capacity, now)
            if now > at:
                available = min(self.capacity, available + (now - at) * self.restore_rate)
                at = now
            allowed = cost <= available
            if allowed:
                available = min(self.capacity, available - cost)
            self.cache.set(key, (available, at), self.ttl)
        return allowed, available

    def _apply_redis(self, redis: tuple[Any, Any], key: str, now: float, cost: float
                     ) -> tuple[bool, float]:
        client, script = redis
        allowed, available = script(
            keys=[key],
            args=[repr(self.capacity), repr(self.restore_rate), repr(now), repr(cost), self.ttl],
            client=client,
        )
        return int(allowed) == 1, float(available)


_local_lock = threading.Lock()


def _redis_client(cache: Any) -> tuple[Any, Any] | None:
    """(redis client, registered script) when `cache` is Django's RedisCache, else None."""
    from django.core.cache.backends.redis import RedisCache

    if not isinstance(cache, RedisCache):
        return None
    client = cache._cache.get_client(write=True)
    return client, client.register_script(BUCKET_SCRIPT)


_buckets: dict[bool, LeakyBucket] = {}


def get_bucket(identity: str) -> LeakyBucket:
    """The process's bucket for this kind of client (an address, or one client), built from
    settings and rebuilt when a setting changes."""
    is_address = identity.startswith(ADDRESS_PREFIX)
    bucket = _buckets.get(is_address)
    if bucket is None:
        if is_address:
            capacity = settings.GRAPHQL_THROTTLE_ADDRESS_BUCKET_SIZE
            restore_rate = settings.GRAPHQL_THROTTLE_ADDRESS_RESTORE_RATE
        else:
            capacity = settings.GRAPHQL_THROTTLE_BUCKET_SIZE
            restore_rate = settings.GRAPHQL_THROTTLE_RESTORE_RATE
        bucket = _buckets[is_address] = LeakyBucket(capacity=capacity, restore_rate=restore_rate)
    return bucket


def _reset(**kwargs: Any) -> None:
    _buckets.clear()


setting_changed.connect(_reset, dispatch_uid="vitrine.throttle.reset")

def take_points(identity: str, requested: int) -> tuple[LeakyBucket, Decision] | None:
    """Take `requested` points from `identity`'s bucket: the throttle step of every entry
    point (HTTP view, websocket operations); see `refusal` for a decision that said no.

    None when throttling is off, or when the cache is unreachable: an outage of Redis must
    not take the API down with it (fail open, logged once per outage, probed once a second).
    """
    if not settings.GRAPHQL_THROTTLE_ENABLED:
        return None
    try:
        bucket = get_bucket(identity)
    except Exception:  # its cache cannot even be set up: unthrottled, as for an outage
        logger.warning("Throttle unavailable; request not throttled.", exc_info=True)
        return None
    if bucket.outage.skip():
        return None
    try:
        taken = bucket, bucket.take(identity, requested)
    except Exception as error:
        bucket.outage.failed(error)
        return None
    bucket.outage.recovered()
    return taken


def refusal(requested: int, decision: Decision) -> RequestRefused:
    """The THROTTLED error (HTTP 429 with Retry-After) for a refused decision."""
    from schema import errors

    return errors.RequestRefused(
        errors.THROTTLED,
        f"Throttled: this query needs {requested} points; retry in {decision.retry_after} s.",
        retryAfter=decision.retry_after,
    ).with_http_status(429, **{"Retry-After": str(decision.retry_after)})
