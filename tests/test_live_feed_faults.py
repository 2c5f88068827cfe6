"""The live feed loses nothing: the outbox, review events, removals, and a Redis restart.

In process (the in-memory layer): events are recorded with their write and published after
commit; review writes and unpublishing reach subscribers. Against real servers: Redis
restarts under a running uvicorn with websocket and SSE subscribers, and the update committed
while it was down arrives once it is back, then the feed goes on, without a server restart.
"""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction
from graphql_jwt.shortcuts import get_token
from graphql_relay import to_global_id

from accounts.models import ApiKey
from products.models import Review
from subscriptions.hub import get_hub
from subscriptions.models import Event
from tests.live_server import start_server
from tests.real_servers import RedisServer
from tests.ws_live import TRANSPORT, NodeClient, WsClient, async_test, save

pytest_plugins = ["tests.live_server"]
pytestmark = pytest.mark.django_db(transaction=True)

UPDATED = "subscription { productUpdated { name reviewCount } }"
REMOVED = "subscription { productRemoved { id } }"


def test_an_event_is_recorded_with_its_write_and_a_rollback_records_none(catalog):
    amp = catalog["products"]["amp"]
    before = Event.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        amp.name = "Rolled back"
        amp.save()
        raise RuntimeError("the write fails after the save")
    assert Event.objects.count() == before
    amp.refresh_from_db()
    amp.save()
    event = Event.objects.latest("pk")
    assert (event.kind, event.product_id, event.was_published) == ("updated", amp.pk, True)
    assert event.published_at is not None  # published once the save committed


@async_test
async def test_a_review_write_reaches_product_updated_subscribers(catalog, users):
    client = await WsClient(TRANSPORT).open()
    await client.subscribe("u", UPDATED)
    amp = catalog["products"]["amp"]
    await database_sync_to_async(Review.objects.create)(
        product=amp, author=users["other"], rating=5, title="Lovely")
    payload = (await client.receive())["payload"]
    assert payload["data"]["productUpdated"]["reviewCount"] == 1
    await client.close()


@async_test
async def test_unpublishing_sends_a_removal_to_who_saw_it_and_nothing_of_it(catalog, users):
    anonymous = await WsClient(TRANSPORT).open()
    token = await database_sync_to_async(get_token)(users["staff"])
    staff = await WsClient(TRANSPORT).open({"authorization": f"Bearer {token}"})
    for client in (anonymous, staff):
        await client.subscribe("r", REMOVED)
        await client.subscribe("u", UPDATED)
    amp = catalog["products"]["amp"]
    await save(amp, is_published=False)
    removal = await anonymous.receive()
    assert removal["id"] == "r"
    assert removal["payload"]["data"] == {"productRemoved": {"id": to_global_id("Product", amp.pk)}}
    # Staff still see it: they get the update, not a removal; then the barrier below.
    update = await staff.receive()
    assert (update["id"], update["payload"]["data"]["productUpdated"]["name"]) == (
        "u", amp.name)
    await save(catalog["products"]["novel"], name="Barrier")
    for client in (anonymous, staff):
        barrier = await client.receive()
        assert (barrier["id"], barrier["payload"]["data"]["productUpdated"]["name"]) == (
            "u", "Barrier")
        await client.close()


@async_test
async def test_a_ping_with_a_payload_that_is_not_an_object_closes_4400(db):
    client = await WsClient(TRANSPORT).open()
    await client.send({"type": "ping", "payload": "hello"})
    assert await client.closed_next() == 4400


@async_test
async def test_a_client_that_stops_reading_is_closed_4008_not_left_to_the_keepalive(catalog,
                                                                                   settings):
    settings.SUBSCRIPTIONS_SEND_QUEUE = 2
    settings.SUBSCRIPTIONS_SLOW_CLIENT_SECONDS = 0.0
    client = await WsClient(TRANSPORT).open()
    await client.subscribe("u", UPDATED)
    (group,) = get_hub().groups.values()
    (subscription,) = group.members
    stuck = asyncio.get_running_loop().create_future()

    async def write_that_never_completes(*args, **kwargs):
        await stuck  # the client's TCP window is full: the write waits for ever

    subscription.connection.send = write_that_never_completes
    for index in range(5):  # one being written, two queued, then two over a full queue
        await save(catalog["products"]["amp"], name=f"Amp {index}")
    assert await client.closed() == 4008
    assert get_hub().size == 0


# -- Redis restarts under a running server -------------------------------------------------


def _update(server, api_key: str, product_id: str, name: str) -> None:
    request = urllib.request.Request(
        server.graphql_url,
        data=json.dumps({
            "query": "mutation U($input: UpdateProductInput!) { updateProduct(input: $input) "
                     "{ product { name } } }",
            "variables": {"input": {"id": product_id, "name": name}},
        }).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": api_key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        result = json.load(response)
    assert "errors" not in result, result


@pytest.mark.node
def test_a_redis_restart_loses_no_event_and_the_feed_resumes(catalog, users, django_db_setup):
    redis = RedisServer()
    server = start_server(connection.settings_dict["NAME"], {"REDIS_URL": redis.url})
    try:
        key = ApiKey.issue(users["staff"], "restart")[1]
        novel = to_global_id("Product", catalog["products"]["novel"].pk)
        query = "subscription { productUpdated { name } }"
        subscribers = [
            NodeClient("subscribe.mjs", {"WS_URL": server.ws_url, "CLIENT": "graphql-ws",
                                         "QUERIES": json.dumps([query]), "EXPECT": "2"}),
            NodeClient("subscribe-sse.mjs", {"HTTP_URL": server.graphql_url, "EXPECT": "2",
                                             "OPERATIONS": json.dumps([{"query": query}])}),
        ]
        for subscriber in subscribers:
            subscriber.wait_for("ready")
        redis.stop()
        _update(server, key, novel, "Committed while Redis was down")
        redis.start()
        back = time.monotonic()
        for subscriber in subscribers:
            event = subscriber.wait_for("event", timeout=15)
            assert event["payload"]["data"]["productUpdated"]["name"] == (
                "Committed while Redis was down")
        assert time.monotonic() - back <= 5
        _update(server, key, novel, "After the restart")
        for subscriber in subscribers:
            event = subscriber.wait_for("event", timeout=10)
            assert event["payload"]["data"]["productUpdated"]["name"] == "After the restart"
            subscriber.wait_for("done")
            subscriber.stop()
        assert not Event.objects.filter(published_at=None).exists()
    finally:
        server.stop()
        redis.stop()
