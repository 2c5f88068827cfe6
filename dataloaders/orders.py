"""Loaders for orders and their lines."""
from collections import defaultdict
from typing import Any

from dataloaders.loader import Loader
from orders.models import Order, OrderItem


class OrderByIdLoader(Loader):
    """Order id → the order if the viewer owns it (or is staff: `owned_by`), else None."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        orders = Order.objects.owned_by(self.context.user).order_by().in_bulk(keys)
        return [orders.get(key) for key in keys]


class OrderItemsLoader(Loader):
    """Order id → its lines."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        items: defaultdict[int, list[OrderItem]] = defaultdict(list)
        for item in OrderItem.objects.filter(order_id__in=keys):
            items[item.order_id].append(item)
        return [items[key] for key in keys]
