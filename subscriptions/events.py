"""Product events: recorded with the write, published after it commits, never before.

Every save or delete of a `Product` (ORM, admin, mutations, shell) fires Django's
`post_save`/`post_delete`, and so does every save or delete of a `Review` (its product's
rating and review count change): the handlers below record one event in the writing
transaction (subscriptions/outbox.py), published to the channel-layer group
(SUBSCRIPTIONS_GROUP, "products") once it commits. A write whose transaction rolls back
publishes nothing. With REDIS_URL set the layer is channels-redis, so every server process
sharing that Redis receives the event, and one committed while Redis is down is published
when it is back.

The message carries only what the subscribers' resolvers need to load the product again (the
id), plus, for a delete, a snapshot of the row (it no longer exists to be loaded), and, for an
update, whether the product was published before it (so a subscriber who saw it learns it
left their view: `productRemoved`):

    {"type": "product.event", "event_id": 7, "event": "created" | "updated" | "deleted",
     "id": 42, "snapshot": {...} | None, "was_published": bool | None,
     "created_by_id": 3 | None, "committed_at": <epoch seconds>}

Visibility is *not* decided here: each subscriber's resolution applies the catalog's rule
when the event arrives (products/subscriptions.py).
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Model
from django.db.models.signals import post_delete, post_save

CREATED = "created"
UPDATED = "updated"
DELETED = "deleted"

_muted = threading.local()


class SkipEvent(Exception):
    """Raised by a subscription resolver: this event is not for this subscriber.

    The event is of another kind, concerns another product, or the viewer may not see the
    product at this moment. The subscriber is sent nothing.
    """


@contextmanager
def muted() -> Iterator[None]:
    """Publish nothing for writes inside this block (bulk imports, fixtures)."""
    previous = getattr(_muted, "value", False)
    _muted.value = True
    try:
        yield
    finally:
        _muted.value = previous


def snapshot(product: Model) -> dict[str, Any]:
    """The concrete field values of `product` (foreign keys as ids), JSON-safe."""
    values: dict[str, Any] = {}
    for model_field in product._meta.concrete_fields:
        value = model_field.value_from_object(product)
        values[model_field.attname] = model_field.value_to_string(product) if value is not None \
            and not isinstance(value, (int, float, bool, str)) else value
    return values


def publish(event: str, product_id: int, product_snapshot: dict[str, Any] | None = None,
            using: str | None = None, *, was_published: bool | None = None,
            created_by_id: int | None = None) -> None:
    """Record an event in the current transaction (published once it commits)."""
    if getattr(_muted, "value", False):
        return
    from subscriptions import outbox

    outbox.record(event, product_id, snapshot=product_snapshot, was_published=was_published,
                  created_by_id=created_by_id, using=using)


def on_product_saved(sender: Any, instance: Any, created: bool, raw: bool = False,
                     using: str | None = None, **kwargs: Any) -> None:
    if raw:  # loaddata
        return
    if created:
        publish(CREATED, instance.pk, using=using)
        return
    # As loaded (Product.from_db): who could see it before this save.
    publish(UPDATED, instance.pk, using=using,
            was_published=getattr(instance, "published_when_loaded", None),
            created_by_id=instance.created_by_id)


def on_product_deleted(sender: Any, instance: Model, using: str | None = None,
                       **kwargs: Any) -> None:
    publish(DELETED, instance.pk, snapshot(instance), using=using)


def on_review_changed(sender: Any, instance: Any, raw: bool = False, using: str | None = None,
                      **kwargs: Any) -> None:
    """A review's write changes its product's `avgRating` and `reviewCount`."""
    if raw:
        return
    publish(UPDATED, instance.product_id, using=using)


def on_stock_changed(sender: Any, product_ids: list[int], **kwargs: Any) -> None:
    for product_id in product_ids:
        publish(UPDATED, product_id)


def connect_signals() -> None:
    from products.inventory import stock_changed
    from products.models import Product, Review

    stock_changed.connect(on_stock_changed, dispatch_uid="subscriptions.stock")
    post_save.connect(on_product_saved, sender=Product, dispatch_uid="subscriptions.saved")
    post_delete.connect(on_product_deleted, sender=Product, dispatch_uid="subscriptions.deleted")
    post_save.connect(on_review_changed, sender=Review, dispatch_uid="subscriptions.review")
    post_delete.connect(on_review_changed, sender=Review,
                        dispatch_uid="subscriptions.review-deleted")
