"""Per-request loaders for a page of deliveries: their events and endpoints in one query
each, not one per row (staff only: the types that use them are)."""
from __future__ import annotations

from dataloaders.loader import Loader
from webhooks.models import WebhookEndpoint, WebhookEvent


class WebhookEventByIdLoader(Loader):
    def batch_load(self, keys):
        events = WebhookEvent.objects.in_bulk(keys)
        return [events.get(key) for key in keys]


class WebhookEndpointByIdLoader(Loader):
    def batch_load(self, keys):
        endpoints = WebhookEndpoint.objects.in_bulk(keys)
        return [endpoints.get(key) for key in keys]
