"""Failed authentications counted per account and per client address in Django's cache.

Two guards share the counts:

- sign-in (`tokenAuth`): once the account's or the address's failures reach their limit
  (settings AUTH_RATE_LIMIT_*), sign-in is refused with `RATE_LIMITED` until the window
  (counted from the first failure) passes, even with the right password, so guessing stays
  slow. A successful sign-in clears the account's count.
- every credential a transport authenticates (an API key, a JWT, a cookie; HTTP, websocket
  `connection_init`, SSE): `counting_failures` refuses an address over its limit with one
  cache read, before authentication runs any SQL, and counts a credential that fails.

The address is the client's as every transport sees it (schema/client.py), so twenty failed
websocket sign-ins lock out that address, not every socket.

When the cache (Redis) cannot be reached, both guards fail open: sign-in and authentication
go on unlimited, since refusing every sign-in for the length of a Redis outage would take
the API down with it, and failures are not counted meanwhile. The outage is logged once when
the first call fails and once when a call succeeds again (per process), not per request
(docs/operations.md, "When Redis is down").
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import cache

from accounts.auth import AuthenticationFailed
from schema.errors import DependencyOutage, RequestRefused

RATE_LIMITED = "RATE_LIMITED"

logger = logging.getLogger("vitrine.ratelimit")

outage = DependencyOutage(
    logger,
    "Sign-in rate limits unavailable (the cache failed: %s); sign-ins and credentials go "
    "unlimited until it is back.",
    "Sign-in rate limits restored: the cache answers again.",
)


def _using_cache(call: Callable[[], Any], default: Any = None) -> Any:
    """`call()`, or `default` when the cache fails (fail open: logged once per outage), or
    is known to be failing (schema/errors.py DependencyOutage: a probe a second)."""
    if outage.skip():
        return default
    try:
        result = call()
    except Exception as error:  # the backend's own errors (redis.ConnectionError, timeouts)
        outage.failed(error)
        return default
    outage.recovered()
    return result


def _address_key(address: str) -> tuple[str, int]:
    return f"auth-fail:ip:{address}", settings.AUTH_RATE_LIMIT_IP_FAILURES


def _keys(context: Any, username: str) -> list[tuple[str, int]]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    return [
        (f"signin-fail:account:{account}", settings.AUTH_RATE_LIMIT_ACCOUNT_FAILURES),
        _address_key(context.client.address),
    ]


def _refuse_over_limit(keys: list[tuple[str, int]]) -> None:
    counts = _using_cache(lambda: cache.get_many([key for key, _ in keys]), default={})
    for key, limit in keys:
        if counts.get(key, 0) >= limit:
            window = settings.AUTH_RATE_LIMIT_WINDOW_SECONDS
            raise RequestRefused(
                RATE_LIMITED, "Too many failed sign-ins; try again later.", retryAfter=window
            ).with_http_status(429, **{"Retry-After": str(window)})


def _count(keys: list[tuple[str, int]]) -> None:
    _using_cache(lambda: _increment(keys))


def _increment(keys: list[tuple[str, int]]) -> None:
    for key, _ in keys:
        # add() starts the window; incr() never extends it.
        if not cache.add(key, 1, timeout=settings.AUTH_RATE_LIMIT_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=settings.AUTH_RATE_LIMIT_WINDOW_SECONDS)


def check_sign_in_allowed(context: Any, username: str) -> None:
    _refuse_over_limit(_keys(context, username))


def record_failure(context: Any, username: str) -> None:
    _count(_keys(context, username))


def record_success(context: Any, username: str) -> None:
    key = _keys(context, username)[0][0]
    _using_cache(lambda: cache.delete(key))


@contextmanager
def counting_failures(address: str, *, has_credentials: bool = True) -> Iterator[None]:
    """Around authenticating a credential: refuse an address over its limit (no SQL), and
    count the failure when the credential does not hold. Nothing to do without credentials."""
    if not has_credentials:
        yield
        return
    _refuse_over_limit([_address_key(address)])
    try:
        yield
    except AuthenticationFailed:
        _count([_address_key(address)])
        raise
