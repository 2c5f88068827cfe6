"""The legacy `graphql-ws` subprotocol (subscriptions-transport-ws) at /graphql/.

See subscriptions/protocols.py for where we differ from the
reference server (rejection closes 4403; start before connection_ack is an error).
"""
from __future__ import annotations

import pytest

from tests.helpers import gid
from tests.ws_live import BARRIER, LEGACY, WsClient, async_test, save

# Tests that touch the database are transactional: the consumer runs its queries in
# another thread context than the test's transaction. The others need no database.
uses_db = pytest.mark.django_db(transaction=True)

UPDATED = "subscription { productUpdated { name } }"


async def start(client: WsClient, op_id: str, query: str, variables=None) -> None:
    payload = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    await client.send({"id": op_id, "type": "start", "payload": payload})


@async_test
async def test_connection_init_is_acknowledged_then_kept_alive(settings):
    settings.SUBSCRIPTIONS_KEEPALIVE = 0.2
    client = WsClient(LEGACY)
    assert await client.connect() == LEGACY
    assert await client.init({}) == {"type": "connection_ack"}
    assert await client.receive() == {"type": "ka"}
    assert await client.receive(timeout=2) == {"type": "ka"}
    assert await client.receive(timeout=2) == {"type": "ka"}
    await client.close()


@async_test
async def test_rejected_init_sends_connection_error_and_closes_4403():
    client = WsClient(LEGACY)
    await client.connect()
    await client.send({"type": "connection_init", "payload": {"authorization": "Bearer bad"}})
    message = await client.receive()
    assert message["type"] == "connection_error"
    assert message["payload"]["message"]
    assert await client.closed() == 4403


@async_test
async def test_start_before_ack_is_an_error_for_that_operation():
    client = WsClient(LEGACY)
    await client.connect()
    await start(client, "1", UPDATED)
    message = await client.receive()
    assert message["type"] == "error" and message["id"] == "1"
    await client.init()
    await client.close()


@uses_db
@async_test
async def test_query_sends_data_then_complete(catalog):
    client = await WsClient(LEGACY).open()
    await start(client, "q", "query P($slug: String) { product(slug: $slug) { name } }",
                {"slug": catalog["products"]["novel"].slug})
    result = await client.receive_skipping_ka()
    assert (result["id"], result["type"]) == ("q", "data")
    assert result["payload"]["data"] == {"product": {"name": "Mystery Novel"}}
    assert await client.receive_skipping_ka() == {"id": "q", "type": "complete"}
    await client.close()


@uses_db
@async_test
async def test_resolver_errors_go_in_data(catalog):
    client = await WsClient(LEGACY).open()
    await start(client, "q", '{ product(slug: "missing") { name } }')
    message = await client.receive_skipping_ka()
    assert message["type"] == "data"
    assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await client.receive_skipping_ka() == {"id": "q", "type": "complete"}
    await client.close()


@async_test
async def test_validation_error_is_an_error_message():
    client = await WsClient(LEGACY).open()
    await start(client, "s", "subscription { nope }")
    message = await client.receive_skipping_ka()
    assert message["type"] == "error" and message["id"] == "s"
    assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    await client.close()


@uses_db
@async_test
async def test_subscription_data_then_stop_completes(catalog):
    client = await WsClient(LEGACY).open()
    await client.subscribe("s", UPDATED)
    amp = catalog["products"]["amp"]
    await save(amp, name="Amp 2")
    event = await client.receive_skipping_ka()
    assert (event["id"], event["type"]) == ("s", "data")
    assert event["payload"]["data"] == {"productUpdated": {"name": "Amp 2"}}
    await client.send({"id": "s", "type": "stop"})
    assert await client.receive_skipping_ka() == {"id": "s", "type": "complete"}
    await client.subscribe("b", BARRIER, {"id": gid(catalog["products"]["novel"])})
    await save(amp, name="Amp 3")
    await save(catalog["products"]["novel"], name="Barrier")
    # Events come in commit order: one for "s" would come before the barrier.
    await client.barrier("b")
    await client.close()


@uses_db
@async_test
async def test_duplicate_start_id_replaces_the_operation(catalog):
    client = await WsClient(LEGACY).open()
    await client.subscribe("s", "subscription { productCreated { name } }")
    await client.subscribe("s", UPDATED)
    from subscriptions.hub import get_hub

    assert get_hub().size == 1
    await save(catalog["products"]["amp"], name="Amp 2")
    assert (await client.receive_skipping_ka())["payload"]["data"] == {
        "productUpdated": {"name": "Amp 2"}
    }
    await client.close()


@async_test
async def test_connection_terminate_closes():
    client = await WsClient(LEGACY).open()
    await client.send({"type": "connection_terminate"})
    assert await client.closed() == 1000


@async_test
async def test_unknown_type_is_an_error_and_unparseable_a_connection_error():
    client = await WsClient(LEGACY).open()
    await client.send({"id": "x", "type": "bogus"})
    message = await client.receive_skipping_ka()
    assert message["type"] == "error" and message["id"] == "x"
    await client.send("{not json")
    assert (await client.receive_skipping_ka())["type"] == "connection_error"
    await client.close()


@async_test
async def test_oversized_message_closes_4400(settings):
    settings.SUBSCRIPTIONS_MAX_MESSAGE_BYTES = 100
    client = await WsClient(LEGACY).open()
    await start(client, "q", "{ __typename }" + " " * 200)
    assert await client.closed() == 4400
