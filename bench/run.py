"""Catalog page benchmark: Vitrine vs. a hand-written view vs. Django REST framework vs. N+1.

    .venv/bin/python -m bench.run [--quick] [--no-naive] [--no-http] [--profile [SCENARIO]]
        [--seconds 2] [--rounds 3] [--first 10 50 100] [--products 2000]

For each page size, every scenario answers the same catalog page; their data are checked
equal (DRF's JSON mapped to the GraphQL shape) before anything is timed. Then, in rounds —
round 1 measures every scenario once, round 2 every scenario again, and so on, each round
starting one scenario further on — it measures requests/second in-process (Django's test
client, with per-request latencies) and over HTTP (one uvicorn worker per scenario, one
keep-alive connection). Every figure printed is the median over the rounds, and ratios are
ratios of those medians; interleaving lets machine load fall on every scenario alike.

No assertion on time anywhere: only the data check can fail.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import http.client
import json
import math
import os
import pstats
import re
import socket
import statistics
import subprocess
import sys
import sysconfig
import time
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

# Django REST framework is a bench-only extra (bin/bench installs it): without it the other
# scenarios still run, and the report says how to add the DRF baseline.
HAS_DRF = find_spec("rest_framework") is not None

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

if HAS_DRF:
    from bench.drf import as_graphql_data
from products.models import Product  # noqa: E402
from project.collector import settle_after_startup  # noqa: E402

PAGE_QUERY = """query CatalogPage($first: Int!) {
  products(first: $first) { edges { node {
    name slug price isAvailable avgRating reviewCount
    category { name slug }
    images { url altText }
    reviews(first: 5) { edges { node { rating title author { username } } } }
  } } }
}"""
SIZES = (10, 50, 100)
SCENARIOS = ("vitrine", "cached", "handwritten", "drf", "naive") if HAS_DRF else (
    "vitrine", "cached", "handwritten", "naive"
)
DESCRIPTIONS = {
    "vitrine": "Vitrine executing every request (GRAPHQL_RESPONSE_CACHE=0)",
    "cached": "Vitrine as shipped: the anonymous page from the response cache",
    "handwritten": "bench/handwritten.py",
    "drf": "bench/drf.py (Django REST framework)",
    "naive": "Vitrine with DATALOADER_BATCHING=0 (N+1)",
}
MIN_REQUESTS = 3  # per cell, however slow the scenario (naive at 100 takes seconds)


def request_for(scenario: str, first: int) -> tuple[str, str, bytes]:
    if scenario == "handwritten":
        return "GET", f"/bench/catalog/?first={first}", b""
    if scenario == "drf":
        return "GET", f"/bench/drf/catalog/?first={first}", b""
    body = json.dumps({"query": PAGE_QUERY, "variables": {"first": first}}).encode()
    return "POST", "/graphql/", body


def data_of(scenario: str, body: bytes):
    """The page's data in the GraphQL shape, or SystemExit naming what came back instead."""
    payload = json.loads(body)
    if scenario == "drf":
        return as_graphql_data(payload)
    errors = payload.get("errors") or []
    if errors or "data" not in payload:
        first_error = json.dumps(errors[0]) if errors else json.dumps(payload)[:500]
        sys.exit(f"{scenario} answered {len(errors)} error(s); the first: {first_error}")
    return payload["data"]


def differences(expected, actual, path: str = "data"):
    """(path, expected, actual) for every place where two JSON values differ."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected.keys() | actual.keys():
            if key not in actual:
                yield f"{path}.{key}", expected[key], "<missing>"
            elif key not in expected:
                yield f"{path}.{key}", "<missing>", actual[key]
            else:
                yield from differences(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            yield f"{path} (length)", len(expected), len(actual)
        for index, (left, right) in enumerate(zip(expected, actual, strict=False)):
            yield from differences(left, right, f"{path}[{index}]")
    elif expected != actual or type(expected) is not type(actual):
        yield path, expected, actual


def check_identical(first: int, data: dict, where: str) -> None:
    """Exit, listing the differences, unless every scenario returned Vitrine's data."""
    reference = data["vitrine"]
    failures = []
    for scenario, value in data.items():
        found = list(differences(reference, value))
        if found:
            failures.append(f"  {scenario} differs from vitrine in {len(found)} place(s):")
            failures += [f"    {path}: vitrine {left!r}, {scenario} {right!r}"
                         for path, left, right in found[:10]]
    if failures:
        sys.exit(f"Unfair comparison at first={first} ({where}): the data differ.\n"
                 + "\n".join(failures))


def client_call(scenario: str, first: int):
    method, path, body = request_for(scenario, first)
    client = Client()
    if method == "GET":
        return lambda: client.get(path)
    return lambda: client.post(path, body, content_type="application/json")


def scenario_settings(scenario: str) -> dict:
    return {"DATALOADER_BATCHING": scenario != "naive",
            "GRAPHQL_RESPONSE_CACHE": scenario == "cached"}


def in_process_check(scenario: str, first: int) -> tuple[int, object]:
    """(SQL queries per request, the page's data), from one request (for the cached
    scenario, the one after the request that filled the cache)."""
    with override_settings(**scenario_settings(scenario)):
        call = client_call(scenario, first)
        if scenario == "cached":
            call()
        with CaptureQueriesContext(connection) as captured:
            response = call()
        queries = len(captured)  # read now: every request start clears Django's query log
    if response.status_code != 200:
        sys.exit(f"{scenario} at first={first}: HTTP {response.status_code}")
    return queries, data_of(scenario, response.content)


def in_process_cell(scenario: str, first: int, seconds: float) -> tuple[float, float, list]:
    """(requests per second, CPU seconds per request, each request's latency in seconds) with
    Django's test client. CPU time is this process's: load from elsewhere barely moves it."""
    with override_settings(**scenario_settings(scenario)):
        call = client_call(scenario, first)
        call()  # a fresh client: settle it outside the timing
        gc.collect()  # the previous cell's garbage is not this one's to collect
        latencies = []
        cpu = time.process_time()
        started = before = time.perf_counter()
        while True:
            response = call()
            after = time.perf_counter()
            latencies.append(after - before)
            if response.status_code != 200:
                sys.exit(f"{scenario} at first={first}: HTTP {response.status_code}")
            if after - started >= seconds and len(latencies) >= MIN_REQUESTS:
                break
            before = after
        cpu = time.process_time() - cpu
    return len(latencies) / (after - started), cpu / len(latencies), latencies


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AsgiServer:
    """One uvicorn worker on project.asgi, as bin/run starts it, on a free local port."""

    def __init__(self, scenario: str) -> None:
        self.port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings",
               **{name: "1" if value else "0"
                  for name, value in scenario_settings(scenario).items()}}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "project.asgi:application", "--port",
             str(self.port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env,
        )

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def http_call(port: int, scenario: str, first: int):
    method, path, body = request_for(scenario, first)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call() -> bytes:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        content = response.read()
        if response.status != 200:
            sys.exit(f"{scenario} at first={first} over HTTP: {response.status} {content[:500]}")
        return content

    return conn, call


def http_check(port: int, scenario: str, first: int):
    conn, call = http_call(port, scenario, first)
    try:
        return data_of(scenario, call())
    finally:
        conn.close()


def http_cell(port: int, scenario: str, first: int, seconds: float) -> float:
    """Requests per second over one keep-alive connection."""
    conn, call = http_call(port, scenario, first)
    try:
        call()  # opens the connection
        count, started = 0, time.perf_counter()
        while True:
            call()
            count += 1
            elapsed = time.perf_counter() - started
            if elapsed >= seconds and count >= MIN_REQUESTS:
                return count / elapsed
    finally:
        conn.close()


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def measure_page(first: int, scenarios: list[str], servers: dict, args) -> dict:
    """{scenario: {"queries": n, "rounds": [{"in_process": rps, "p50": s, ...}, ...]}}"""
    results = {}
    data = {}
    for scenario in scenarios:
        queries, data[scenario] = in_process_check(scenario, first)
        results[scenario] = {"queries": queries, "rounds": []}
    check_identical(first, data, "in-process")
    if servers:
        check_identical(first, {scenario: http_check(servers[scenario].port, scenario, first)
                                for scenario in scenarios}, "over HTTP")
    for round_index in range(args.rounds):
        print(f"  first={first}: round {round_index + 1}/{args.rounds}", file=sys.stderr,
              flush=True)
        shift = round_index % len(scenarios)
        for scenario in scenarios[shift:] + scenarios[:shift]:
            rps, cpu, latencies = in_process_cell(scenario, first, args.seconds)
            cell = {"in_process": rps, "cpu": cpu, "p50": percentile(latencies, 0.50),
                    "p95": percentile(latencies, 0.95)}
            if servers:
                cell["http"] = http_cell(servers[scenario].port, scenario, first, args.seconds)
            results[scenario]["rounds"].append(cell)
    return results


def median_of(rounds: list[dict], key: str) -> float:
    return statistics.median(cell[key] for cell in rounds)


def speed_ratio(results: dict, scenario: str, baseline: str, key: str) -> float:
    """How many times the baseline's speed, from the medians (a time: the inverse ratio)."""
    ratio = median_of(results[scenario]["rounds"], key) / median_of(results[baseline]["rounds"],
                                                                     key)
    return 1 / ratio if key == "cpu" else ratio


def table_header(http: bool) -> str:
    columns = ["first", "scenario", "SQL queries", "in-process req/s", "÷ hand-written",
               "÷ DRF", "p50 ms", "p95 ms", "p95/p50", "CPU ms"]
    if http:
        columns += ["HTTP req/s", "÷ hand-written", "÷ DRF"]
    return "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)


def table_rows(first: int, results: dict, http: bool) -> list[str]:
    rows = []
    for scenario, row in results.items():
        rounds = row["rounds"]
        p50, p95 = median_of(rounds, "p50"), median_of(rounds, "p95")
        cells = [str(first), scenario, str(row["queries"])]
        for mode in ["in_process", *(["http"] if http else [])]:
            cells.append(f"{median_of(rounds, mode):.1f}")
            for baseline in ("handwritten", "drf"):
                cells.append(f"{speed_ratio(results, scenario, baseline, mode):.2f}"
                             if baseline in results else "—")
            if mode == "in_process":
                cells += [f"{p50 * 1000:.1f}", f"{p95 * 1000:.1f}", f"{p95 / p50:.2f}",
                          f"{median_of(rounds, 'cpu') * 1000:.1f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def summary(all_results: dict, http: bool) -> list[str]:
    """Vitrine against the goals (≥ 0.5x hand-written, ≥ 2x DRF), and the rounds' spread."""
    lines = []
    for first, results in all_results.items():
        parts = []
        for mode, label in [("in_process", "in-process req/s"), ("cpu", "in-process CPU time"),
                            *([("http", "HTTP req/s")] if http else [])]:
            handwritten = speed_ratio(results, "vitrine", "handwritten", mode)
            drf = (f"{speed_ratio(results, 'vitrine', 'drf', mode):.2f}x DRF" if "drf" in results
                   else "DRF not installed (bin/bench installs it)")
            parts.append(f"{handwritten:.2f}x hand-written, {drf} by {label}")
        lines.append(f"first={first}: Vitrine at " + "; ".join(parts))
        if "cached" in results:
            cached = [f"{speed_ratio(results, 'cached', 'handwritten', mode):.2f}x hand-written "
                      f"by {label}" for mode, label in [("in_process", "in-process req/s"),
                                                        *([("http", "HTTP req/s")] if http
                                                          else [])]]
            lines.append(f"first={first}: the cached page at " + "; ".join(cached))
    spreads = [
        ((max(values) - min(values)) / statistics.median(values), scenario, first, mode)
        for first, results in all_results.items()
        for scenario, row in results.items()
        for mode in ["in_process", *(["http"] if http else [])]
        if len(values := [cell[mode] for cell in row["rounds"]]) > 1
    ]
    if spreads:
        spread, scenario, first, mode = max(spreads)
        lines.append(f"Largest round-to-round spread of req/s: {spread:.0%} "
                     f"({scenario}, first={first}, {mode.replace('_', '-')}).")
    return lines


def short_name(filename: str) -> str:
    for prefix in (sysconfig.get_paths()["purelib"], str(ROOT), sysconfig.get_paths()["stdlib"]):
        if filename.startswith(prefix + os.sep):
            return filename[len(prefix) + 1:]
    return filename


def profile(scenario: str, first: int, seconds: float) -> None:
    """Wall and CPU time per request, garbage collection, then cProfile's top 25 by tottime."""
    with override_settings(DATALOADER_BATCHING=scenario != "naive"):
        call = client_call(scenario, first)
        for _ in range(5):
            call()
        gc.collect()
        pauses, collecting = [], {}

        def on_gc(phase, info):
            if phase == "start":
                collecting["since"] = time.perf_counter()
            else:
                pauses.append(time.perf_counter() - collecting.pop("since"))

        gc.callbacks.append(on_gc)
        count, started, cpu = 0, time.perf_counter(), time.process_time()
        while (elapsed := time.perf_counter() - started) < seconds or count < MIN_REQUESTS:
            call()
            count += 1
        cpu = time.process_time() - cpu
        gc.callbacks.remove(on_gc)

        gc.collect()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(count):
            call()
        profiler.disable()

    print(f"{scenario} at first={first}, in-process, {count} requests: "
          f"{elapsed / count * 1000:.1f} ms wall and {cpu / count * 1000:.1f} ms CPU per request "
          f"without the profiler, {sum(pauses) / count * 1000:.1f} ms of it in "
          f"{len(pauses) / count:.2f} garbage collections.\n")
    stats = pstats.Stats(profiler).stats
    total = sum(tottime for _cc, _nc, tottime, _ct, _callers in stats.values())
    print(f"The same {count} requests under cProfile ({total / count * 1000:.1f} ms of "
          "profiled time per request, the profiler's overhead included), top 25 by tottime:\n")
    print("| tottime ms/req | % | cumtime ms/req | calls/req | function |")
    print("|---|---|---|---|---|")
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in ranked[:25]:
        where = (re.sub(r" at 0x[0-9a-f]+", "", name) if filename == "~"
                 else f"{short_name(filename)}:{line}({name})")
        print(f"| {tottime / count * 1000:.2f} | {tottime / total:.1%} | "
              f"{cumtime / count * 1000:.2f} | {calls / count:.0f} | `{where}` |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, help="length of one cell (default 2, quick 0.5)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 0.5 s cells, 1 round")
    parser.add_argument("--first", type=int, nargs="+", help="page sizes (default 10 50 100)")
    parser.add_argument("--products", type=int, default=2000, help="catalog size to seed")
    parser.add_argument("--no-http", action="store_true", help="in-process only")
    parser.add_argument("--no-naive", action="store_true", help="skip the N+1 scenario")
    parser.add_argument(
        "--profile", nargs="?", const="vitrine", choices=SCENARIOS, metavar="SCENARIO",
        help="instead of the benchmark, profile SCENARIO (default vitrine) in-process at "
             "first=50 (or the first --first) for --seconds",
    )
    args = parser.parse_args()
    args.seconds = args.seconds or (0.5 if args.quick else 2.0)
    args.rounds = args.rounds or (1 if args.quick else 3)

    call_command("migrate", verbosity=0)
    if Product.objects.count() < args.products:
        call_command("seed_catalog", products=args.products, quiet=True)
    scenarios = [s for s in SCENARIOS if not (args.no_naive and s == "naive")]
    sizes = args.first or list(SIZES)
    print(f"Catalog: {Product.objects.count()} products on {connection.vendor}; "
          f"load average {load_average()} at the start.")

    if args.profile:
        first = sizes[0] if args.first else 50
        data = {s: in_process_check(s, first)[1] for s in ("vitrine", args.profile)}
        check_identical(first, data, "in-process")
        settle_after_startup()
        profile(args.profile, first, args.seconds)
        return

    servers = {}
    if not args.no_http:
        servers = {s: AsgiServer(s) for s in scenarios}
    try:
        for server in servers.values():
            server.wait()
        # Warm every scenario in-process, then set the collector as the servers do at startup
        # (project/collector.py).
        for scenario in scenarios:
            in_process_check(scenario, sizes[0])
        settle_after_startup()
        print(f"{args.rounds} interleaved round(s) of {args.seconds:g} s cells (at least "
              f"{MIN_REQUESTS} requests); medians over the rounds.\n")
        for scenario in scenarios:
            print(f"- {scenario}: {DESCRIPTIONS[scenario]}")
        print()
        print(table_header(http=bool(servers)), flush=True)
        all_results = {}
        for first in sizes:
            all_results[first] = measure_page(first, scenarios, servers, args)
            print("\n".join(table_rows(first, all_results[first], http=bool(servers))),
                  flush=True)
    finally:
        for server in servers.values():
            server.stop()
    print()
    print("\n".join(summary(all_results, http=bool(servers))))
    print(f"Load average {load_average()} at the end.")


if __name__ == "__main__":
    main()
