"""Product events: published to the channel layer after the write commits, never before.

Every save or delete of a `Product` (ORM, admin, mutations, shell) fires Django's
`post_save`/`post_delete`; the handlers below register a `transaction.on_commit` callback
that sends one message to the channel-layer group (SUBSCRIPTIONS_GROUP, "products"). A write
whose transaction rolls back publishes nothing. With REDIS_URL set the layer is
channels-redis, so every server process sharing that Redis receives the event.

The message carries only what the subscribers' resolvers need to load the product again
(the id), plus, for a delete, a snapshot of the row, since it no longer exists to be loaded:

    {"type": "product.event", "event": "created" | "updated" | "deleted", "id": 42,
     "snapshot": {...} | None, "committed_at": <time.time() at commit>}

Visibility is *not* decided here: each subscriber's resolution applies
`Product.objects.visible_to(viewer)` when the event arrives (products/subscriptions.py).
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from subscriptions.conf import setting

logger = logging.getLogger("vitrine.subscriptions")

CREATED = "created"
UPDATED = "updated"
DELETED = "deleted"
MESSAGE_TYPE = "product.event"

_muted = threading.local()


class SkipEvent(Exception):
    """Raised by a subscription resolver: this event is not for this subscriber.

    The event is of another kind, concerns another product, or the viewer may not see the
    product at this moment. The subscriber is sent nothing.
    """


@contextmanager
def muted():
    """Publish nothing for writes inside this block (bulk imports, fixtures)."""
    previous = getattr(_muted, "value", False)
    _muted.value = True
    try:
        yield
    finally:
        _muted.value = previous


def snapshot(product) -> dict[str, Any]:
    """The concrete field values of `product` (foreign keys as ids), JSON-safe."""
    values = {}
    for model_field in product._meta.concrete_fields:
        value = model_field.value_from_object(product)
        values[model_field.attname] = model_field.value_to_string(product) if value is not None \
            and not isinstance(value, (int, float, bool, str)) else value
    return values


def event_message(event: str, product_id: int, product_snapshot: dict | None = None) -> dict:
    return {
        "type": MESSAGE_TYPE,
        "event": event,
        "id": product_id,
        "snapshot": product_snapshot,
        "committed_at": time.time(),
    }


def send_event(event: str, product_id: int, product_snapshot: dict | None = None) -> None:
    """Send one event to the group now. Failures are logged: the write already committed."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = event_message(event, product_id, product_snapshot)
    try:
        async_to_sync(layer.group_send)(setting("SUBSCRIPTIONS_GROUP"), message)
    except Exception:
        logger.exception("Could not publish product %s event for product %s", event, product_id)


def publish(event: str, product_id: int, product_snapshot: dict | None = None,
            using: str | None = None) -> None:
    """Publish when the current transaction commits (at once outside a transaction)."""
    if getattr(_muted, "value", False):
        return
    transaction.on_commit(
        lambda: send_event(event, product_id, product_snapshot), using=using
    )


def on_product_saved(sender, instance, created, raw=False, using=None, **kwargs) -> None:
    if raw:  # loaddata
        return
    publish(CREATED if created else UPDATED, instance.pk, using=using)


def on_product_deleted(sender, instance, using=None, **kwargs) -> None:
    publish(DELETED, instance.pk, snapshot(instance), using=using)


def connect_signals() -> None:
    from products.models import Product

    post_save.connect(on_product_saved, sender=Product, dispatch_uid="subscriptions.saved")
    post_delete.connect(on_product_deleted, sender=Product, dispatch_uid="subscriptions.deleted")
