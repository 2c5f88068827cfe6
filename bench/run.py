"""Catalog page benchmark: Vitrine with loaders vs. without (N+1) vs. a hand-written view.

    .venv/bin/python -m bench.run [--seconds 3] [--products 2000] [--no-http]

Prints SQL queries per request and requests/second, in-process (Django's test client) and
over HTTP against the ASGI server (uvicorn, one worker), each as a ratio to the hand-written
view and to the N+1 schema, all measured in the same run. No assertion on time anywhere.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from products.models import Product  # noqa: E402

PAGE_QUERY = """query CatalogPage($first: Int!) {
  products(first: $first) { edges { node {
    name slug price isAvailable avgRating reviewCount
    category { name slug }
    images { url altText }
    reviews(first: 5) { edges { node { rating title author { username } } } }
  } } }
}"""
SIZES = (10, 50, 100)
SCENARIOS = ("loaders", "naive", "handwritten")


def request_for(scenario: str, first: int) -> tuple[str, str, bytes]:
    if scenario == "handwritten":
        return "GET", f"/bench/catalog/?first={first}", b""
    body = json.dumps({"query": PAGE_QUERY, "variables": {"first": first}}).encode()
    return "POST", "/graphql/", body


def in_process(scenario: str, first: int, seconds: float) -> tuple[int, float, bytes]:
    """(queries per request, requests per second, response body) with Django's test client."""
    method, path, body = request_for(scenario, first)
    client = Client()

    def call():
        if method == "GET":
            return client.get(path)
        return client.post(path, body, content_type="application/json")

    with override_settings(DATALOADER_BATCHING=scenario != "naive"):
        with CaptureQueriesContext(connection) as captured:
            response = call()
        # Read now: every request start clears Django's query log.
        queries = len(captured)
        count = 0
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            call()
            count += 1
    return queries, count / elapsed, response.content


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AsgiServer:
    def __init__(self, batching: bool) -> None:
        self.port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings",
               "DATALOADER_BATCHING": "1" if batching else "0"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "project.asgi:application", "--port",
             str(self.port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def over_http(port: int, scenario: str, first: int, seconds: float) -> float:
    method, path, body = request_for(scenario, first)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port)

    def call():
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status

    for _ in range(3):
        call()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        call()
        count += 1
    conn.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    if Product.objects.count() < args.products:
        call_command("seed_catalog", products=args.products, quiet=True)
    print(f"Catalog: {Product.objects.count()} products on {connection.vendor}; "
          f"{args.seconds:g} s per measurement.\n")

    results = {}
    for first in SIZES:
        bodies = {}
        for scenario in SCENARIOS:
            queries, rps, bodies[scenario] = in_process(scenario, first, args.seconds)
            results[scenario, first] = {"queries": queries, "in_process": rps}
        data = {scenario: json.loads(body)["data"] for scenario, body in bodies.items()}
        assert data["loaders"] == data["handwritten"], "unfair comparison: the data differ"
        assert data["naive"] == data["loaders"]

    if not args.no_http:
        for scenario in SCENARIOS:
            server = AsgiServer(batching=scenario != "naive")
            try:
                for first in SIZES:
                    results[scenario, first]["http"] = over_http(
                        server.port, scenario, first, args.seconds
                    )
            finally:
                server.stop()

    report(results, http=not args.no_http)


def report(results: dict, http: bool) -> None:
    modes = ["in_process", *(["http"] if http else [])]
    header = "| first | scenario | SQL queries | " + " | ".join(
        f"{mode} req/s | x hand-written | x naive" for mode in modes) + " |"
    print(header)
    print("|" + "---|" * (3 + 3 * len(modes)))
    for first in SIZES:
        for scenario in SCENARIOS:
            row = results[scenario, first]
            cells = [str(first), scenario, str(row["queries"])]
            for mode in modes:
                rps = row[mode]
                cells += [f"{rps:.1f}",
                          f"{rps / results['handwritten', first][mode]:.2f}",
                          f"{rps / results['naive', first][mode]:.1f}"]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
