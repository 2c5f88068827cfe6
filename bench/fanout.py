"""Subscription fan-out benchmark: N websocket subscribers, one product update.

    .venv/bin/python -m bench.fanout [--subscribers 100 1000 10000] [--updates 3]
                                     [--protocol graphql-transport-ws | graphql-ws]
                                     [--viewers anonymous | staff]
                                     [--uvicorn-args "--ws-per-message-deflate false"]

Starts one uvicorn process (DEBUG off, in-memory channel layer, SQLite in var/), opens N
connections from this process (the `websockets` library), each subscribing as an anonymous
viewer to `productUpdated { id name price stock }`; all of them form one group, so the schema
runs once per update. With `--viewers staff` each subscriber signs in instead, as a staff
user of its own (a JWT in connection_init): still one group, but before every event the hub
checks all their credentials again (subscriptions/hub.py), which this measures. Then it
updates the product over HTTP (updateProduct, API-key authenticated) and measures, for every
subscriber, the time from the commit (the server stamps `extensions.committedAt` when
SUBSCRIPTIONS_COMMIT_TIMESTAMPS=1) to the moment this process read the message: p50 / p99 /
max over all deliveries of all updates.

Memory per idle connection: the server's RSS after N subscribed, minus before, over N; "before"
is measured after one subscriber has connected, subscribed and left, so what the first
subscription loads once (the schema, the subscriptions hub) is not counted per connection.
Client and server share the machine's cores, so latencies include the client's own time to
read N messages. To keep the measuring client's own overhead small, it runs on uvloop (as
the server does) and its garbage collector is paused while the updates are read (a full
collection over 10,000 client connections stalls every reading socket at once). Prints a
table; no assertion on time.

uvicorn runs with `--ws-per-message-deflate false` unless --uvicorn-args says otherwise: the
compression context of permessage-deflate (which the `websockets` client offers by default)
costs about 34 KiB of server memory per idle connection, and compressing every event once per
subscriber costs CPU on the fan-out; pass --uvicorn-args "" to measure with it.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_PATH = ROOT / "var" / "bench-fanout.sqlite3"
SECRET = "vitrine-fanout-benchmark-secret-key-not-for-production"
ENV = {
    "DJANGO_SETTINGS_MODULE": "project.settings",
    "SECRET_KEY": SECRET,
    "DEBUG": "0",
    "DATABASE_URL": f"sqlite:///{DB_PATH}",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SUBSCRIPTIONS_COMMIT_TIMESTAMPS": "1",
    "LOG_LEVEL": "WARNING",
    "GRAPHQL_THROTTLE_ENABLED": "0",
    # Connecting thousands of sockets on a busy 2-core machine can take longer than 3 s.
    "SUBSCRIPTIONS_INIT_TIMEOUT": "60",
}
SUBSCRIPTION = "subscription { productUpdated { id name price stock } }"
UVICORN_ARGS = "--ws-per-message-deflate false"


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def prepare_database(staff_viewers: int) -> tuple[str, str, list[dict]]:
    """A fresh SQLite catalog with one product and a staff API key, and connection_init
    payloads: (product id, key, payloads), one payload per staff viewer, else one empty."""
    os.environ.update(ENV)
    DB_PATH.parent.mkdir(exist_ok=True)
    DB_PATH.unlink(missing_ok=True)
    import django

    django.setup()
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from graphql_relay import to_global_id

    from accounts.models import ApiKey
    from products.models import Category, Product

    call_command("migrate", verbosity=0)
    staff = get_user_model().objects.create_user("bench", "b@example.com", "pw", is_staff=True)
    category = Category.objects.create(name="Bench", slug="bench")
    product = Product.objects.create(
        name="Fan-out", price=Decimal("9.99"), stock=3, is_published=True, category=category,
        created_by=staff,
    )
    from graphql_jwt.shortcuts import get_token

    viewers = get_user_model().objects.bulk_create(
        get_user_model()(username=f"viewer{number}", is_staff=True, password="!")
        for number in range(staff_viewers)
    )
    payloads = [{"authorization": f"Bearer {get_token(user)}"} for user in viewers] or [{}]
    return to_global_id("Product", product.pk), ApiKey.issue(staff, "bench")[1], payloads


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, extra_args: list[str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "project.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--lifespan", "off", "--log-level", "warning",
             "--no-access-log", "--backlog", "4096", *extra_args],
            cwd=ROOT, env={**os.environ, **ENV}, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not start")

    def rss(self) -> int:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # still closing thousands of sockets gracefully
            self.process.kill()
            self.process.wait(timeout=10)


def update(port: int, product_id: str, key: str, name: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql/",
        data=json.dumps({
            "query": "mutation U($input: UpdateProductInput!) "
                     "{ updateProduct(input: $input) { product { id } } }",
            "variables": {"input": {"id": product_id, "name": name}},
        }).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": key},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.load(response)
    if body.get("errors"):
        raise RuntimeError(body["errors"])


async def subscriber(port: int, protocol: str, init: dict, ready: asyncio.Queue,
                     arrivals: list, expected: int, finished: asyncio.Event) -> None:
    try:
        await subscribe(port, protocol, init, ready, arrivals, expected, finished)
    except Exception as error:
        await ready.put(error)  # reported by run(), instead of waiting forever
        raise


async def subscribe(port: int, protocol: str, init: dict, ready: asyncio.Queue,
                    arrivals: list, expected: int, finished: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"ws://127.0.0.1:{port}/graphql/", subprotocols=[protocol],
                       origin="http://localhost", max_queue=None, ping_interval=None,
                       open_timeout=120) as socket_:
        await socket_.send(json.dumps({"type": "connection_init", "payload": init}))
        while json.loads(await socket_.recv())["type"] != "connection_ack":
            pass
        kind = "subscribe" if protocol == "graphql-transport-ws" else "start"
        await socket_.send(
            json.dumps({"id": "1", "type": kind, "payload": {"query": SUBSCRIPTION}})
        )
        if protocol == "graphql-transport-ws":
            await socket_.send(json.dumps({"type": "ping"}))  # answered after the subscribe
            while json.loads(await socket_.recv())["type"] != "pong":
                pass
        else:
            await socket_.send(json.dumps({"id": "s", "type": "start",
                                           "payload": {"query": "{ __typename }"}}))
            while json.loads(await socket_.recv()).get("type") != "complete":
                pass
        await ready.put(None)
        received = 0
        while received < expected:
            message = json.loads(await socket_.recv())
            if message.get("type") in ("next", "data"):
                arrivals.append(time.time() - message["payload"]["extensions"]["committedAt"])
                received += 1
        # Stay connected until every subscriber has its last update: closing thousands of
        # sockets while the last fan-out is still being read is not part of its latency.
        await finished.wait()


async def warm_up(port: int, protocol: str, init: dict) -> None:
    """One subscriber that connects, subscribes and leaves."""
    leave = asyncio.Event()
    leave.set()
    await subscribe(port, protocol, init, asyncio.Queue(), [], 0, leave)


async def run(count: int, protocol: str, updates: int, product_id: str, key: str,
              inits: list[dict], uvicorn_args: list[str]) -> dict:
    server = Server(uvicorn_args)
    try:
        await asyncio.sleep(1.0)
        await warm_up(server.port, protocol, inits[0])
        rss_before = server.rss()
        ready: asyncio.Queue = asyncio.Queue()
        finished = asyncio.Event()
        arrivals: list[float] = []
        started = time.monotonic()
        tasks = []
        batch = 100  # connect in batches: the server's accept backlog is finite
        for start in range(0, count, batch):
            for _ in range(min(batch, count - start)):
                tasks.append(asyncio.create_task(
                    subscriber(server.port, protocol, inits[len(tasks) % len(inits)], ready,
                               arrivals, updates, finished)
                ))
            for _ in range(min(batch, count - start)):
                if (failure := await ready.get()) is not None:
                    raise RuntimeError(f"a subscriber failed: {failure!r}")
        connect_seconds = time.monotonic() - started
        await asyncio.sleep(1.0)
        rss_idle = server.rss()
        gc.collect()
        gc.disable()
        per_update = []
        for number in range(updates):
            before = len(arrivals)
            sent = time.monotonic()
            await asyncio.to_thread(update, server.port, product_id, key, f"Fan-out {number}")
            while len(arrivals) < before + count:
                await asyncio.sleep(0.005)
                if time.monotonic() - sent > 120:
                    raise RuntimeError(f"only {len(arrivals) - before}/{count} deliveries")
            per_update.append(time.monotonic() - sent)
        finished.set()
        gc.enable()
        await asyncio.gather(*tasks)
        arrivals.sort()
        return {
            "subscribers": count,
            "connect_s": connect_seconds,
            "p50_ms": 1000 * statistics.median(arrivals),
            "p99_ms": 1000 * arrivals[min(len(arrivals) - 1, int(len(arrivals) * 0.99))],
            "max_ms": 1000 * arrivals[-1],
            "update_to_last_delivery_ms": 1000 * statistics.median(per_update),
            "kib_per_connection": (rss_idle - rss_before) / count / 1024,
        }
    finally:
        gc.enable()
        server.stop()


def main() -> None:
    import uvloop

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--protocol", default="graphql-transport-ws",
                        choices=["graphql-transport-ws", "graphql-ws"])
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--viewers", default="anonymous", choices=["anonymous", "staff"])
    parser.add_argument("--uvicorn-args", default=UVICORN_ARGS,
                        help=f"extra uvicorn options (default: {UVICORN_ARGS!r})")
    args = parser.parse_args()
    limit = raise_fd_limit()
    staff_viewers = max(args.subscribers) if args.viewers == "staff" else 0
    product_id, key, inits = prepare_database(staff_viewers)
    uvicorn_args = shlex.split(args.uvicorn_args)
    print(f"protocol {args.protocol}, {args.viewers} viewers, {args.updates} updates per run, "
          f"one uvicorn worker "
          f"({' '.join(uvicorn_args) or 'default options'}), in-memory channel layer, SQLite; "
          f"open-file limit {limit}")
    header = (f"{'subscribers':>11} {'connect s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'last ms':>8} {'KiB/conn':>8}")
    print(header)
    for count in args.subscribers:
        if count + 100 > limit:
            print(f"{count:>11} skipped: the open-file limit is {limit}")
            continue
        result = uvloop.run(
            run(count, args.protocol, args.updates, product_id, key, inits, uvicorn_args)
        )
        print(f"{result['subscribers']:>11} {result['connect_s']:>9.1f} {result['p50_ms']:>8.1f} "
              f"{result['p99_ms']:>8.1f} {result['max_ms']:>8.1f} "
              f"{result['update_to_last_delivery_ms']:>8.1f} "
              f"{result['kib_per_connection']:>8.1f}", flush=True)
    print("p50/p99/max: commit → message read by the client, over all deliveries; "
          "last: HTTP update sent → last subscriber served (median over updates).")


if __name__ == "__main__":
    main()
