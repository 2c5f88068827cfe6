"""Webhook bodies: the object as the public GraphQL API shows it, in a small envelope.

    {"type": "product.updated", "timestamp": "2027-01-01T09:30:00+00:00", "version": 1,
     "data": {"id": "UHJvZHVjdDo0Mg==", "name": ..., "category": {"id": "Q2F0ZWdvcnk6Mw=="}}}

Field names are the schema's (camelCase), IDs its global IDs (the `Meta.name` of each type),
scalars in its wire formats (docs/scalars.md: RFC 3339 DateTime, Decimal strings with the
field's decimal places). Relations are `{"id": ...}` references to fetch with `node(id:)`.
Written by hand rather than by running a query, so that rendering inside the writing
transaction costs no query (an order's lines aside) and a deleted object renders from the
instance Django still holds.
"""
from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from graphql_relay import to_global_id

from webhooks.catalog import PAYLOAD_VERSION


def ref(type_name: str, pk: int | None) -> dict[str, str] | None:
    return None if pk is None else {"id": to_global_id(type_name, pk)}


def datetime_value(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.astimezone(datetime.UTC).isoformat()


def decimal_value(value: Decimal | int | float | str, places: int = 2) -> str:
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))


def product(instance) -> dict[str, Any]:
    return {
        "id": to_global_id("Product", instance.pk),
        "name": instance.name,
        "slug": instance.slug,
        "description": instance.description,
        "price": decimal_value(instance.price),
        "stock": instance.stock,
        "isPublished": instance.is_published,
        "isAvailable": instance.is_available,
        "popularityScore": instance.popularity_score,
        "category": ref("Category", instance.category_id),
        "createdBy": ref("User", instance.created_by_id),
        "createdAt": datetime_value(instance.created_at),
        "updatedAt": datetime_value(instance.updated_at),
    }


def review(instance) -> dict[str, Any]:
    return {
        "id": to_global_id("Review", instance.pk),
        "rating": instance.rating,
        "title": instance.title,
        "body": instance.body,
        "createdAt": datetime_value(instance.created_at),
        "author": ref("User", instance.author_id),
        "product": ref("Product", instance.product_id),
    }


def order(instance) -> dict[str, Any]:
    """An order with its lines (read from the database: they are written after the order)."""
    lines = list(instance.items.order_by("pk"))
    return {
        "id": to_global_id("Order", instance.pk),
        "status": instance.status.upper(),
        "createdAt": datetime_value(instance.created_at),
        "total": decimal_value(sum((line.quantity * line.unit_price for line in lines), 0)),
        "items": [
            {
                "product": ref("Product", line.product_id),
                "quantity": line.quantity,
                "unitPrice": decimal_value(line.unit_price),
                "total": decimal_value(line.quantity * line.unit_price),
            }
            for line in lines
        ],
    }


def test_object(endpoint) -> dict[str, Any]:
    return {"endpoint": ref("WebhookEndpoint", endpoint.pk)}


def body(event_type: str, timestamp: datetime.datetime, data: dict[str, Any]) -> str:
    """The JSON text sent: compact, stable key order."""
    envelope = {
        "type": event_type,
        "timestamp": datetime_value(timestamp),
        "version": PAYLOAD_VERSION,
        "data": data,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
