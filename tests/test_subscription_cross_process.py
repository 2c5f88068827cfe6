"""Subscriptions against real servers: uvicorn subprocesses on the test database.

- The real npm clients (`graphql-ws` createClient, subscriptions-transport-ws
  SubscriptionClient, and `graphql-sse` createClient over Server-Sent Events;
  tests/ws_clients/) receive productCreated and productUpdated after writes made over HTTP
  with the createProduct/updateProduct mutations.
- Two uvicorn processes sharing a real Redis (channels-redis): a subscriber on A receives an
  update made through B, and one made with the ORM in this test process.

The servers see committed rows only, so these tests are transactional.
"""
from __future__ import annotations

import json
import urllib.request
from decimal import Decimal

import pytest
from django.db import connection
from graphql_relay import to_global_id

from accounts.models import ApiKey
from products.models import Product
from tests.live_server import start_server
from tests.ws_live import NodeClient

pytest_plugins = ["tests.live_server"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.node]

CREATED = "subscription { productCreated { name price category { name } } }"
UPDATED = "subscription { productUpdated { name isPublished } }"


def graphql(server, query: str, variables: dict, api_key: str) -> dict:
    request = urllib.request.Request(
        server.graphql_url,
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 "X-API-Key": api_key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        result = json.load(response)
    assert "errors" not in result, result
    return result["data"]


def create_product(server, api_key: str, category, name: str) -> str:
    data = graphql(
        server,
        "mutation C($input: CreateProductInput!) { createProduct(input: $input) "
        "{ product { id } } }",
        {"input": {"name": name, "price": "12.50", "isPublished": True,
                   "category": to_global_id("Category", category.pk)}},
        api_key,
    )
    return data["createProduct"]["product"]["id"]


def update_product(server, api_key: str, product_id: str, **changes) -> None:
    graphql(
        server,
        "mutation U($input: UpdateProductInput!) { updateProduct(input: $input) "
        "{ product { id } } }",
        {"input": {"id": product_id, **changes}},
        api_key,
    )


@pytest.fixture
def staff_key(users) -> str:
    return ApiKey.issue(users["staff"], "ws tests")[1]


def subscriber(server, library: str, queries: list[str], expect: int, params=None) -> NodeClient:
    client = NodeClient("subscribe.mjs", {
        "WS_URL": server.ws_url, "CLIENT": library, "QUERIES": json.dumps(queries),
        "EXPECT": str(expect), "CONNECTION_PARAMS": json.dumps(params or {}),
    })
    client.wait_for("ready")
    return client


def sse_subscriber(server, operations: list[dict], expect: int, headers=None) -> NodeClient:
    client = NodeClient("subscribe-sse.mjs", {
        "HTTP_URL": server.graphql_url, "OPERATIONS": json.dumps(operations),
        "EXPECT": str(expect), "HEADERS": json.dumps(headers or {}),
    })
    client.wait_for("ready")
    return client


UPDATED_ONE = "subscription U($id: ID) { productUpdated(id: $id) { name } }"


def events(client: NodeClient, count: int) -> list[dict]:
    found = [client.wait_for("event") for _ in range(count)]
    client.wait_for("done")
    client.stop()
    return sorted(found, key=lambda event: event["index"])


@pytest.mark.parametrize("library", ["graphql-ws", "subscriptions-transport-ws"])
def test_npm_client_receives_created_and_updated_after_http_writes(
    asgi_server, catalog, staff_key, library
):
    client = subscriber(asgi_server, library, [CREATED, UPDATED], expect=2)
    product_id = create_product(asgi_server, staff_key, catalog["categories"]["books"], "Live")
    update_product(asgi_server, staff_key, product_id, name="Live, renamed")
    created, updated = events(client, 2)
    assert created["payload"]["data"] == {"productCreated": {
        "name": "Live", "price": "12.50", "category": {"name": "Books"},
    }}
    assert updated["payload"]["data"] == {"productUpdated": {
        "name": "Live, renamed", "isPublished": True,
    }}


def test_graphql_sse_client_receives_created_and_updated_by_id(asgi_server, catalog,
                                                              staff_key):
    amp = to_global_id("Product", catalog["products"]["amp"].pk)
    client = sse_subscriber(asgi_server, [
        {"query": CREATED}, {"query": UPDATED_ONE, "variables": {"id": amp}},
    ], expect=2)
    create_product(asgi_server, staff_key, catalog["categories"]["books"], "Streamed")
    update_product(asgi_server, staff_key, amp, name="Amp over SSE")
    created, updated = events(client, 2)
    assert created["payload"]["data"]["productCreated"]["name"] == "Streamed"
    assert updated["payload"]["data"] == {"productUpdated": {"name": "Amp over SSE"}}


def test_graphql_sse_client_authenticates_with_headers(asgi_server, catalog, users, staff_key):
    creator_key = ApiKey.issue(users["creator"], "creator")[1]
    client = sse_subscriber(asgi_server, [{"query": UPDATED}], expect=1,
                            headers={"X-API-Key": creator_key})
    draft = catalog["products"]["draft"]  # the creator's own draft
    update_product(asgi_server, staff_key, to_global_id("Product", draft.pk), name="Draft v3")
    (event,) = events(client, 1)
    assert event["payload"]["data"]["productUpdated"]["name"] == "Draft v3"


def test_npm_client_authenticates_with_connection_params(asgi_server, catalog, users, staff_key):
    creator_key = ApiKey.issue(users["creator"], "creator")[1]
    client = subscriber(asgi_server, "graphql-ws", [UPDATED], expect=1,
                        params={"apiKey": creator_key})
    draft = catalog["products"]["draft"]  # the creator's own draft: only they (and staff) see it
    update_product(asgi_server, staff_key, to_global_id("Product", draft.pk), name="Draft v2")
    (event,) = events(client, 1)
    assert event["payload"]["data"]["productUpdated"] == {
        "name": "Draft v2", "isPublished": False,
    }


@pytest.fixture
def redis_servers(redis_server, django_db_setup):
    """Two uvicorn processes on this test database, sharing one real Redis."""
    name = connection.settings_dict["NAME"]
    servers = []
    try:
        for _ in range(2):
            servers.append(start_server(name, {"REDIS_URL": redis_server.url}))
        yield servers
    finally:
        for server in servers:
            server.stop()
            server.log_path.unlink(missing_ok=True)


def test_subscriber_on_a_receives_an_update_made_through_b(redis_servers, catalog, staff_key):
    server_a, server_b = redis_servers
    transport_client = subscriber(server_a, "graphql-ws", [UPDATED], expect=1)
    legacy_client = subscriber(server_a, "subscriptions-transport-ws", [UPDATED], expect=1)
    sse_client = sse_subscriber(server_a, [{"query": UPDATED}], expect=1)
    novel = catalog["products"]["novel"]
    update_product(server_b, staff_key, to_global_id("Product", novel.pk), name="Via B")
    for client in (transport_client, legacy_client, sse_client):
        (event,) = events(client, 1)
        assert event["payload"]["data"] == {"productUpdated": {
            "name": "Via B", "isPublished": True,
        }}


def test_orm_write_in_another_process_reaches_subscribers_through_redis(
    redis_servers, redis_server, catalog, settings
):
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [redis_server.url]},
    }}
    server_a, server_b = redis_servers
    on_a = subscriber(server_a, "graphql-ws", [CREATED], expect=1)
    on_b = subscriber(server_b, "subscriptions-transport-ws", [CREATED], expect=1)
    Product.objects.create(
        name="From the ORM", price=Decimal("3.00"), is_published=True,
        category=catalog["categories"]["books"],
    )
    for client in (on_a, on_b):
        (event,) = events(client, 1)
        assert event["payload"]["data"]["productCreated"]["name"] == "From the ORM"
