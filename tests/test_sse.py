"""GraphQL over Server-Sent Events, in process: the ASGI application read as it streams.

The real graphql-sse npm client against live servers (one, and two sharing Redis) is in
tests/test_subscription_cross_process.py.
"""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from graphql_relay import to_global_id

from accounts.models import ApiKey
from subscriptions.hub import get_hub
from tests.ws_live import SseClient, async_test, save

pytestmark = pytest.mark.django_db(transaction=True)

UPDATED = "subscription U($id: ID) { productUpdated(id: $id) { name } }"


@async_test
async def test_a_query_streams_one_result_then_completes(catalog):
    client = await SseClient({"query": "{ categories { slug } }"}).open()
    assert (client.status, client.content_type) == (200, "text/event-stream; charset=utf-8")
    payload = await client.result()
    assert {"slug": "books"} in payload["data"]["categories"]
    assert payload["extensions"]["cost"]["requestedQueryCost"] >= 1
    await client.close()


@async_test
async def test_a_refusal_is_a_next_event_with_its_code_not_an_http_error(db):
    client = await SseClient({"query": "{ nope }"}).open()
    assert client.status == 200
    payload = await client.result()
    assert "data" not in payload
    assert payload["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    await client.close()


@async_test
async def test_a_subscription_streams_events_and_leaves_the_hub_when_the_client_goes(catalog):
    amp = catalog["products"]["amp"]
    client = await SseClient({
        "query": UPDATED, "variables": {"id": to_global_id("Product", amp.pk)},
    }).open()
    assert get_hub().size == 1
    await save(catalog["products"]["novel"], name="Not this one")
    await save(amp, name="Amp, streamed")
    name, payload = await client.event()
    assert (name, payload["data"]) == ("next", {"productUpdated": {"name": "Amp, streamed"}})
    await client.close()
    assert get_hub().size == 0


@async_test
async def test_a_revoked_key_ends_the_stream_with_unauthenticated(catalog, users):
    key, secret = await database_sync_to_async(ApiKey.issue)(users["staff"], "sse")
    client = await SseClient({"query": UPDATED},
                             headers=[(b"x-api-key", secret.encode())]).open()
    key.is_active = False
    await database_sync_to_async(key.save)()
    await save(catalog["products"]["amp"], name="After revocation")
    name, payload = await client.event()
    assert name == "next"
    assert payload["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await client.event())[0] == "complete"
    await client.close()
    assert get_hub().size == 0


@async_test
async def test_an_event_source_subscribes_with_get_and_mutations_need_post(catalog):
    """EventSource can only GET: subscriptions and queries stream over GET too; a mutation
    over GET is refused (in the stream, with its code), as over plain HTTP."""
    client = await SseClient({"query": UPDATED}, method="GET").open()
    assert (client.status, get_hub().size) == (200, 1)
    await save(catalog["products"]["amp"], name="Amp over GET")
    name, payload = await client.event()
    assert (name, payload["data"]) == ("next", {"productUpdated": {"name": "Amp over GET"}})
    await client.close()
    mutation = await SseClient({"query": "mutation { revokeToken(input: {refreshToken: \"x\"})"
                                         " { revoked } }"}, method="GET").open()
    payload = await mutation.result()
    assert payload["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    await mutation.close()
