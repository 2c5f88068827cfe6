"""Webhook commit-to-receipt latency with one task worker, on SQLite (the embedded setup) and
optionally PostgreSQL.

    .venv/bin/python -m bench.webhooks [--events 1000] [--interval 0.1] [--pace 0.05]
                                       [--journal delete wal] [--postgres]

Per database it creates a fresh one (SQLite: var/bench-webhooks.sqlite3; PostgreSQL: a
`bench_webhooks` database on a pgserver under var/bench-postgres, as the test suite starts
one), migrates it, starts one `manage.py db_worker --queue-name webhooks` process as bin/run
does (its polling `--interval` is bin/run's WEBHOOK_WORKER_INTERVAL), registers a receiver on
loopback (this process: webhooks.testing.Receiver, the tests' receiver), and measures for
every event the time from the commit of its write (time.time() in the transaction's first
on_commit callback) to the moment the receiver got the request. Two workloads:

- **paced**: `--events` product updates, one transaction each, `--pace` seconds apart — a
  steady catalog below the worker's capacity; the latency is polling plus one delivery;
- **burst**: `--events` product updates in one transaction — an import; each waits behind
  the rest, so p99 is about the time to drain the burst (also printed as events per second).

SQLite runs under its default rollback journal (`delete`: several fsyncs per commit, which
bound a worker's throughput) and under `wal`, set on the bench's database file only (the
project's settings choose no journal mode). Prints p50 / p90 / p99 / max; no assertion on time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQLITE = ROOT / "var" / "bench-webhooks.sqlite3"
POSTGRES_DIR = ROOT / "var" / "bench-postgres"
ENV = {
    "DJANGO_SETTINGS_MODULE": "project.settings", "DEBUG": "0",
    "SECRET_KEY": "vitrine-bench-webhooks-secret-key-long-enough-for-hs256",
    "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
    "DATABASE_URL": f"sqlite:///{SQLITE}",
}


def postgres_url() -> str:
    """A fresh `bench_webhooks` database on the bench's own pgserver."""
    import pgserver

    POSTGRES_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(POSTGRES_DIR))
    server = pgserver.get_server(POSTGRES_DIR / "data", cleanup_mode="stop")
    server.psql("DROP DATABASE IF EXISTS bench_webhooks WITH (FORCE);")
    server.psql("CREATE DATABASE bench_webhooks;")
    return server.get_uri("bench_webhooks")


def fresh_sqlite(journal: str) -> None:
    from django.db import connection

    connection.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SQLITE}{suffix}").unlink(missing_ok=True)
    with connection.cursor() as cursor:  # persistent in the file: the worker uses it too
        cursor.execute(f"PRAGMA journal_mode={journal}")


def prepare(events: int):
    from django.core.management import call_command

    from products.models import Category, Product

    call_command("migrate", verbosity=0)
    category = Category.objects.create(name="Bench", slug="bench")
    return Product.objects.bulk_create(
        Product(name=f"p{index}", slug=f"p{index}", price=Decimal("1.00"), category=category)
        for index in range(events)
    )


def start_worker(interval: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--queue-name", "webhooks", "--no-reload",
         "--no-startup-delay", "--interval", str(interval), "-v0"],
        cwd=ROOT, env=os.environ.copy(), stdin=subprocess.DEVNULL,
    )


def update(product, label: str) -> None:
    product.description = label
    product.save(update_fields=["description", "updated_at"])


def committing(products, label: str) -> float:
    """Update `products` in one transaction; the time of its commit.

    Stamped by the transaction's first on_commit callback, which runs right after the commit
    and before the ones enqueuing the deliveries (they run in the order they were added)."""
    from django.db import transaction

    stamp: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: stamp.append(time.time()))
        for product in products:
            update(product, label)
    return stamp[0]


def paced(products, pace: float) -> dict[str, float]:
    from graphql_relay import to_global_id

    committed = {}
    for product in products:
        committed[to_global_id("Product", product.pk)] = committing([product], "paced")
        time.sleep(pace)
    return committed


def burst(products) -> dict[str, float]:
    from graphql_relay import to_global_id

    at = committing(products, "burst")
    return {to_global_id("Product", product.pk): at for product in products}


def latencies(receiver, start: int, committed: dict[str, float]) -> list[float]:
    received = receiver.wait_for(start + len(committed), timeout=900)[start:]
    return [request.at - committed[json.loads(request.body)["data"]["id"]]
            for request in received]


def row(name: str, values: list[float], suffix: str = "") -> str:
    cuts = statistics.quantiles(values, n=100)
    ms = [1000 * value for value in (cuts[49], cuts[89], cuts[98], max(values))]
    return f"{name:<40}" + "".join(f"{value:>10.1f}" for value in ms) + suffix


def measure(label: str, args: argparse.Namespace) -> None:
    from webhooks.models import WebhookEndpoint
    from webhooks.signing import new_secret
    from webhooks.testing import Receiver

    products = prepare(args.events)
    with Receiver() as receiver:
        WebhookEndpoint.objects.create(url=receiver.url, secret=new_secret(),
                                       event_types=["product.updated"])
        worker = start_worker(args.interval)
        try:
            paced_latency = latencies(receiver, 0, paced(products, args.pace))
            burst_latency = latencies(receiver, args.events, burst(products))
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    print(row(f"paced, {label}", paced_latency))
    print(row(f"burst, {label}", burst_latency,
              f"   ({args.events / max(burst_latency):.0f} events/s)"), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.1,
                        help="the worker's polling interval, seconds (bin/run: 0.1)")
    parser.add_argument("--pace", type=float, default=0.05,
                        help="seconds between the paced workload's commits")
    parser.add_argument("--journal", nargs="*", default=["delete", "wal"],
                        choices=["delete", "wal"], help="SQLite journal modes to measure")
    parser.add_argument("--postgres", action="store_true", help="also measure PostgreSQL")
    args = parser.parse_args()
    os.environ.update(ENV)
    if args.postgres:
        os.environ["DATABASE_URL"] = postgres_url()
    import django

    django.setup()
    print(f"{args.events} events per workload, one worker polling every {args.interval:g} s; "
          "milliseconds from commit to receipt")
    print(f"{'workload':<40}{'p50':>10}{'p90':>10}{'p99':>10}{'max':>10}")
    if args.postgres:
        measure("PostgreSQL", args)
        return
    for journal in args.journal:
        fresh_sqlite(journal)
        measure(f"SQLite, journal {journal}", args)


if __name__ == "__main__":
    main()
