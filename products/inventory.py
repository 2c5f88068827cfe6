"""Stock: the one module that writes `Product.stock`.

Orders take and give back units, staff adjust (admin, `adjustStock`) or set it
(`updateProduct(stock:)`). Each change happens inside the caller's transaction:

- under row locks taken in primary-key order (`locked`): two writers sharing products wait
  for each other in the same order and never deadlock;
- as a relative UPDATE (`stock = stock + delta`), so a change composes with every other one
  instead of writing back a number read earlier: the admin's form once saved the stock it had
  shown, undoing the orders placed while it was open;
- checked against the locked row, with the database's `stock >= 0` constraint behind it.

An UPDATE fires no `post_save`. What orders change is announced here to live subscribers, as
a product `updated` event after commit (subscriptions.events; an order has webhooks of its
own). A staff change is followed by a save of `updated_at`, whose `post_save` announces it
like any other edit of the product: to subscribers and to webhooks.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from products.models import Product

OUT_OF_STOCK = "out_of_stock"
# The largest value of the `stock` column (a PostgreSQL integer).
MAX_STOCK = 2**31 - 1


def locked(products: QuerySet[Product], ids: Iterable[int]) -> dict[int, Product]:
    """Lock the rows of `ids` among `products` in primary-key order, the lock order of every
    stock change; rows `products` leaves out are neither locked nor returned."""
    return {
        product.pk: product
        for product in products.select_for_update().filter(pk__in=set(ids)).order_by("pk")
    }


def _lock(product: Product) -> int:
    """Lock the product's row; its stock as of now."""
    row = locked(Product.objects.all(), [product.pk]).get(product.pk)
    if row is None:
        raise Product.DoesNotExist("Product not found.")
    return row.stock


def _add(product_ids: Iterable[int], delta: int, **conditions) -> int:
    """Add `delta` to the stock of the rows matching `conditions`; how many rows changed."""
    return Product.objects.filter(pk__in=list(product_ids), **conditions).update(
        stock=F("stock") + delta, updated_at=timezone.now()
    )


stock_changed = Signal()
"""Sent inside the transaction of an order's stock change, with `product_ids`: a relative
UPDATE fires no post_save, and the live feed and webhooks must still hear of it."""


def _announce(product_ids: Iterable[int]) -> None:
    stock_changed.send(sender=Product, product_ids=list(product_ids))


def take(product: Product, quantity: int) -> bool:
    """Take `quantity` units of a product locked with `locked` for an order; False when fewer
    are left or it is no longer published (the UPDATE's condition is the last guard)."""
    taken = _add([product.pk], -quantity, is_published=True, stock__gte=quantity)
    if taken:
        _announce([product.pk])
    return bool(taken)


def put_back(quantities: dict[int, int]) -> None:
    """Return units (product id: quantity) to stock, as a cancelled order does; locks the
    products in the same order as `take`'s callers."""
    for product_id in locked(Product.objects.all(), quantities):
        _add([product_id], quantities[product_id])
    _announce(sorted(quantities))


def _check_new_stock(stock: int, field: str) -> None:
    """Refuse a stock below 0 or beyond the column, keyed by the caller's argument."""
    if stock < 0:
        raise ValidationError({field: ValidationError(
            "The stock cannot go below 0.", code=OUT_OF_STOCK)})
    if stock > MAX_STOCK:
        raise ValidationError({field: ValidationError(
            "The stock cannot exceed %(max)s.", code="max_value", params={"max": MAX_STOCK})})


def adjust(product: Product, delta: int, *, announce: bool = True) -> Product:
    """Add `delta` units (negative: remove them) to the stock as it is now, whatever was
    ordered since `product` was read; refused (on `delta`) below 0. `product` is refreshed.
    `announce=False` for a caller whose own save of the product announces the change."""
    _check_new_stock(_lock(product) + delta, "delta")
    return _apply(product, delta, announce=announce)


def set_stock(product: Product, stock: int, *, announce: bool = True) -> Product:
    """Set the stock to `stock` units, replacing what orders left of it (`adjust` composes
    with them instead); `announce` as for `adjust`."""
    _check_new_stock(stock, "stock")
    return _apply(product, stock - _lock(product), announce=announce)


def _apply(product: Product, delta: int, *, announce: bool) -> Product:
    """Add `delta` to a product locked by `_lock` and refresh the caller's instance; announced
    by saving `updated_at` alone, as the save's `post_save` tells every listener."""
    _add([product.pk], delta)
    product.refresh_from_db(fields=["stock", "updated_at"])
    if announce:
        product.save(update_fields=["updated_at"])
    return product
