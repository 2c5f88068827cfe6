"""Placing and cancelling orders, each inside one transaction.

Stock moves through products.inventory: it is checked and taken under row locks in
primary-key order (no deadlock between two orders, or an order and a restock, sharing
products), with a conditional UPDATE (`stock >= quantity`) as the last guard, so concurrent
orders can never sell more than there is.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Avg, F

from accounts import permissions
from accounts.viewer import is_signed_in
from orders.models import Order, OrderItem
from products import inventory
from products.models import Product

MAX_LINES = 100


def _line_errors(items: list[dict[str, Any]]) -> dict[str, list[ValidationError]]:
    errors: dict[str, list[ValidationError]] = {}

    def add(field: str, message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    if not items:
        add("items", "Order at least one product.", "required")
    elif len(items) > MAX_LINES:
        add("items", f"Order at most {MAX_LINES} different products.", "max_length")
    seen: set[int] = set()
    for index, item in enumerate(items):
        if item["quantity"] < 1:
            add(f"items.{index}.quantity", "The quantity must be at least 1.", "min_value")
        if item["product"] in seen:
            add(f"items.{index}.product", "Each product may appear once.", "duplicate")
        seen.add(item["product"])
    return errors


@transaction.atomic
def place_order(user, items: list[dict[str, Any]]) -> Order:
    """`items` are {product: product id, quantity}. Raises ValidationError (field errors)."""
    permissions.require_order(user)
    errors = _line_errors(items)
    if errors:
        raise ValidationError(errors)

    # What the viewer may not see is as absent as a missing id.
    products = inventory.locked(
        Product.objects.visible_to(user), (item["product"] for item in items)
    )
    for index, item in enumerate(items):
        product = products.get(item["product"])
        field = f"items.{index}"
        if product is None:
            errors.setdefault(f"{field}.product", []).append(
                ValidationError("Product not found.", code="not_found")
            )
        elif not product.is_published:
            errors.setdefault(f"{field}.product", []).append(
                ValidationError("This product is not for sale.", code="not_published")
            )
        elif product.stock < item["quantity"]:
            errors.setdefault(f"{field}.quantity", []).append(
                ValidationError(
                    "Only %(stock)s left in stock.", code=inventory.OUT_OF_STOCK,
                    params={"stock": product.stock},
                )
            )
    if errors:
        raise ValidationError(errors)

    order = Order.objects.create(user=user)
    lines = []
    for index, item in sorted(enumerate(items), key=lambda pair: pair[1]["product"]):
        product = products[item["product"]]
        if not inventory.take(product, item["quantity"]):
            raise ValidationError({f"items.{index}.quantity": ValidationError(
                "Out of stock.", code=inventory.OUT_OF_STOCK)})
        lines.append(
            OrderItem(order=order, product=product, quantity=item["quantity"],
                      unit_price=product.price)
        )
    OrderItem.objects.bulk_create(lines)
    return order


CANCELLABLE = (Order.Status.PENDING, Order.Status.PAID)


@transaction.atomic
def cancel_order(user, order_id: int) -> Order:
    """Cancel a pending or paid order and put its quantities back in stock."""
    permissions.require_authenticated(user, "Sign in to cancel orders.")
    order = Order.objects.owned_by(user).select_for_update().filter(pk=order_id).first()
    if order is None:
        raise Order.DoesNotExist("Order not found.")
    if order.status not in CANCELLABLE:
        raise ValidationError(
            {"id": ValidationError(
                "Only pending or paid orders can be cancelled; this one is %(status)s.",
                code="invalid_status",
                params={"status": order.status},
            )}
        )
    inventory.put_back(dict(order.items.values_list("product_id", "quantity")))
    order.status = Order.Status.CANCELLED
    order.save(update_fields=["status"])
    return order


def recommendations(user, first: int) -> list[Product]:
    """Visible, published products from categories the user ordered from, minus what they
    bought, best rated first (then most popular)."""
    if not is_signed_in(user):
        return []
    ordered = OrderItem.objects.filter(order__user=user).exclude(
        order__status=Order.Status.CANCELLED
    )
    return list(
        Product.objects.visible_to(user)
        .filter(is_published=True, category__in=ordered.values("product__category_id"))
        .exclude(pk__in=ordered.values("product_id"))
        .annotate(rating_average=Avg("reviews__rating"))
        .order_by(F("rating_average").desc(nulls_last=True), "-popularity_score", "-pk")[:first]
    )
