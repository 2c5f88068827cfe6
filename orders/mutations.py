"""Placing and cancelling orders: thin wrappers around orders.services."""
from __future__ import annotations

import graphene
from django.core.exceptions import ValidationError

from orders import services
from orders.types import OrderType
from schema.errors import BadUserInput
from schema.mutations import Mutation
from schema.node import decode_global_id


class OrderLineInput(graphene.InputObjectType):
    """One line of an order: a product and how many of it."""

    product = graphene.ID(
        required=True,
        description="The Product ID of a published product you may see (NOT_FOUND, "
        "NOT_PUBLISHED); each product once per order (DUPLICATE).",
    )
    quantity = graphene.Int(
        required=True,
        description="How many, at least 1 (MIN_VALUE) and at most the stock (OUT_OF_STOCK).",
    )


class PlaceOrder(Mutation):
    """Order visible, published products; stock is reserved atomically (`OUT_OF_STOCK`)."""

    order = graphene.Field(OrderType, description="The new order, PENDING.")

    class Input:
        items = graphene.List(
            graphene.NonNull(OrderLineInput),
            required=True,
            description="The lines, 1 to 100 of them. Errors name the line: `items.0.quantity`.",
        )

    @classmethod
    def perform(cls, info, items):
        lines, errors = [], {}
        for index, item in enumerate(items):
            try:
                product_id = decode_global_id(item["product"], "Product", "product")
            except BadUserInput as error:
                errors[f"items.{index}.product"] = [ValidationError(error.message, "invalid")]
                continue
            lines.append({"product": product_id, "quantity": item["quantity"]})
        if errors:
            raise ValidationError(errors)
        return cls(order=services.place_order(info.context.user, lines))


class CancelOrder(Mutation):
    """Cancel a pending or paid order of yours; its quantities go back in stock."""

    order = graphene.Field(OrderType, description="The order, now CANCELLED.")

    class Input:
        id = graphene.ID(
            required=True,
            description="The Order ID; one PENDING or PAID (else INVALID_STATUS on `id`).",
        )

    @classmethod
    def perform(cls, info, id):
        order_id = decode_global_id(id, "Order")
        return cls(order=services.cancel_order(info.context.user, order_id))


class Mutations(graphene.ObjectType):
    place_order = PlaceOrder.Field()
    cancel_order = CancelOrder.Field()
