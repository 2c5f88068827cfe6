"""The legacy `graphql-ws` subprotocol (subscriptions-transport-ws) at /graphql/: its own rules.

What it shares with graphql-transport-ws (queries, resolver and request errors, a subscription
until stopped, the init timeout, size and operation limits, a JWT in connection_init) runs
over both subprotocols in tests/test_ws_protocol.py. See subscriptions/protocols.py for where
we differ from the reference server (rejection closes 4403; start before connection_ack is an
error).
"""
from __future__ import annotations

import pytest

from tests.ws_live import LEGACY, WsClient, async_test, save

# Tests that touch the database are transactional: the consumer runs its queries in
# another thread context than the test's transaction. The others need no database.
uses_db = pytest.mark.django_db(transaction=True)

UPDATED = "subscription { productUpdated { name } }"


@async_test
async def test_the_ack_is_followed_by_keep_alives(settings):
    settings.SUBSCRIPTIONS_KEEPALIVE = 0.2
    client = await WsClient(LEGACY).open({})
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
    await client.start("1", UPDATED)
    message = await client.receive()
    assert message["type"] == "error" and message["id"] == "1"
    await client.init()
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
