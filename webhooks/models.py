"""Endpoints integrators register, the events they receive, and one delivery per pair.

A `WebhookEvent` is written once, in the transaction of the write it reports, with the exact
body every endpoint receives (so retries and redeliveries send the same bytes). A
`WebhookDelivery` is that event's progress towards one endpoint: attempts, the last answer,
when to try again. `object_key` ("Product:42") is copied onto the delivery so the ordering rule
(per endpoint and object, in commit order: webhooks/dispatch.py) is one indexed lookup.
"""
from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Event type names ("product.created"), at least one (webhooks/catalog.py lists them).
    event_types = models.JSONField(default=list)
    # "whsec_" + base64: the Standard Webhooks secret format (webhooks/signing.py).
    secret = models.CharField(max_length=100)
    # After a rotation the old secret also signs until previous_secret_expires_at.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    # Why the endpoint was disabled automatically (empty when active or disabled by hand).
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Deliveries that failed for good in a row; reset by a success or by re-enabling.
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.event_types

    def signing_secrets(self, now=None) -> list[str]:
        """The current secret, and the previous one while its grace period lasts."""
        now = now or timezone.now()
        secrets = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and expires > now:
            secrets.append(self.previous_secret)
        return secrets


class WebhookEvent(models.Model):
    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=64)
    object_key = models.CharField(max_length=64)
    # The JSON body sent; empty until rendered when the object is complete only after the write
    # that fired the event (an order's lines: webhooks/events.py).
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.object_key}"

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` header: the same on every attempt and redelivery."""
        return f"msg_{self.message_id.hex}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, related_name="deliveries", on_delete=models.CASCADE
    )
    event = models.ForeignKey(WebhookEvent, related_name="deliveries", on_delete=models.CASCADE)
    object_key = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # Held by the worker sending it (webhooks/dispatch.py): no second worker sends it meanwhile.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "object_key", "status", "id"]),
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "-created_at", "-id"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint} ({self.status})"
