"""Two task workers on PostgreSQL (`manage.py db_worker` processes on the test database)
deliver 1,000 events: each exactly once, never two requests for one event at the same time,
none lost, and each object's events in commit order although two workers race for them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from products.models import Category, Product
from tests.live_server import BASE_DIR, _test_database_name, database_url, stop_process
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.signing import new_secret
from webhooks.testing import Receiver

pytestmark = pytest.mark.django_db(transaction=True)
PRODUCTS, ROUNDS = 250, 4  # 1,000 events: four updates of each of 250 products


def start_worker(database: str, log_path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(os.environ["DATABASE_URL"], database),
           "DEBUG": "0", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
           "DATABASE_CONN_MAX_AGE": "600"}  # as docs/webhooks.md advises for workers
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--queue-name", "webhooks",
             "--no-reload", "--no-startup-delay", "--interval", "0.05", "-v0",
             "--worker-id", log_path.stem],
            cwd=BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_until(done, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_two_workers_deliver_1000_events_once_each_in_order_per_object(tmp_path):
    category = Category.objects.create(name="Bulk", slug="bulk")
    products = Product.objects.bulk_create(
        Product(name=f"p{index}", slug=f"p{index}", price=Decimal("1.00"), category=category)
        for index in range(PRODUCTS)
    )
    database = _test_database_name()
    with Receiver() as receiver:
        WebhookEndpoint.objects.create(url=receiver.url, secret=new_secret(),
                                       event_types=["product.updated"])
        workers = [start_worker(database, tmp_path / f"worker{n}.log") for n in (1, 2)]
        try:
            for round_ in range(1, ROUNDS + 1):
                with transaction.atomic():
                    for product in products:
                        product.description = f"v{round_}"
                        product.save(update_fields=["description", "updated_at"])
            receiver.wait_for(PRODUCTS * ROUNDS, timeout=180)
            wait_until(lambda: not WebhookDelivery.objects.exclude(status="succeeded").exists(),
                       60, "deliveries still pending")
        finally:
            for worker in workers:
                stop_process(worker)
        logs = "".join((tmp_path / f"worker{n}.log").read_text() for n in (1, 2))

    requests = receiver.requests
    assert len(requests) == PRODUCTS * ROUNDS, logs[-3000:]
    assert len({request.webhook_id for request in requests}) == PRODUCTS * ROUNDS
    assert receiver.parallel_duplicates == []
    assert WebhookDelivery.objects.filter(status="succeeded", attempts=1).count() == 1000
    # Both workers did their share (their claims raced: the claim query decided).
    ran = DBTaskResult.objects.filter(return_value="succeeded").values_list("worker_ids",
                                                                           flat=True)
    shares = defaultdict(int)
    for worker_ids in ran:
        shares[worker_ids[-1]] += 1
    assert set(shares) == {"worker1", "worker2"} and sum(shares.values()) == 1000, shares
    versions = defaultdict(list)
    for request in sorted(requests, key=lambda request: request.at):
        data = json.loads(request.body)["data"]
        versions[data["id"]].append(data["description"])
    assert all(seen == ["v1", "v2", "v3", "v4"] for seen in versions.values())
