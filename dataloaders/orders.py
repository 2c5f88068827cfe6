"""Loaders for orders and their lines."""
from collections import defaultdict

from dataloaders.loader import Loader
from orders.models import OrderItem


class OrderItemsLoader(Loader):
    """Order id → its lines."""

    def batch_load(self, keys):
        items = defaultdict(list)
        for item in OrderItem.objects.filter(order_id__in=keys):
            items[item.order_id].append(item)
        return [items[key] for key in keys]
