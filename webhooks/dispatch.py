"""Sending a delivery: claim it, attempt it, record the outcome, schedule what comes next.

- **At least once, never twice at the same time.** A task may run more than once for one
  delivery (a retry's task and a recovery's, two workers); the claim is one conditional UPDATE
  (pending, due, not leased) that only one of them wins, and it leases the delivery for longer
  than an attempt can last. Nothing holds a database transaction during the HTTP request.
- **Order: per endpoint and object, in commit order.** A delivery is claimed only when no
  earlier delivery of the same object to the same endpoint is still pending; writes to one
  object take its row lock, so their events' ids follow their commit order. Settling a
  delivery enqueues the next one of its object. A delivery failing for a day holds the later
  ones of its object back for that day; other objects are not held.
- **Retries** (webhooks/retry.py) reuse the event, so `webhook-id` and body stay the same;
  each attempt is signed anew with its own `webhook-timestamp`.
"""
from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from webhooks import safety, signing, transport
from webhooks.events import render_pending
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.retry import is_retryable, next_delay, retry_after_seconds

PENDING = WebhookDelivery.Status.PENDING
SUCCEEDED = WebhookDelivery.Status.SUCCEEDED
FAILED = WebhookDelivery.Status.FAILED
# A claim outlives the longest attempt by this much.
LEASE_MARGIN = datetime.timedelta(seconds=30)
# Deliveries recorded in this thread's open transactions, per database (see `schedule`).
_pending = threading.local()


@dataclass(frozen=True)
class Outcome:
    ok: bool = False
    status: int | None = None
    excerpt: str = ""
    error: str = ""
    retryable: bool = False
    retry_after: float | None = None


def enqueue(delivery_id: int, at: datetime.datetime | None = None) -> None:
    from webhooks.tasks import deliver

    (deliver if at is None else deliver.using(run_after=at)).enqueue(delivery_id)


def schedule(event_id: int, delivery_ids: list[int], *, render: bool,
             using: str = "default") -> None:
    """Enqueue these deliveries when the current transaction commits (`render`: the event's
    body is still to be written then).

    A transaction recording many events (an import) enqueues them all in one transaction of
    the task queue's, not one each: the first on_commit callback flushes everything this
    thread has collected, the later ones find nothing left. Deliveries of a rolled-back
    savepoint may be flushed too; their tasks find no pending delivery and do nothing.
    """
    _collected(using).append((event_id, delivery_ids, render))
    # robust: a failed enqueue must not fail the committed write; webhooks_recover retries it.
    transaction.on_commit(partial(flush, using), using=using, robust=True)


def _collected(using: str) -> list[tuple[int, list[int], bool]]:
    return _pending.__dict__.setdefault(using, [])


def flush(using: str = "default") -> None:
    collected, _pending.__dict__[using] = _collected(using), []
    for event in WebhookEvent.objects.filter(
        pk__in=[event_id for event_id, _, render in collected if render], body=""
    ):
        render_pending(event)
    with transaction.atomic(using=using):
        for _, delivery_ids, _ in collected:
            for delivery_id in delivery_ids:
                enqueue(delivery_id)


def deliver(delivery_id: int) -> str:
    delivery = claim(delivery_id)
    if delivery is None:
        return "not due, held elsewhere, settled, or behind an earlier delivery"
    if not delivery.endpoint.is_active:
        # Not an attempt: the claim's count is taken back.
        _settle(delivery, FAILED, attempts=F("attempts") - 1, locked_until=None,
                last_error="Not sent: the endpoint is disabled.")
        return "endpoint disabled"
    return record(delivery, attempt(delivery))


def claim(delivery_id: int) -> WebhookDelivery | None:
    """Lease the delivery for one attempt, if it is due and first in line; else None."""
    now = timezone.now()
    earlier = WebhookDelivery.objects.filter(
        endpoint=OuterRef("endpoint"), object_key=OuterRef("object_key"),
        status=PENDING, pk__lt=OuterRef("pk"),
    )
    lease = datetime.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .filter(~Exists(earlier))
        .update(locked_until=now + lease, attempts=F("attempts") + 1, last_attempt_at=now)
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)


def attempt(delivery: WebhookDelivery) -> Outcome:
    """One signed POST of the event's body to the endpoint, vetted again just before."""
    event, endpoint = delivery.event, delivery.endpoint
    if not event.body:
        render_pending(event)
    try:
        target = safety.vet(endpoint.url)
    except safety.UnresolvableHost as error:
        return Outcome(error=str(error), retryable=True)
    except safety.RefusedURL as error:
        return Outcome(error=f"Refused: {error}")
    body = event.body.encode()
    headers = signing.headers(endpoint.signing_secrets(), event.webhook_id, int(time.time()), body)
    try:
        answer = transport.post(target, body, headers, settings.WEBHOOK_TIMEOUT_SECONDS)
    except transport.TransportError as error:
        return Outcome(error=str(error), retryable=True)
    if 200 <= answer.status < 300:
        return Outcome(ok=True, status=answer.status, excerpt=answer.excerpt)
    failure = f"HTTP {answer.status}"
    if 300 <= answer.status < 400:
        failure += " (redirects are not followed)"
    return Outcome(
        status=answer.status, excerpt=answer.excerpt, error=failure,
        retryable=is_retryable(answer.status),
        retry_after=retry_after_seconds(answer.headers.get("Retry-After"), timezone.now()),
    )


def record(delivery: WebhookDelivery, outcome: Outcome) -> str:
    """Store the attempt's outcome: succeeded, retry later, or failed for good."""
    fields = {"locked_until": None, "last_status_code": outcome.status,
              "response_excerpt": outcome.excerpt, "last_error": outcome.error}
    if outcome.ok:
        _settle(delivery, SUCCEEDED, delivered_at=timezone.now(), **fields)
        if delivery.endpoint.consecutive_failures:
            WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(consecutive_failures=0)
        return "succeeded"
    delay = next_delay(delivery.attempts, outcome.retry_after) if outcome.retryable else None
    if delay is None:
        _settle(delivery, FAILED, **fields)
        _count_failure(delivery.endpoint, outcome.error)
        return f"failed: {outcome.error}"
    at = timezone.now() + datetime.timedelta(seconds=delay)
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=at, **fields)
        transaction.on_commit(partial(enqueue, delivery.pk, at), robust=True)
    return f"{outcome.error}; retry in {delay:.1f} s"


def _settle(delivery: WebhookDelivery, status: str, **fields) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status, next_attempt_at=None, **fields
    )
    _kick_next(delivery)


def _kick_next(delivery: WebhookDelivery) -> None:
    """Enqueue the next pending delivery of the same object to the same endpoint, if any."""
    following = (
        WebhookDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id, object_key=delivery.object_key,
            status=PENDING, pk__gt=delivery.pk,
        ).order_by("pk").values_list("pk", flat=True).first()
    )
    if following is not None:
        enqueue(following)


def _count_failure(endpoint: WebhookEndpoint, error: str) -> None:
    """One more failed delivery in a row; disable the endpoint at the configured count."""
    threshold = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
    endpoints.filter(is_active=True, consecutive_failures__gte=threshold).update(
        is_active=False, disabled_at=timezone.now(),
        disabled_reason=f"Disabled automatically: {threshold} deliveries in a row failed "
        f"after all their attempts. The last one: {error}",
    )


def recover(older_than: float = 60.0) -> int:
    """Enqueue pending deliveries overdue by `older_than` seconds and not held by a worker:
    those whose enqueue was lost (a crash between commit and enqueue, a lost task)."""
    now = timezone.now()
    overdue = WebhookDelivery.objects.filter(
        status=PENDING, next_attempt_at__lte=now - datetime.timedelta(seconds=older_than),
    ).filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
    ids = list(overdue.order_by("pk").values_list("pk", flat=True))
    for delivery_id in ids:
        enqueue(delivery_id)
    return len(ids)
