"""When to try again: the retry schedule with jitter, stretched by a receiver's Retry-After.

Failures worth retrying are the receiver's temporary ones: no answer (timeout, refused
connection), 5xx, and 429. Any other answer outside 2xx (4xx, a redirect we do not follow)
will not change by itself, so it fails the delivery at once.
"""
from __future__ import annotations

import datetime
import random
from email.utils import parsedate_to_datetime

from django.conf import settings

# A receiver may ask for a later retry, but not for one beyond a day.
RETRY_AFTER_MAX = 24 * 3600.0


def is_retryable(status: int | None) -> bool:
    """`status` None: no HTTP answer at all."""
    return status is None or status == 429 or status >= 500


def retry_after_seconds(value: str | None, now: datetime.datetime) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - now).total_seconds())


def next_delay(attempts: int, retry_after: float | None) -> float | None:
    """Seconds to wait after the `attempts`-th failed attempt; None when none is left.

    Retry-After may push the next attempt later (up to RETRY_AFTER_MAX), never earlier.
    """
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    jitter = settings.WEBHOOK_RETRY_JITTER
    delay = schedule[attempts - 1] * random.uniform(1 - jitter, 1 + jitter)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_MAX))
    return delay
