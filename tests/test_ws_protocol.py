"""graphql-transport-ws at /graphql/: every message and close code of the protocol.

Runs against `project.asgi.application` (origin check and cookie authentication included)
with channels' WebsocketCommunicator. The protocol is graphql-ws's PROTOCOL.md. What both
subprotocols share runs over each of them (`BOTH`); the legacy graphql-ws protocol's own rules
are in tests/test_ws_legacy_protocol.py.
"""
from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from graphql_jwt.shortcuts import get_token
from graphql_relay import to_global_id

from products.models import Product
from tests.helpers import gid
from tests.ws_live import (
    BARRIER,
    LEGACY,
    TRANSPORT,
    WsClient,
    async_test,
    save,
)

# Tests that touch the database are transactional: the consumer runs its queries in
# another thread context than the test's transaction. The others need no database.
uses_db = pytest.mark.django_db(transaction=True)

UPDATED = "subscription { productUpdated { name } }"

# Cases both subprotocols share are parametrised over them.
BOTH = pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])


@async_test
async def test_transport_ws_is_chosen_from_what_the_client_offers():
    both = WsClient(LEGACY, TRANSPORT)
    assert await both.connect() == TRANSPORT
    await both.close()
    legacy_only = WsClient(LEGACY)
    assert await legacy_only.connect() == LEGACY
    await legacy_only.close()


@async_test
async def test_no_acceptable_subprotocol_closes_4406():
    client = WsClient("mqtt")
    assert await client.connect() is None
    assert await client.closed() == 4406
    no_protocol = WsClient()
    await no_protocol.connect()
    assert await no_protocol.closed() == 4406


@BOTH
@async_test
async def test_connection_init_is_acknowledged(protocol):
    client = WsClient(protocol)
    assert await client.connect() == protocol
    assert await client.init() == {"type": "connection_ack"}
    await client.close()


@async_test
async def test_second_connection_init_closes_4429():
    client = await WsClient(TRANSPORT).open()
    await client.send({"type": "connection_init"})
    assert await client.closed() == 4429


@BOTH
@async_test
async def test_no_connection_init_within_the_timeout_closes_4408(settings, protocol):
    settings.SUBSCRIPTIONS_INIT_TIMEOUT = 0.2
    client = WsClient(protocol)
    await client.connect()
    assert await client.closed(timeout=3) == 4408


@async_test
async def test_init_in_time_is_not_closed_by_the_timeout(settings):
    settings.SUBSCRIPTIONS_INIT_TIMEOUT = 0.2
    client = await WsClient(TRANSPORT).open()
    await asyncio.sleep(0.5)  # past the timeout
    await client.sync()  # the next message is the pong: the socket is open
    await client.close()


@async_test
async def test_ping_is_answered_with_pong_before_and_after_init():
    client = WsClient(TRANSPORT)
    await client.connect()
    await client.send({"type": "ping"})
    assert await client.receive() == {"type": "pong"}
    await client.init()
    await client.send({"type": "ping", "payload": {"t": 1}})
    assert await client.receive() == {"type": "pong", "payload": {"t": 1}}
    await client.close()


@async_test
async def test_unsolicited_pong_is_ignored():
    client = await WsClient(TRANSPORT).open()
    await client.send({"type": "pong"})
    await client.sync()  # the next message is the pong of the ping: nothing answered it
    await client.close()


@async_test
async def test_subscribe_before_ack_closes_4401():
    client = WsClient(TRANSPORT)
    await client.connect()
    await client.send({"id": "1", "type": "subscribe", "payload": {"query": UPDATED}})
    assert await client.closed() == 4401


@pytest.mark.parametrize("message", [
    "not json",
    '["a list"]',
    '{"no": "type"}',
    '{"type": 42}',
    '{"type": "unknown"}',
    '{"type": "connection_ack"}',
    '{"type": "next", "id": "1", "payload": {}}',
    '{"type": "connection_init", "payload": "not an object"}',
    "[" * 50_000 + "]" * 50_000,
])
def test_invalid_messages_close_4400(message, settings):
    settings.SUBSCRIPTIONS_MAX_MESSAGE_BYTES = 200_000
    @async_test
    async def run():
        client = WsClient(TRANSPORT)
        await client.connect()
        await client.send(message)
        assert await client.closed() == 4400

    run()


@pytest.mark.parametrize("message", [
    {"type": "subscribe", "payload": {"query": "{ __typename }"}},
    {"type": "subscribe", "id": "", "payload": {"query": "{ __typename }"}},
    {"type": "subscribe", "id": "1"},
    {"type": "subscribe", "id": "1", "payload": {"query": 1}},
    {"type": "subscribe", "id": "1", "payload": {"query": "{ a }", "variables": [1]}},
    {"type": "subscribe", "id": "1", "payload": {"query": "{ a }", "operationName": 2}},
    {"type": "complete"},
])
def test_malformed_subscribe_or_complete_closes_4400(message):
    @async_test
    async def run():
        client = await WsClient(TRANSPORT).open()
        await client.send(message)
        assert await client.closed() == 4400

    run()


@async_test
async def test_binary_messages_close_4400():
    client = WsClient(TRANSPORT)
    await client.connect()
    await client.communicator.send_to(bytes_data=b'{"type": "ping"}')
    assert await client.closed() == 4400


@BOTH
@async_test
async def test_oversized_messages_close_4400(settings, protocol):
    settings.SUBSCRIPTIONS_MAX_MESSAGE_BYTES = 100
    client = await WsClient(protocol).open()
    await client.start("q", "{ __typename }" + " " * 200)
    assert await client.closed() == 4400


@uses_db
@async_test
async def test_duplicate_active_id_closes_4409(catalog):
    client = await WsClient(TRANSPORT).open()
    await client.subscribe("1", UPDATED)
    await client.send({"id": "1", "type": "subscribe", "payload": {"query": UPDATED}})
    assert await client.closed() == 4409


@uses_db
@async_test
async def test_an_id_may_be_reused_after_complete(catalog):
    client = await WsClient(TRANSPORT).open()
    await client.subscribe("1", UPDATED)
    await client.send({"id": "1", "type": "complete"})
    await client.subscribe("1", UPDATED)
    await save(catalog["products"]["amp"], name="Amp v2")
    event = await client.receive()
    assert (event["id"], event["type"]) == ("1", "next")
    assert event["payload"]["data"] == {"productUpdated": {"name": "Amp v2"}}
    await client.close()


@BOTH
@uses_db
@async_test
async def test_a_query_over_the_socket_sends_one_result_then_complete(catalog, protocol):
    client = await WsClient(protocol).open()
    await client.start(
        "q", "query P($slug: String) { product(slug: $slug) { name category { name } } }",
        {"slug": catalog["products"]["amp"].slug})
    result = await client.receive_skipping_ka()
    assert (result["id"], result["type"]) == ("q", client.result_type)
    assert result["payload"]["data"] == {
        "product": {"name": "Tube Amplifier", "category": {"name": "Audio"}},
    }
    assert result["payload"]["extensions"]["cost"]["actualQueryCost"] == 2
    assert await client.receive_skipping_ka() == {"id": "q", "type": "complete"}
    await client.close()


@BOTH
@uses_db
@async_test
async def test_resolver_errors_of_a_query_come_in_its_result(catalog, protocol):
    client = await WsClient(protocol).open()
    await client.start("q", '{ product(slug: "no-such-thing") { name } }')
    result = await client.receive_skipping_ka()
    assert (result["id"], result["type"]) == ("q", client.result_type)
    assert result["payload"]["data"] == {"product": None}
    assert result["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await client.receive_skipping_ka() == {"id": "q", "type": "complete"}
    await client.close()


@uses_db
@async_test
async def test_mutation_over_the_socket(catalog, users):
    token = await database_sync_to_async(get_token)(users["staff"])
    client = await WsClient(TRANSPORT).open({"authorization": f"Bearer {token}"})
    amp = catalog["products"]["amp"]
    await client.send({"id": "m", "type": "subscribe", "payload": {
        "query": "mutation U($input: UpdateProductInput!) "
                 "{ updateProduct(input: $input) { product { name } } }",
        "variables": {"input": {"id": to_global_id("Product", amp.pk), "name": "Amp Mk II"}},
    }})
    result = await client.receive()
    assert result["payload"]["data"] == {"updateProduct": {"product": {"name": "Amp Mk II"}}}
    assert await client.receive() == {"id": "m", "type": "complete"}
    assert (await database_sync_to_async(Product.objects.get)(pk=amp.pk)).name == "Amp Mk II"
    await client.close()


@BOTH
@pytest.mark.parametrize(("query", "code"), [
    ("subscription {", "GRAPHQL_PARSE_FAILED"),
    ("subscription { noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
    ("subscription { productCreated { name } productDeleted { name } }",
     "GRAPHQL_VALIDATION_FAILED"),
    ('subscription { productUpdated(id: "not-an-id") { name } }', "BAD_USER_INPUT"),
])
def test_request_errors_are_one_error_message_without_complete(query, code, protocol):
    @async_test
    async def run():
        client = await WsClient(protocol).open()
        await client.start("s", query)
        message = await client.receive_skipping_ka()
        assert message["type"] == "error" and message["id"] == "s"
        assert message["payload"][0]["extensions"]["code"] == code
        await client.sync()  # no complete came before the pong
        # The id is free again.
        await client.subscribe("s", UPDATED)
        await client.close()

    run()


@uses_db
@async_test
async def test_variables_that_do_not_coerce_are_an_error(catalog):
    client = await WsClient(TRANSPORT).open()
    await client.send({"id": "s", "type": "subscribe", "payload": {
        "query": "subscription S($id: ID) { productUpdated(id: $id) { name } }",
        "variables": {"id": {"not": "an id"}},
    }})
    message = await client.receive()
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    await client.close()


@BOTH
@uses_db
@async_test
async def test_a_subscription_sends_a_result_per_event_until_stopped(catalog, protocol):
    client = await WsClient(protocol).open()
    await client.subscribe("s", UPDATED)
    amp = catalog["products"]["amp"]
    await save(amp, name="Amp 2")
    event = await client.receive_skipping_ka()
    assert (event["id"], event["type"]) == ("s", client.result_type)
    assert event["payload"]["data"] == {"productUpdated": {"name": "Amp 2"}}
    assert isinstance(event["payload"]["extensions"]["eventId"], int)  # clients dedupe by it
    await client.stop("s")
    if protocol == LEGACY:  # the legacy server confirms a stop; graphql-transport-ws does not
        assert await client.receive_skipping_ka() == {"id": "s", "type": "complete"}
    await client.subscribe("b", BARRIER, {"id": gid(catalog["products"]["novel"])})
    await save(amp, name="Amp 3")
    await save(catalog["products"]["novel"], name="Barrier")
    # Events come in commit order: one for "s" would come before the barrier.
    await client.barrier("b")
    await client.close()


@uses_db
@async_test
async def test_product_updated_filters_by_id(catalog):
    amp, novel = catalog["products"]["amp"], catalog["products"]["novel"]
    client = await WsClient(TRANSPORT).open()
    await client.subscribe("s", "subscription S($id: ID) { productUpdated(id: $id) { name } }",
                           {"id": to_global_id("Product", novel.pk)})
    await save(amp, name="Not this one")
    await save(novel, name="This one")
    assert (await client.receive())["payload"]["data"] == {"productUpdated": {"name": "This one"}}
    await save(novel, name="Barrier")
    assert (await client.receive())["payload"]["data"] == {"productUpdated": {"name": "Barrier"}}
    await client.close()


@BOTH
@uses_db
@async_test
async def test_too_many_operations_is_an_error_for_that_operation(settings, catalog, protocol):
    settings.SUBSCRIPTIONS_MAX_OPERATIONS = 2
    client = await WsClient(protocol).open()
    for op_id in ("1", "2", "3"):  # handled in order: the third is one too many
        await client.start(op_id, UPDATED)
    message = await client.receive_skipping_ka()
    assert message["type"] == "error" and message["id"] == "3"
    assert message["payload"][0]["extensions"]["code"] == "TOO_MANY_OPERATIONS"
    await client.close()


@async_test
async def test_invalid_token_in_connection_init_closes_4403():
    client = WsClient(TRANSPORT)
    await client.connect()
    await client.send({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
    assert await client.closed() == 4403


ME = "{ me { username } }"


async def me(client: WsClient) -> dict:
    await client.start("me", ME)
    result = await client.receive_skipping_ka()
    assert await client.receive_skipping_ka() == {"id": "me", "type": "complete"}
    return result["payload"]["data"]["me"]


@BOTH
@uses_db
@async_test
async def test_jwt_in_connection_init_authenticates(users, protocol):
    token = await database_sync_to_async(get_token)(users["creator"])
    for key in ("authorization", "Authorization"):
        client = await WsClient(protocol).open({key: f"Bearer {token}"})
        assert await me(client) == {"username": "creator"}
        await client.close()


@uses_db
@async_test
async def test_session_cookie_authenticates_without_params(users):
    def session_cookie():
        http = Client()
        http.force_login(users["other"])
        return http.cookies["sessionid"].value

    cookie = await database_sync_to_async(session_cookie)()
    client = await WsClient(TRANSPORT, headers=[(b"cookie", f"sessionid={cookie}".encode())]).open()
    assert await me(client) == {"username": "other"}
    await client.close()
    anonymous = await WsClient(TRANSPORT).open()
    assert await me(anonymous) is None
    await anonymous.close()


@uses_db
@async_test
async def test_disconnect_removes_subscriptions_from_the_hub(catalog):
    from subscriptions.hub import get_hub

    client = await WsClient(TRANSPORT).open()
    await client.subscribe("1", UPDATED)
    await client.subscribe("2", "subscription { productCreated { name } }")
    assert get_hub().size == 2
    await client.close()
    assert get_hub().size == 0
    assert not get_hub().tasks


def test_price_is_decimal_in_snapshots():
    # Guard for the delete snapshot: Decimal and datetimes survive the channel layer as text.
    from subscriptions.events import snapshot

    product = Product(pk=1, name="x", slug="x", price=Decimal("1.50"), category_id=1)
    assert snapshot(product)["price"] == "1.50"


@pytest.mark.parametrize(("setting", "value", "query", "code"), [
    ("GRAPHQL_MAX_DEPTH", 2,
     "subscription { productUpdated { category { parent { name } } } }", "MAX_DEPTH_EXCEEDED"),
    ("GRAPHQL_INTROSPECTION", "off", "{ __schema { types { name } } }",
     "INTROSPECTION_DISABLED"),
    ("GRAPHQL_MAX_COST", 3,
     "subscription { productUpdated { relatedProducts(first: 50) { name } } }",
     "MAX_COST_EXCEEDED"),
])
def test_the_http_guards_apply_to_socket_operations(settings, setting, value, query, code):
    setattr(settings, setting, value)

    @async_test
    async def run():
        client = await WsClient(TRANSPORT).open()
        await client.send({"id": "g", "type": "subscribe", "payload": {"query": query}})
        message = await client.receive()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == code
        await client.close()

    run()
