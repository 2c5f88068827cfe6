"""The event types an endpoint may subscribe to, and what each one means.

Adding an event: a name here, a signal handler in webhooks/events.py recording it, and the
GraphQL enum (webhooks/types.py) follows from this list.
"""
from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "product.created": "A product was created (drafts included).",
    "product.updated": "A product's fields changed (a save through the ORM, admin or API).",
    "product.deleted": "A product was deleted; the payload is its last state.",
    "review.created": "A review was written.",
    "order.placed": "An order was placed, with its lines.",
    "order.cancelled": "An order was cancelled.",
}
# Sent by `sendTestWebhook` to one endpoint only; nobody subscribes to it.
TEST_EVENT = "webhook.test"
# The payload's `version`: bumped when an object's shape changes incompatibly.
PAYLOAD_VERSION = 1
