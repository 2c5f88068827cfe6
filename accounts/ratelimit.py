"""Failed sign-ins counted per account and per client IP in Django's cache.

Once either count reaches its limit (settings AUTH_RATE_LIMIT_*), sign-in is refused with
`RATE_LIMITED` until the window (counted from the first failure) passes, even with the right
password, so guessing stays slow. A successful sign-in clears the account's count.
"""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from schema.errors import CodedError
from schema.throttle import client_ip

RATE_LIMITED = "RATE_LIMITED"


class RateLimited(CodedError):
    code = RATE_LIMITED


def _keys(request: HttpRequest, username: str) -> list[tuple[str, int]]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    return [
        (f"signin-fail:account:{account}", settings.AUTH_RATE_LIMIT_ACCOUNT_FAILURES),
        (f"signin-fail:ip:{client_ip(request)}", settings.AUTH_RATE_LIMIT_IP_FAILURES),
    ]


def check_sign_in_allowed(request: HttpRequest, username: str) -> None:
    counts = cache.get_many([key for key, _ in _keys(request, username)])
    for key, limit in _keys(request, username):
        if counts.get(key, 0) >= limit:
            raise RateLimited(
                "Too many failed sign-ins; try again later.",
                retryAfter=settings.AUTH_RATE_LIMIT_WINDOW_SECONDS,
            )


def record_failure(request: HttpRequest, username: str) -> None:
    for key, _ in _keys(request, username):
        # add() starts the window; incr() never extends it.
        if not cache.add(key, 1, timeout=settings.AUTH_RATE_LIMIT_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=settings.AUTH_RATE_LIMIT_WINDOW_SECONDS)


def record_success(request: HttpRequest, username: str) -> None:
    cache.delete(_keys(request, username)[0][0])
