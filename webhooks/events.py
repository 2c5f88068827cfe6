"""Catalog and order writes become webhook events, inside the writing transaction.

The same model signals drive the live feed (subscriptions/events.py): every save or delete
of a Product, a new Review, a placed or cancelled Order fires `post_save`/`post_delete`
inside the write's transaction. The handlers here record one `WebhookEvent` and a
`WebhookDelivery` per active endpoint subscribed to its type *in that transaction*, and ask
for delivery with `transaction.on_commit`: a write that rolls back leaves no event and sends
nothing. Should the process die between the commit and the enqueue, the rows are there and
`manage.py webhooks_recover` enqueues them.

An order's lines are written after its row (orders/services.py), so `order.placed` is
rendered right after commit (and by the worker, should that not have happened).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.db.models.signals import post_delete, post_init, post_save
from django.utils import timezone
from graphql_relay import to_global_id

from webhooks import payloads
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

PRODUCT_CREATED = "product.created"
PRODUCT_UPDATED = "product.updated"
PRODUCT_DELETED = "product.deleted"
REVIEW_CREATED = "review.created"
ORDER_PLACED = "order.placed"
ORDER_CANCELLED = "order.cancelled"


def object_key(instance) -> str:
    return f"{type(instance).__name__}:{instance.pk}"


def record(event_type: str, instance, render: Callable[[], dict] | None, using: str) -> None:
    """Record the event for its subscribers; `render` None means render after commit."""
    endpoints = [
        endpoint for endpoint in WebhookEndpoint.objects.using(using).filter(is_active=True)
        if endpoint.subscribes_to(event_type)
    ]
    if not endpoints:
        return
    now = timezone.now()
    event = WebhookEvent.objects.using(using).create(
        type=event_type, object_key=object_key(instance), created_at=now,
        body=payloads.body(event_type, now, render()) if render else "",
    )
    deliveries = WebhookDelivery.objects.using(using).bulk_create(
        WebhookDelivery(endpoint=endpoint, event=event, object_key=event.object_key,
                        next_attempt_at=now)
        for endpoint in endpoints
    )
    from webhooks import dispatch

    dispatch.schedule(event.pk, [delivery.pk for delivery in deliveries],
                      render=render is None, using=using)


def on_product_saved(sender, instance, created, raw=False, using="default", **kwargs) -> None:
    if not raw:
        event_type = PRODUCT_CREATED if created else PRODUCT_UPDATED
        record(event_type, instance, partial(payloads.product, instance), using)


def on_stock_changed(sender: Any, product_ids: list[int], **kwargs: Any) -> None:
    """An order took or gave back units: `product.updated`, with the stock as it is now."""
    for product in sender.objects.filter(pk__in=product_ids).order_by("pk"):
        record(PRODUCT_UPDATED, product, partial(payloads.product, product), "default")


def on_product_deleted(sender, instance, using="default", **kwargs) -> None:
    record(PRODUCT_DELETED, instance, partial(payloads.product, instance), using)


def on_review_saved(sender, instance, created, raw=False, using="default", **kwargs) -> None:
    if created and not raw:
        record(REVIEW_CREATED, instance, partial(payloads.review, instance), using)


def on_order_loaded(sender, instance, **kwargs) -> None:
    """Remember the status as loaded, to tell a cancellation from a later save. A row loaded
    without its status (lean rows) is not read again for it: that would cost a query."""
    instance._webhooks_status = instance.__dict__.get("status") if instance.pk else None


def on_order_saved(sender, instance, created, raw=False, using="default", **kwargs) -> None:
    if raw:
        return
    if created:
        record(ORDER_PLACED, instance, None, using)
    elif instance.status == "cancelled" and getattr(instance, "_webhooks_status",
                                                    None) != "cancelled":
        record(ORDER_CANCELLED, instance, partial(payloads.order, instance), using)
    instance._webhooks_status = instance.status


def render_pending(event: WebhookEvent) -> None:
    """Render an event recorded without a body (an order: its lines exist after commit)."""
    from orders.models import Order

    pk = int(event.object_key.split(":")[1])
    order = Order.objects.filter(pk=pk).first()
    data = payloads.order(order) if order is not None else {"id": to_global_id("Order", pk)}
    rendered = payloads.body(event.type, event.created_at, data)
    if WebhookEvent.objects.filter(pk=event.pk, body="").update(body=rendered):
        event.body = rendered
    else:  # rendered meanwhile by another process: send what it stored
        event.refresh_from_db(fields=["body"])


def connect_signals() -> None:
    from orders.models import Order
    from products.inventory import stock_changed
    from products.models import Product, Review

    stock_changed.connect(on_stock_changed, dispatch_uid="webhooks.stock_changed")
    post_save.connect(on_product_saved, sender=Product, dispatch_uid="webhooks.product_saved")
    post_delete.connect(on_product_deleted, sender=Product,
                        dispatch_uid="webhooks.product_deleted")
    post_save.connect(on_review_saved, sender=Review, dispatch_uid="webhooks.review_saved")
    post_init.connect(on_order_loaded, sender=Order, dispatch_uid="webhooks.order_loaded")
    post_save.connect(on_order_saved, sender=Order, dispatch_uid="webhooks.order_saved")
