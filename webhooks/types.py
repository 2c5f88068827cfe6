"""GraphQL types of webhook endpoints and deliveries; only staff ever see them."""
from __future__ import annotations

from operator import attrgetter

import graphene
from graphene_django import DjangoObjectType
from graphene_django.utils import bypass_get_queryset

from accounts.viewer import is_staff
from dataloaders.registry import get_loader
from schema.descriptions import describe_fields
from schema.node import Node
from schema.pagination import BoundedConnectionField, CountableConnection
from webhooks.catalog import EVENT_TYPES
from webhooks.loaders import WebhookEndpointByIdLoader, WebhookEventByIdLoader
from webhooks.models import WebhookDelivery, WebhookEndpoint


def _enum_name(event_type: str) -> str:
    return event_type.replace(".", "_").upper()


WebhookEventType = graphene.Enum(
    "WebhookEventType",
    [(_enum_name(name), name) for name in EVENT_TYPES],
    description=lambda value: (
        "What an endpoint can subscribe to; the payload's `type` is the value in lower case "
        "with a dot (`product.created`)." if value is None else EVENT_TYPES[value.value]
    ),
)

DELIVERY_STATUS_DESCRIPTIONS = {
    None: "Where a delivery is: still being tried, delivered, or given up on.",
    "PENDING": "Not delivered yet: the next attempt is at `nextAttemptAt`.",
    "SUCCEEDED": "The endpoint answered 2xx.",
    "FAILED": "Given up: a 4xx answer, every retry spent, or the endpoint disabled. "
    "`redeliverWebhook` sends it again.",
}
WebhookDeliveryStatus = graphene.Enum(
    "WebhookDeliveryStatus",
    [(status.name, status.value) for status in WebhookDelivery.Status],
    description=lambda value: DELIVERY_STATUS_DESCRIPTIONS[
        None if value is None else value.name
    ],
)


def event_type_value(value) -> str:
    """An enum argument's value (graphene passes the member)."""
    return getattr(value, "value", value)


class StaffOnly:
    """Node lookups and lists of these types answer staff only (others: not found)."""

    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset if is_staff(info.context.user) else queryset.none()


@describe_fields(
    attempts="HTTP attempts made so far (each retry is one).",
    last_status_code="The HTTP status of the last answer; null when there was none (timeout, "
    "refused connection) or no attempt yet.",
    last_error="Why the last attempt failed (`HTTP 500`, a timeout, a refused address); "
    "empty after a success.",
    response_excerpt="The first 1,024 bytes of the last answer's body, as text.",
    next_attempt_at="When the next attempt is due; null once SUCCEEDED or FAILED.",
    last_attempt_at="When the last attempt started; null before the first.",
    delivered_at="When the endpoint answered 2xx; null until then.",
    created_at="When the delivery was recorded: in the transaction of the write it reports, "
    "or by `redeliverWebhook` / `sendTestWebhook`.",
    endpoint="The endpoint it goes to.",
)
class WebhookDeliveryType(StaffOnly, DjangoObjectType):
    """One event on its way to one endpoint: its attempts and the endpoint's last answer."""

    status = graphene.Field(graphene.NonNull(WebhookDeliveryStatus),
                            description="Where the delivery is.")
    event_type = graphene.String(
        required=True,
        description="The payload's `type`: `product.created`, ..., or `webhook.test`.",
    )
    webhook_id = graphene.String(
        required=True,
        description="The `webhook-id` header: the event's ID, the same on every retry and "
        "redelivery (receivers deduplicate on it).",
    )
    payload = graphene.String(
        required=True, description="The JSON body sent, exactly as signed."
    )

    class Meta:
        model = WebhookDelivery
        name = "WebhookDelivery"
        interfaces = (Node,)
        fields = ("id", "endpoint", "attempts", "last_status_code", "last_error",
                  "response_excerpt", "next_attempt_at", "last_attempt_at", "delivered_at",
                  "created_at")
        connection_class = CountableConnection

    column_needs = {"status": ("status",), "event_type": ("event_id",),
                    "webhook_id": ("event_id",), "payload": ("event_id",)}

    def resolve_status(self, info):
        return WebhookDeliveryStatus.get(self.status)

    # graphene-django's get_node detour for foreign keys would assign the loader's Deferred
    # to the model instance (as products/types.py notes).
    @bypass_get_queryset
    def resolve_endpoint(self, info):
        return get_loader(info, WebhookEndpointByIdLoader).load(self.endpoint_id)

    def resolve_event_type(self, info):
        return _event(info, self).then(attrgetter("type"))

    def resolve_webhook_id(self, info):
        return _event(info, self).then(attrgetter("webhook_id"))

    def resolve_payload(self, info):
        return _event(info, self).then(attrgetter("body"))


def _event(info, delivery: WebhookDelivery):
    return get_loader(info, WebhookEventByIdLoader).load(delivery.event_id)


@describe_fields(
    url="Where events are POSTed: https, to a public address (unless allow-listed).",
    description="A note for people, up to 200 characters; empty when none was given.",
    is_active="Whether it receives events. Switched off automatically after "
    "WEBHOOK_DISABLE_AFTER_FAILURES deliveries in a row failed (see `disabledReason`).",
    disabled_reason="Why it was disabled automatically; empty otherwise.",
    disabled_at="When it was disabled automatically; null otherwise.",
    consecutive_failures="Deliveries in a row that failed for good; a success resets it.",
    previous_secret_expires_at="Until when the secret replaced by the last rotation still "
    "signs too (a second `v1,` signature); null if never rotated.",
    created_at="When it was registered.",
    updated_at="When it was last changed.",
)
class WebhookEndpointType(StaffOnly, DjangoObjectType):
    """A URL receiving signed events (Standard Webhooks). Staff only."""

    event_types = graphene.List(
        graphene.NonNull(WebhookEventType), required=True,
        description="The events it receives.",
    )
    deliveries = BoundedConnectionField(
        WebhookDeliveryType,
        status=WebhookDeliveryStatus(description="Only deliveries in this state."),
        description="Its deliveries, newest first.",
    )

    class Meta:
        model = WebhookEndpoint
        name = "WebhookEndpoint"
        interfaces = (Node,)
        fields = ("id", "url", "description", "is_active", "disabled_reason", "disabled_at",
                  "consecutive_failures", "previous_secret_expires_at", "created_at",
                  "updated_at")
        connection_class = CountableConnection

    column_needs = {"event_types": ("event_types",)}

    def resolve_event_types(self, info):
        return [WebhookEventType.get(name) for name in self.event_types]

    def resolve_deliveries(self, info, status=None, **kwargs):
        deliveries = WebhookDelivery.objects.filter(endpoint_id=self.pk)
        if status is not None:
            deliveries = deliveries.filter(status=event_type_value(status))
        return deliveries
