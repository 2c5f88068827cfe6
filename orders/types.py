"""Orders as their owners (and staff) see them."""
from __future__ import annotations

from decimal import Decimal

import graphene
from graphene_django import DjangoObjectType
from graphene_django.registry import get_global_registry
from graphene_django.utils import bypass_get_queryset

from dataloaders.catalog import ProductByIdLoader
from dataloaders.orders import OrderByIdLoader, OrderItemsLoader
from dataloaders.registry import get_loader
from orders.models import Order, OrderItem
from products.models import Product
from schema.descriptions import describe_fields
from schema.node import Node
from schema.pagination import CountableConnection


def _product_type():
    # Found through graphene-django's registry, not by importing the catalog's GraphQL module.
    return get_global_registry().get_type_for_model(Product)


def line_total(item: OrderItem) -> Decimal:
    """What one line costs: its quantity times the unit price paid."""
    return item.quantity * item.unit_price


def order_total(items: list[OrderItem]) -> Decimal:
    """What an order costs: the sum of its lines (0.00 for none)."""
    return sum(map(line_total, items), Decimal("0.00"))


@describe_fields(
    quantity="How many units were ordered, at least 1.",
    unit_price="The price of one unit when the order was placed, in the store's currency: a "
    "decimal string with 2 decimals. Later price changes do not touch it.",
)
class OrderItemType(DjangoObjectType):
    """One line of an order: a product, how many, and the price paid."""

    product = graphene.Field(
        _product_type,
        description="The product ordered; null when it has since been hidden from you.",
    )
    total = graphene.Decimal(
        required=True,
        description=(
            "What this line costs: `quantity` times `unitPrice` (the price paid when ordering, "
            "not today's), in the store's currency: a decimal string with 2 decimals."
        ),
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

    def resolve_total(self, info) -> Decimal:
        return line_total(self)


STATUS_DESCRIPTIONS = {
    None: "Where an order is: placed (PENDING), paid, shipped, or cancelled.",
    "PENDING": "Placed; its quantities are taken from stock. It can be cancelled.",
    "PAID": "Paid and not shipped yet. It can still be cancelled.",
    "SHIPPED": "Shipped; it can no longer be cancelled.",
    "CANCELLED": "Cancelled (`cancelOrder`); its quantities went back in stock.",
}

OrderStatus = graphene.Enum(
    "OrderStatus",
    [(status.name, status.value) for status in Order.Status],
    # graphene calls a callable description with each value, and with None for the type.
    description=lambda value: STATUS_DESCRIPTIONS[None if value is None else value.name],
)


@describe_fields(created_at="When the order was placed.")
class OrderType(DjangoObjectType):
    """An order you placed: what you bought and at which prices. Only its owner and staff see
    it."""

    status = graphene.Field(graphene.NonNull(OrderStatus), description="Where the order is now.")
    items = graphene.List(
        graphene.NonNull(OrderItemType),
        required=True,
        description="Its lines, one per product, at least one.",
    )
    total = graphene.Decimal(
        required=True,
        description=(
            "What the order costs: the sum of its lines' `total` (prices paid when ordering), "
            "in the store's currency: a decimal string with 2 decimals; kept when cancelled."
        ),
    )

    class Meta:
        model = Order
        name = "Order"
        interfaces = (Node,)
        fields = ("id", "status", "created_at")
        connection_class = CountableConnection

    @classmethod
    def get_node(cls, info, id):
        return get_loader(info, OrderByIdLoader).load(id)

    def resolve_status(self, info):
        return OrderStatus.get(self.status)

    def resolve_items(self, info):
        return get_loader(info, OrderItemsLoader).load(self.pk)

    def resolve_total(self, info):
        # The lines `items` loads (the same loader key: no second query when both are asked).
        return get_loader(info, OrderItemsLoader).load(self.pk).then(order_total)
