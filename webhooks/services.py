"""Managing endpoints and deliveries: staff only, the same rules for GraphQL and the admin.

Functions raise Django's ValidationError keyed by input field for problems with the input
(the schema turns them into `errors`), NotFound for a missing target, and UNAUTHENTICATED /
FORBIDDEN for who is asking.
"""
from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.viewer import is_staff
from webhooks import dispatch, payloads, safety, signing
from webhooks.catalog import EVENT_TYPES, TEST_EVENT
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

MAX_GRACE_SECONDS = 7 * 24 * 3600


def require_staff(user) -> None:
    permissions.require_authenticated(user, "Sign in to manage webhooks.")
    if not is_staff(user):
        raise PermissionDenied("Only staff manage webhooks.")


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def check_url(url: str) -> None:
    """Refuse a URL we would not deliver to (webhooks/safety.py), as a `url` field error."""
    try:
        safety.vet(url)
    except safety.RefusedURL as error:
        raise _error("url", str(error), error.code) from None


def _event_types(event_types: list[str]) -> list[str]:
    if not event_types:
        raise _error("event_types", "Subscribe to at least one event type.", "required")
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise _error("event_types", f"Unknown event types: {', '.join(unknown)}.", "invalid")
    return [name for name in EVENT_TYPES if name in event_types]


def _endpoint(endpoint_id: int, *, lock: bool = False) -> WebhookEndpoint:
    endpoints = WebhookEndpoint.objects.select_for_update() if lock else WebhookEndpoint.objects
    endpoint = endpoints.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise WebhookEndpoint.DoesNotExist("Webhook endpoint not found.")
    return endpoint


def _save(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.full_clean()
    check_url(endpoint.url)
    endpoint.save()
    return endpoint


@transaction.atomic
def create_endpoint(user, *, url: str, event_types: list[str], description: str = "",
                    is_active: bool = True) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (which only this and `rotate_secret` return)."""
    require_staff(user)
    endpoint = WebhookEndpoint(url=url, description=description, is_active=is_active,
                               event_types=_event_types(event_types),
                               secret=signing.new_secret())
    return _save(endpoint), endpoint.secret


@transaction.atomic
def update_endpoint(user, endpoint_id: int, **changes) -> WebhookEndpoint:
    """Change the given fields; enabling an endpoint clears why it was disabled."""
    require_staff(user)
    endpoint = _endpoint(endpoint_id, lock=True)
    if "event_types" in changes:
        changes["event_types"] = _event_types(changes["event_types"])
    if changes.get("is_active") and not endpoint.is_active:
        endpoint.consecutive_failures, endpoint.disabled_reason = 0, ""
        endpoint.disabled_at = None
    for name, value in changes.items():
        setattr(endpoint, name, value)
    return _save(endpoint)


@transaction.atomic
def delete_endpoint(user, endpoint_id: int) -> None:
    """Delete the endpoint and its deliveries: pending ones are not sent."""
    require_staff(user)
    _endpoint(endpoint_id).delete()


@transaction.atomic
def rotate_secret(user, endpoint_id: int, grace_seconds: int | None = None
                  ) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one also signs for `grace_seconds` (WEBHOOK_SECRET_GRACE_SECONDS
    by default, 0 to stop at once), so receivers can switch without missing a delivery."""
    require_staff(user)
    if grace_seconds is None:
        grace_seconds = settings.WEBHOOK_SECRET_GRACE_SECONDS
    if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
        raise _error("grace_period_seconds",
                     f"Give 0 to {MAX_GRACE_SECONDS} seconds (7 days).", "out_of_range")
    endpoint = _endpoint(endpoint_id, lock=True)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = (
        timezone.now() + datetime.timedelta(seconds=grace_seconds)
    )
    endpoint.secret = signing.new_secret()
    endpoint.save()
    return endpoint, endpoint.secret


def _queue(event: WebhookEvent, endpoint: WebhookEndpoint) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, object_key=event.object_key,
        next_attempt_at=timezone.now(),
    )
    dispatch.schedule(event.pk, [delivery.pk], render=not event.body)
    return delivery


@transaction.atomic
def redeliver(user, delivery_id: int) -> WebhookDelivery:
    """Send a delivery's event to its endpoint again: a new delivery, with the same
    `webhook-id` and body (receivers that already have it can tell)."""
    require_staff(user)
    original = WebhookDelivery.objects.select_related("event", "endpoint") \
        .filter(pk=delivery_id).first()
    if original is None:
        raise WebhookDelivery.DoesNotExist("Webhook delivery not found.")
    if not original.endpoint.is_active:
        raise _error("id", "The endpoint is disabled: enable it first.", "endpoint_disabled")
    return _queue(original.event, original.endpoint)


@transaction.atomic
def send_test(user, endpoint_id: int) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint only; like any event, only to an active one."""
    require_staff(user)
    endpoint = _endpoint(endpoint_id)
    if not endpoint.is_active:
        raise _error("id", "The endpoint is disabled: enable it first.", "endpoint_disabled")
    now = timezone.now()
    event = WebhookEvent.objects.create(
        type=TEST_EVENT, object_key=f"WebhookEndpoint:{endpoint.pk}", created_at=now,
        body=payloads.body(TEST_EVENT, now, payloads.test_object(endpoint)),
    )
    return _queue(event, endpoint)
