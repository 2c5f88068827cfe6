"""One table of operations, run over every transport: the pipeline decides, not the transport.

Each case runs over HTTP, both websocket subprotocols and Server-Sent Events, in process
against the ASGI application, from the same client address, with a fresh cache each time
(throttle buckets that do not refill, so the points left are exact). For each case every
transport must report the same error codes, the same data, the same `extensions.cost` where
the transport carries a response map (a websocket refusal is an `error` message: a list of
errors), leave the same points in the client's bucket (the refund), and log the same line
but for the transport's name and the duration.
"""
from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.core.cache import caches
from django.test import override_settings
from graphql_jwt.shortcuts import get_token

# Imported now, not by the first test: setting up the ASGI application configures logging,
# which would drop the handler that caplog installs for a test.
import project.asgi  # noqa: F401
from schema import pipeline
from schema.throttle import get_bucket
from subscriptions.hub import get_hub
from tests.ws_live import LEGACY, TRANSPORT, AsgiPost, SseClient, WsClient, async_test

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "198.51.100.23"
TRANSPORTS = ("http", TRANSPORT, LEGACY, "graphql-sse")
STREAMING = (TRANSPORT, LEGACY, "graphql-sse")
CATALOG = "{ categories { slug } }"
PERSISTED = "query Persisted { categories { name } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Case:
    name: str
    body: dict
    settings: dict = field(default_factory=dict)
    staff: bool = False
    fails_internally: bool = False
    before: dict | None = None
    """Sent first, over the same transport (to register a persisted query)."""


CASES = [
    Case("query", {"query": CATALOG}),
    Case("mutation", {"query": 'mutation { tokenAuth(input: {username: "nobody", '
                               'password: "wrong"}) { token } }'}),
    Case("subscription", {"query": "subscription { productCreated { name } }"}),
    Case("parse error", {"query": "{ categories {"}),
    Case("validation error", {"query": "{ nope }"}),
    Case("bad variables", {"query": "query Q($first: Int) { products(first: $first) { "
                                    "totalCount } }", "variables": {"first": "many"}}),
    Case("document too large", {"query": "{ categories { slug } }" + " " * 20_000}),
    Case("too many tokens", {"query": CATALOG}, {"GRAPHQL_MAX_TOKENS": 3}),
    Case("too deep", {"query": '{ category(slug: "books") { %s } }' % (
        "parent { " * 10 + "name" + " }" * 10)}),
    Case("too many aliases", {"query": "{ %s }" % " ".join(
        f"a{index}: __typename" for index in range(31))}),
    Case("too many fields", {"query": "{ categories { slug name } }"}, {"GRAPHQL_MAX_FIELDS": 1}),
    Case("variables too large", {"query": CATALOG, "variables": {"pad": "x" * 20_000}}),
    Case("too costly", {"query": "{ products(first: 100) { edges { node { reviews(first: 100)"
                                 " { edges { node { rating } } } } } } }"}),
    Case("too many nodes", {"query": "{ products(first: 50) { edges { node { name } } } }"},
         {"GRAPHQL_MAX_NODES": 10}),
    Case("too much introspection", {"query": "{ %s }" % " ".join(
        f'a{index}: __type(name: "Query") {{ name }}' for index in range(4))}),
    Case("throttled", {"query": CATALOG}, {"GRAPHQL_THROTTLE_ADDRESS_BUCKET_SIZE": 2}),
    Case("persisted query not found", {"extensions": {"persistedQuery": {
        "version": 1, "sha256Hash": sha256(PERSISTED)}}}),
    Case("persisted query by hash", {"extensions": {"persistedQuery": {
        "version": 1, "sha256Hash": sha256(PERSISTED)}}},
        before={"query": PERSISTED, "extensions": {"persistedQuery": {
            "version": 1, "sha256Hash": sha256(PERSISTED)}}}),
    Case("introspection, anonymous", {"query": "{ __schema { queryType { name } } }"},
         {"GRAPHQL_INTROSPECTION": "staff"}),
    Case("introspection, staff", {"query": "{ __schema { queryType { name } } }"},
         {"GRAPHQL_INTROSPECTION": "staff"}, staff=True),
    Case("internal error", {"query": CATALOG}, fails_internally=True),
]


# What each case must answer (every transport alike): its error codes.
EXPECTED_CODES = {
    "query": [], "mutation": ["UNAUTHENTICATED"], "parse error": ["GRAPHQL_PARSE_FAILED"],
    "validation error": ["GRAPHQL_VALIDATION_FAILED"], "bad variables": ["BAD_USER_INPUT"],
    "document too large": ["DOCUMENT_TOO_LARGE"], "too many tokens": ["MAX_TOKENS_EXCEEDED"],
    "too deep": ["MAX_DEPTH_EXCEEDED"], "too many aliases": ["MAX_ALIASES_EXCEEDED"],
    "too many fields": ["MAX_FIELDS_EXCEEDED"], "variables too large": ["VARIABLES_TOO_LARGE"],
    "too costly": ["MAX_COST_EXCEEDED"], "too many nodes": ["MAX_NODES_EXCEEDED"],
    "too much introspection": ["MAX_INTROSPECTION_EXCEEDED"], "throttled": ["THROTTLED"],
    "persisted query not found": ["PERSISTED_QUERY_NOT_FOUND"], "persisted query by hash": [],
    "introspection, anonymous": ["INTROSPECTION_DISABLED"], "introspection, staff": [],
    "internal error": ["INTERNAL"],
}


@dataclass
class Outcome:
    codes: list[str]
    data: Any
    cost: dict | None
    points_left: float
    log: list[dict]


def _codes(errors: list[dict] | None) -> list[str]:
    return sorted(error.get("extensions", {}).get("code") for error in errors or ())


async def _over_http(body: dict, token: str | None) -> dict | None:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return await AsgiPost(body, headers=headers, client=(ADDRESS, 40000)).json()


async def _over_sse(body: dict, token: str | None) -> dict | None:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    client = await SseClient(body, headers=headers, client=(ADDRESS, 40000)).open()
    if get_hub().size:  # a subscription, registered before the stream opened
        await client.close()
        return None
    payload = await client.result()
    await client.close()
    return payload


async def _first_message_or_subscription(client: WsClient) -> dict | None:
    """The operation's first message, or None once it is a registered subscription."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while loop.time() < deadline:
        if get_hub().size:
            return None
        if not await client.communicator.receive_nothing(0.02):
            message = await client.receive()
            if message.get("id") == "1":
                return message
    raise AssertionError("the operation neither answered nor subscribed")


async def _over_websocket(protocol: str, body: dict, token: str | None) -> dict | None:
    client = WsClient(protocol, client=(ADDRESS, 40000))
    await client.open({"authorization": f"Bearer {token}"} if token else None)
    kind = "subscribe" if protocol == TRANSPORT else "start"
    await client.send({"id": "1", "type": kind, "payload": body})
    first = await _first_message_or_subscription(client)
    await client.close()
    if first is None:
        return None
    if first["type"] == "error":
        errors = first["payload"]
        return {"errors": errors if isinstance(errors, list) else [errors]}
    return first["payload"]


async def _send(transport: str, body: dict, token: str | None) -> dict | None:
    if transport == "http":
        return await _over_http(body, token)
    if transport == "graphql-sse":
        return await _over_sse(body, token)
    return await _over_websocket(transport, body, token)


async def run(transport: str, case: Case, token: str | None, identity: str,
              caplog) -> Outcome:
    for cache in caches.all():  # throttle buckets, persisted queries, cached responses
        cache.clear()
    if case.before is not None:
        await _send(transport, case.before, token)
    caplog.clear()
    payload = await _send(transport, case.body, token)
    points = await database_sync_to_async(
        lambda: get_bucket(identity).peek(identity).currently_available)()
    log = [{k: v for k, v in record.graphql.items() if k not in ("transport", "duration_ms")}
           for record in caplog.records if record.name == "vitrine.requests"]
    payload = payload or {}
    return Outcome(_codes(payload.get("errors")), payload.get("data"),
                   (payload.get("extensions") or {}).get("cost"), points, log)


def _boom(prepared, context, root_value=None):
    raise RuntimeError("a bug")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@async_test
async def test_every_transport_reports_the_same(case, catalog, users, caplog, monkeypatch):
    caplog.set_level("INFO", logger="vitrine.requests")
    if case.fails_internally:
        monkeypatch.setattr(pipeline, "_execute", _boom)
    token = await database_sync_to_async(get_token)(users["staff"]) if case.staff else None
    identity = f"user:{users['staff'].pk}" if case.staff else f"ip:{ADDRESS}"
    settings = {"GRAPHQL_THROTTLE_ADDRESS_RESTORE_RATE": 0, "GRAPHQL_THROTTLE_RESTORE_RATE": 0,
                **case.settings}
    outcomes = {}
    with override_settings(**settings):
        for transport in TRANSPORTS:
            outcomes[transport] = await run(transport, case, token, identity, caplog)
    http = outcomes["http"]
    streams = [outcomes[transport] for transport in STREAMING]
    if case.name == "subscription":
        assert http.codes == ["SUBSCRIPTION_TRANSPORT_REQUIRED"]
        assert all(outcome == streams[0] for outcome in streams), streams
        assert streams[0].codes == [] and streams[0].log[0]["type"] == "subscription"
        return
    for transport, outcome in outcomes.items():
        assert (outcome.codes, outcome.data, outcome.points_left, outcome.log) == (
            http.codes, http.data, http.points_left, http.log), transport
        if outcome.cost is not None or transport in ("http", "graphql-sse"):
            assert outcome.cost == http.cost, transport
    assert len(http.log) == 1
    assert http.codes == EXPECTED_CODES[case.name]
    assert sorted(set(http.codes)) == sorted(set(http.log[0]["codes"]))


SIGN_IN = ('mutation S($name: String!) { tokenAuth(input: {username: $name, '
           'password: "wrong"}) { token } }')


async def _sign_in_over_websocket(address: str, name: str) -> list[str]:
    client = WsClient(TRANSPORT, client=(address, 40000))
    await client.open()
    await client.send({"id": "1", "type": "subscribe",
                       "payload": {"query": SIGN_IN, "variables": {"name": name}}})
    payload = (await client.receive())["payload"]
    await client.close()
    return _codes(payload.get("errors"))


@async_test
async def test_failed_sign_ins_are_counted_per_client_address_on_every_transport(db):
    caches["default"].clear()
    with override_settings(AUTH_RATE_LIMIT_IP_FAILURES=3, AUTH_RATE_LIMIT_ACCOUNT_FAILURES=99):
        for attempt in range(3):
            assert await _sign_in_over_websocket(ADDRESS, f"guess{attempt}") == [
                "UNAUTHENTICATED"]
        assert await _sign_in_over_websocket(ADDRESS, "guess3") == ["RATE_LIMITED"]
        # Another address is not locked out by this one's failures.
        assert await _sign_in_over_websocket("203.0.113.80", "guess4") == ["UNAUTHENTICATED"]
        over_http = await AsgiPost({"query": SIGN_IN, "variables": {"name": "guess5"}},
                                   client=(ADDRESS, 40000)).json()
        assert _codes(over_http["errors"]) == ["RATE_LIMITED"]


@async_test
async def test_failed_credentials_lock_out_their_address_even_with_a_valid_one(users):
    caches["default"].clear()
    token = await database_sync_to_async(get_token)(users["staff"])
    with override_settings(AUTH_RATE_LIMIT_IP_FAILURES=2):
        for _ in range(2):
            client = WsClient(TRANSPORT, client=(ADDRESS, 40000))
            await client.connect()
            await client.send({"type": "connection_init",
                               "payload": {"apiKey": "vit_not_a_real_key"}})
            assert await client.closed() == 4403
        # Now even a valid token from that address is refused (by one cache read).
        locked = WsClient(TRANSPORT, client=(ADDRESS, 40000))
        await locked.connect()
        await locked.send({"type": "connection_init",
                           "payload": {"authorization": f"Bearer {token}"}})
        assert await locked.closed() == 4403
        elsewhere = await WsClient(TRANSPORT, client=("203.0.113.80", 40000)).open(
            {"authorization": f"Bearer {token}"})
        await elsewhere.close()
        over_http = await AsgiPost({"query": CATALOG}, client=(ADDRESS, 40000), headers=[
            (b"authorization", f"Bearer {token}".encode())]).json()
        assert _codes(over_http["errors"]) == ["RATE_LIMITED"]
