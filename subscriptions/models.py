"""The transactional outbox of live events (subscriptions/outbox.py)."""
from __future__ import annotations

from django.db import models


class Event(models.Model):
    """One product event, recorded in the transaction of the write it announces.

    Its id is the event's stable id (`extensions.eventId` on what subscribers receive): a
    client that sees one twice (after a reconnection) can drop the repeat.
    """

    kind = models.CharField(max_length=16)
    product_id = models.BigIntegerField()
    snapshot = models.JSONField(null=True, blank=True)
    """The row as it was when deleted (a deleted product cannot be loaded again)."""
    was_published = models.BooleanField(null=True)
    """Before an update, whether the product was published: who saw it before."""
    created_by_id = models.BigIntegerField(null=True)
    committed_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True)
    """When the channel layer took it; null until then (Redis down: it waits here)."""

    class Meta:
        indexes = [models.Index(fields=["published_at", "id"], name="subscriptions_unpublished")]

    def __str__(self) -> str:
        return f"{self.kind} product {self.product_id} (#{self.pk})"
