"""Staff reads: the registered endpoints (each with its deliveries)."""
import graphene

from schema.pagination import BoundedConnectionField
from webhooks import services
from webhooks.models import WebhookEndpoint
from webhooks.types import WebhookEndpointType


class Query(graphene.ObjectType):
    webhook_endpoints = BoundedConnectionField(
        WebhookEndpointType,
        description="Registered webhook endpoints, newest first. Staff only (UNAUTHENTICATED, "
        "FORBIDDEN).",
    )

    def resolve_webhook_endpoints(self, info, **kwargs):
        services.require_staff(info.context.user)
        return WebhookEndpoint.objects.all()
