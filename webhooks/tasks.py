"""The task the workers run: one attempt at one delivery (`manage.py db_worker`)."""
from __future__ import annotations

from django_tasks import task

from webhooks import dispatch

QUEUE = "webhooks"


@task(queue_name=QUEUE)
def deliver(delivery_id: int) -> str:
    """Attempt `delivery_id` if it is due and no one else holds it; what happened, in words."""
    return dispatch.deliver(delivery_id)
