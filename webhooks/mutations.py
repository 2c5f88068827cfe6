"""Staff writes on webhooks: thin wrappers around webhooks.services."""
from __future__ import annotations

import graphene

from schema.mutations import Mutation
from schema.node import decode_global_id
from webhooks import services
from webhooks.types import (
    WebhookDeliveryType,
    WebhookEndpointType,
    WebhookEventType,
    event_type_value,
)

SECRET_DESCRIPTION = (
    "The signing secret (`whsec_...`, Standard Webhooks): returned only here and by "
    "`rotateWebhookSecret`. Store it now."
)


def event_types_arg(required: bool) -> graphene.List:
    return graphene.List(
        graphene.NonNull(WebhookEventType), required=required,
        description="The events to receive, at least one (REQUIRED).",
    )


def _event_types(values) -> list[str]:
    return [event_type_value(value) for value in values]


class CreateWebhookEndpoint(Mutation):
    """Register a URL to receive events, signed with a new secret. Staff only. The URL must be
    https and resolve to public addresses only (INSECURE_URL, UNSAFE_URL on `url`), unless its
    host is in WEBHOOK_ALLOWED_HOSTS."""

    endpoint = graphene.Field(WebhookEndpointType, description="The new endpoint.")
    secret = graphene.String(description=SECRET_DESCRIPTION)

    class Input:
        url = graphene.String(required=True, description="Where to POST the events.")
        event_types = event_types_arg(required=True)
        description = graphene.String(description="A note for people, up to 200 characters.")
        is_active = graphene.Boolean(
            default_value=True, description="Receive events now (true by default)."
        )

    @classmethod
    def perform(cls, info, url, event_types, description="", is_active=True):
        endpoint, secret = services.create_endpoint(
            info.context.user, url=url, event_types=_event_types(event_types),
            description=description or "", is_active=is_active,
        )
        return cls(endpoint=endpoint, secret=secret)


class UpdateWebhookEndpoint(Mutation):
    """Change an endpoint; omitted fields keep their values. Enabling a disabled endpoint
    clears `disabledReason` and `consecutiveFailures`. Staff only."""

    endpoint = graphene.Field(WebhookEndpointType, description="The endpoint, changed.")

    class Input:
        id = graphene.ID(required=True, description="The WebhookEndpoint ID.")
        url = graphene.String(description="A new URL, checked like at registration.")
        event_types = event_types_arg(required=False)
        description = graphene.String(description="A note for people, up to 200 characters.")
        is_active = graphene.Boolean(description="Receive events (true) or not (false).")

    @classmethod
    def perform(cls, info, id, **changes):
        if changes.get("event_types") is not None:
            changes["event_types"] = _event_types(changes["event_types"])
        changes = {name: value for name, value in changes.items() if value is not None}
        endpoint_id = decode_global_id(id, "WebhookEndpoint")
        return cls(endpoint=services.update_endpoint(info.context.user, endpoint_id, **changes))


class DeleteWebhookEndpoint(Mutation):
    """Delete an endpoint and its deliveries; pending ones are not sent. Staff only."""

    deleted_id = graphene.ID(description="The ID of the deleted endpoint.")

    class Input:
        id = graphene.ID(required=True, description="The WebhookEndpoint ID.")

    @classmethod
    def perform(cls, info, id):
        services.delete_endpoint(info.context.user, decode_global_id(id, "WebhookEndpoint"))
        return cls(deleted_id=id)


class RotateWebhookSecret(Mutation):
    """Give an endpoint a new secret. During the grace period every delivery carries two
    signatures, one per secret, so the receiver can switch without a gap. Staff only."""

    endpoint = graphene.Field(WebhookEndpointType, description="The endpoint.")
    secret = graphene.String(description=SECRET_DESCRIPTION)

    class Input:
        id = graphene.ID(required=True, description="The WebhookEndpoint ID.")
        grace_period_seconds = graphene.Int(
            description="How long the old secret keeps signing too: 0 (stop at once) to "
            "604800 (7 days), OUT_OF_RANGE otherwise; WEBHOOK_SECRET_GRACE_SECONDS (a day) "
            "by default."
        )

    @classmethod
    def perform(cls, info, id, grace_period_seconds=None):
        endpoint, secret = services.rotate_secret(
            info.context.user, decode_global_id(id, "WebhookEndpoint"), grace_period_seconds
        )
        return cls(endpoint=endpoint, secret=secret)


class RedeliverWebhook(Mutation):
    """Send a delivery's event again to its endpoint (which must be active, else
    ENDPOINT_DISABLED on `id`): a new delivery with the same `webhook-id` and body. Staff
    only."""

    delivery = graphene.Field(WebhookDeliveryType, description="The new delivery, PENDING.")

    class Input:
        id = graphene.ID(required=True, description="The WebhookDelivery ID.")

    @classmethod
    def perform(cls, info, id):
        delivery = services.redeliver(info.context.user, decode_global_id(id, "WebhookDelivery"))
        return cls(delivery=delivery)


class SendTestWebhook(Mutation):
    """Send a `webhook.test` event to one active endpoint (else ENDPOINT_DISABLED on `id`),
    to check the receiver and its signature verification. Staff only."""

    delivery = graphene.Field(WebhookDeliveryType, description="Its delivery, PENDING.")

    class Input:
        id = graphene.ID(required=True, description="The WebhookEndpoint ID.")

    @classmethod
    def perform(cls, info, id):
        delivery = services.send_test(info.context.user, decode_global_id(id, "WebhookEndpoint"))
        return cls(delivery=delivery)


class Mutations(graphene.ObjectType):
    create_webhook_endpoint = CreateWebhookEndpoint.Field()
    update_webhook_endpoint = UpdateWebhookEndpoint.Field()
    delete_webhook_endpoint = DeleteWebhookEndpoint.Field()
    rotate_webhook_secret = RotateWebhookSecret.Field()
    redeliver_webhook = RedeliverWebhook.Field()
    send_test_webhook = SendTestWebhook.Field()
