"""Orders as their owners (and staff) see them."""
from __future__ import annotations

import graphene
from graphene_django import DjangoObjectType

from dataloaders.catalog import ProductByIdLoader
from dataloaders.orders import OrderItemsLoader
from dataloaders.registry import get_loader
from orders.models import Order, OrderItem
from schema.node import Node
from schema.pagination import CountableConnection


class OrderItemType(DjangoObjectType):
    class Meta:
        model = OrderItem
        name = "OrderItem"
        fields = ("quantity", "unit_price", "product")

    def resolve_product(self, info):
        # Null when the product has since been hidden from the viewer.
        return get_loader(info, ProductByIdLoader).load(self.product_id)


class OrderType(DjangoObjectType):
    items = graphene.List(graphene.NonNull(OrderItemType), required=True)

    class Meta:
        model = Order
        name = "Order"
        interfaces = (Node,)
        fields = ("id", "status", "created_at")
        connection_class = CountableConnection

    @classmethod
    def get_node(cls, info, id):
        return Order.objects.owned_by(info.context.user).filter(pk=id).first()

    def resolve_items(self, info):
        return get_loader(info, OrderItemsLoader).load(self.pk)
