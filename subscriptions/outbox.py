"""Live events through a transactional outbox: recorded with the write, never silently lost.

- `record` runs inside the writing transaction (the model signals of subscriptions/events.py)
  and inserts an `Event` row: a write that rolls back announces nothing, one that commits
  cannot lose its event.
- After the commit, `publish_pending` sends every unpublished event to the channel-layer
  group, oldest first, and marks it published. One publisher at a time (a PostgreSQL advisory
  lock across processes; a lock within the one process of the in-memory layer), so events go
  out in commit order.
- When the channel layer cannot take them (Redis down), they wait in the table: a relay
  thread retries every RETRY_SECONDS (logging once per outage) and publishes the backlog, in
  order, when Redis is back.
- The hubs read published events back from the table (subscriptions/hub.py `catch_up`), so an
  event the layer lost (a group membership gone with a Redis restart) still reaches every
  subscriber, once: deliveries carry the event's id as `extensions.eventId`.
- Before an event is published, the responses it makes stale leave the response cache
  (schema/response_cache.py): with Redis, for every process at once.
- Retention: published events are kept SUBSCRIPTIONS_EVENT_RETENTION seconds (3600), far longer
  than any catch-up looks back; older ones are deleted as new ones are published.
"""
from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from schema import response_cache
from subscriptions.models import Event

logger = logging.getLogger("vitrine.subscriptions")

MESSAGE_TYPE = "product.event"
RETRY_SECONDS = 1.0
BATCH = 500
# Any number: it names the outbox's lock among the database's advisory locks.
ADVISORY_LOCK = 0x76_69_74_72


def record(kind: str, product_id: int, *, snapshot: dict[str, Any] | None = None,
           was_published: bool | None = None, created_by_id: int | None = None,
           using: str | None = None) -> None:
    """Record one event in the current transaction; publish it once that commits."""
    Event.objects.using(using).create(
        kind=kind, product_id=product_id, snapshot=snapshot,
        was_published=was_published, created_by_id=created_by_id,
    )
    transaction.on_commit(publish_pending, using=using)


def message(event: Event) -> dict[str, Any]:
    """What the channel layer carries: enough for subscribers to load the product again."""
    return {
        "type": MESSAGE_TYPE,
        "event_id": event.pk,
        "event": event.kind,
        "id": event.product_id,
        "snapshot": event.snapshot,
        "was_published": event.was_published,
        "created_by_id": event.created_by_id,
        "committed_at": event.committed_at.timestamp(),
    }


def published_since(moment: datetime) -> list[Event]:
    """The events published at or after `moment`, oldest first (a hub's catch-up)."""
    return list(Event.objects.filter(published_at__gte=moment).order_by("pk"))


def publish_pending() -> None:
    """Publish what waits, now; if the layer is down (or another process is at it), leave it
    to the relay. Never raises: the write has committed."""
    try:
        if _drain(wait=False):
            return
    except Exception:
        _relay.failed()
    _relay.wake()


_local_lock = threading.Lock()


def _drain(*, wait: bool) -> bool:
    """Publish every unpublished event in order; False when another publisher holds the lock
    (and `wait` is off). Raises when the channel layer refuses."""
    layer = get_channel_layer()
    if layer is None:
        return True
    in_memory = isinstance(layer, InMemoryChannelLayer)
    with _local_lock if in_memory else nullcontext():
        while True:
            with transaction.atomic():
                if not in_memory and not _advisory_lock(wait):
                    return False
                batch = list(Event.objects.filter(published_at=None).order_by("pk")[:BATCH])
                for event in batch:
                    # First: a subscriber refetching on the event must not get the old page.
                    response_cache.invalidate_product(event.product_id)
                    async_to_sync(layer.group_send)(settings.SUBSCRIPTIONS_GROUP, message(event))
                    Event.objects.filter(pk=event.pk).update(published_at=timezone.now())
                if len(batch) < BATCH:
                    _forget_old()
                    return True


def _advisory_lock(wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        return bool(cursor.fetchone()[0])


def _forget_old() -> None:
    horizon = timezone.now() - timedelta(seconds=settings.SUBSCRIPTIONS_EVENT_RETENTION)
    Event.objects.filter(published_at__lt=horizon).delete()


class _Relay:
    """A daemon thread publishing what could not be published at commit time."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.thread: threading.Thread | None = None
        self.failing = False
        self.lock = threading.Lock()

    def wake(self) -> None:
        with self.lock:
            self.event.set()
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="vitrine-outbox-relay",
                                               daemon=True)
                self.thread.start()

    def failed(self) -> None:
        if not self.failing:
            self.failing = True
            logger.warning("Live events cannot be published (channel layer unreachable); "
                           "they wait in the outbox and are retried.", exc_info=True)

    def _run(self) -> None:
        while True:
            self.event.wait(RETRY_SECONDS)
            with self.lock:
                self.event.clear()
            try:
                _drain(wait=True)
            except Exception:
                self.failed()
                continue
            finally:
                connection.close()
            if self.failing:
                self.failing = False
                logger.warning("Live events are published again; the outbox is drained.")
            with self.lock:
                if not self.event.is_set():  # idle: the next wake starts a new thread
                    self.thread = None
                    return


_relay = _Relay()
