"""Orders as their owners (and staff) see them."""
from __future__ import annotations

import graphene
from graphene_django import DjangoObjectType
from graphene_django.registry import get_global_registry
from graphene_django.utils import bypass_get_queryset

from dataloaders.catalog import ProductByIdLoader
from dataloaders.orders import OrderItemsLoader
from dataloaders.registry import get_loader
from orders.models import Order, OrderItem
from products.models import Product
from schema.node import Node
from schema.pagination import CountableConnection


def _product_type():
    # Found through graphene-django's registry, not by importing the catalog's GraphQL module.
    return get_global_registry().get_type_for_model(Product)


class OrderItemType(DjangoObjectType):
    product = graphene.Field(
        _product_type, description="Null when the product has since been hidden from you."
    )

    class Meta:
        model = OrderItem
        name = "OrderItem"
        fields = ("quantity", "unit_price", "product")

    # The loader applies the visibility rule; graphene-django's own get_node detour for
    # foreign keys would assign the loader's Promise to the model instance.
    @bypass_get_queryset
    def resolve_product(self, info):
        # Null when the product has since been hidden from the viewer.
        return get_loader(info, ProductByIdLoader).load(self.product_id)


OrderStatus = graphene.Enum(
    "OrderStatus",
    [(status.name, status.value) for status in Order.Status],
    description="Where an order is: placed (PENDING), paid, shipped, or cancelled.",
)


class OrderType(DjangoObjectType):
    status = graphene.Field(graphene.NonNull(OrderStatus), description="Where the order is now.")
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

    def resolve_status(self, info):
        return OrderStatus.get(self.status)

    def resolve_items(self, info):
        return get_loader(info, OrderItemsLoader).load(self.pk)
