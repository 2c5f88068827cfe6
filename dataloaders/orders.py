"""Loaders for orders and their lines."""
from collections import defaultdict

from dataloaders.loader import Loader
from orders.models import Order, OrderItem


class OrderByIdLoader(Loader):
    """Order id → the order if the viewer owns it (or is staff: `owned_by`), else None."""

    def batch_load(self, keys):
        orders = Order.objects.owned_by(self.context.user).order_by().in_bulk(keys)
        return [orders.get(key) for key in keys]


class OrderItemsLoader(Loader):
    """Order id → its lines."""

    def batch_load(self, keys):
        items = defaultdict(list)
        for item in OrderItem.objects.filter(order_id__in=keys):
            items[item.order_id].append(item)
        return [items[key] for key in keys]
