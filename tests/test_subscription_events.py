"""Product events: published after commit only, and delivered only to who may see them."""
from __future__ import annotations

from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.db import transaction
from graphql_jwt.shortcuts import get_token
from graphql_relay import to_global_id

from products.models import Product
from tests.ws_live import LEGACY, TRANSPORT, WsClient, async_test, save

pytestmark = pytest.mark.django_db(transaction=True)

CREATED = "subscription { productCreated { name isPublished createdBy { username } } }"
UPDATED = "subscription { productUpdated { name } }"
DELETED = "subscription { productDeleted { id name price category { name } } }"


async def viewer_clients(users, protocol=TRANSPORT) -> dict[str, WsClient]:
    clients = {"anonymous": await WsClient(protocol).open()}
    for name in ("creator", "other", "staff"):
        token = await database_sync_to_async(get_token)(users[name])
        clients[name] = await WsClient(protocol).open({"authorization": f"Bearer {token}"})
    return clients


async def create(catalog, users, name, published, creator="creator"):
    def write():
        return Product.objects.create(
            name=name, price=Decimal("10.00"), is_published=published,
            category=catalog["categories"]["books"], created_by=users[creator],
        )

    return await database_sync_to_async(write)()


async def close_all(clients):
    for client in clients.values():
        await client.close()


@async_test
async def test_created_draft_reaches_its_creator_and_staff_only(catalog, users):
    clients = await viewer_clients(users)
    for client in clients.values():
        await client.subscribe("c", CREATED)
    await create(catalog, users, "Draft Idea", published=False)
    for name in ("creator", "staff"):
        message = await clients[name].receive()
        assert message["payload"]["data"]["productCreated"] == {
            "name": "Draft Idea", "isPublished": False, "createdBy": {"username": "creator"},
        }
    await create(catalog, users, "Barrier", published=True)
    for name in ("anonymous", "other"):  # the barrier is their next event: not the draft
        message = await clients[name].receive()
        assert message["payload"]["data"]["productCreated"]["name"] == "Barrier"
    await close_all(clients)


@async_test
async def test_created_published_product_reaches_everyone(catalog, users):
    clients = await viewer_clients(users, LEGACY)
    for client in clients.values():
        await client.subscribe("c", CREATED)
    await create(catalog, users, "Open Book", published=True)
    for client in clients.values():
        message = await client.receive_skipping_ka()
        assert message["type"] == "data"
        assert message["payload"]["data"]["productCreated"]["name"] == "Open Book"
    await close_all(clients)


@async_test
async def test_publishing_a_draft_makes_it_appear_and_unpublishing_hides_it(catalog, users):
    draft = catalog["products"]["draft"]
    anonymous = await WsClient(TRANSPORT).open()
    await anonymous.subscribe("u", UPDATED)
    await save(draft, description="still a draft")
    await save(catalog["products"]["novel"], name="Barrier")
    assert (await anonymous.receive())["payload"]["data"] == {"productUpdated": {"name": "Barrier"}}
    await save(draft, is_published=True)
    assert (await anonymous.receive())["payload"]["data"] == {
        "productUpdated": {"name": "Secret Prototype"}
    }
    await save(draft, is_published=False)
    await save(draft, name="Hidden again")
    await save(catalog["products"]["novel"], name="Barrier again")
    assert (await anonymous.receive())["payload"]["data"] == {
        "productUpdated": {"name": "Barrier again"}
    }
    await anonymous.close()


@async_test
async def test_rolled_back_write_emits_nothing(catalog, users):
    client = await WsClient(TRANSPORT).open()
    await client.subscribe("c", CREATED)

    def rolled_back():
        with transaction.atomic():
            Product.objects.create(
                name="Never Was", price=Decimal("1.00"), is_published=True,
                category=catalog["categories"]["books"],
            )
            transaction.set_rollback(True)

    await database_sync_to_async(rolled_back)()
    await create(catalog, users, "Committed", published=True)
    message = await client.receive()
    # Events come in commit order: one of the rolled-back write would have come first.
    assert message["payload"]["data"]["productCreated"]["name"] == "Committed"
    await client.close()


@async_test
async def test_event_is_published_only_when_the_outer_transaction_commits(catalog, users):
    client = await WsClient(TRANSPORT).open()
    await client.subscribe("u", UPDATED)
    amp = catalog["products"]["amp"]
    seen_inside = []

    def write():
        with transaction.atomic():
            amp.name = "Inside"
            amp.save()
            seen_inside.append(len(transaction.get_connection().run_on_commit))

    await database_sync_to_async(write)()
    assert seen_inside == [1]  # waiting for the commit, not sent yet
    assert (await client.receive())["payload"]["data"] == {"productUpdated": {"name": "Inside"}}
    await client.close()


@async_test
async def test_deleted_product_payload_comes_from_its_last_state(catalog, users):
    clients = await viewer_clients(users)
    for client in clients.values():
        await client.subscribe("d", DELETED)
    novel = catalog["products"]["novel"]
    draft = catalog["products"]["draft"]
    novel_id = to_global_id("Product", novel.pk)

    def delete(product):
        product.reviews.all().delete()
        product.delete()

    await database_sync_to_async(delete)(novel)
    for client in clients.values():
        message = await client.receive()
        assert message["payload"]["data"]["productDeleted"] == {
            "id": novel_id, "name": "Mystery Novel", "price": "15.00",
            "category": {"name": "Books"},
        }
    await database_sync_to_async(delete)(draft)
    for name in ("creator", "staff"):
        data = (await clients[name].receive())["payload"]["data"]
        assert data["productDeleted"]["name"] == "Secret Prototype"
    await database_sync_to_async(delete)(catalog["products"]["amp"])
    for name in ("anonymous", "other"):  # the barrier is their next event: not the draft's
        message = await clients[name].receive()
        assert message["payload"]["data"]["productDeleted"]["name"] == "Tube Amplifier"
    await close_all(clients)


@async_test
async def test_update_through_the_graphql_mutation_is_published(catalog, users):
    from tests.conftest import GraphQLClient

    client = await WsClient(TRANSPORT).open()
    await client.subscribe("u", UPDATED)
    amp = catalog["products"]["amp"]

    def mutate():
        return GraphQLClient(users["staff"]).data(
            "mutation U($input: UpdateProductInput!) "
            "{ updateProduct(input: $input) { product { name } } }",
            {"input": {"id": to_global_id("Product", amp.pk), "name": "Via HTTP"}},
        )

    await database_sync_to_async(mutate)()
    assert (await client.receive())["payload"]["data"] == {"productUpdated": {"name": "Via HTTP"}}
    await client.close()


@async_test
async def test_one_execution_per_group_of_identical_subscriptions(catalog, users, monkeypatch):
    from subscriptions import hub

    executions = []
    real = hub.execute_event

    def counting(prepared, context, event):
        executions.append(prepared.query)
        return real(prepared, context, event)

    monkeypatch.setattr(hub, "execute_event", counting)
    anonymous = [await WsClient(TRANSPORT).open() for _ in range(3)]
    for client in anonymous:
        await client.subscribe("u", UPDATED)
    token = await database_sync_to_async(get_token)(users["creator"])
    creator = await WsClient(TRANSPORT).open({"authorization": f"Bearer {token}"})
    await creator.subscribe("u", UPDATED)
    await save(catalog["products"]["amp"], name="Shared")
    for client in [*anonymous, creator]:
        assert (await client.receive())["payload"]["data"] == {"productUpdated": {"name": "Shared"}}
    assert len(executions) == 2  # anonymous once, the creator once
    for client in [*anonymous, creator]:
        await client.close()


@async_test
async def test_one_subscribers_failure_does_not_affect_others(catalog, users, monkeypatch):
    from schema import pipeline

    real = pipeline._execute

    def failing_for_slugs(prepared, context, root_value=None):
        if "slug" in prepared.query and root_value.get("event"):
            raise RuntimeError("boom")
        return real(prepared, context, root_value)

    monkeypatch.setattr(pipeline, "_execute", failing_for_slugs)
    broken = await WsClient(TRANSPORT).open()
    await broken.subscribe("u", "subscription { productUpdated { slug } }")
    healthy = await WsClient(TRANSPORT).open()
    await healthy.subscribe("u", UPDATED)
    await save(catalog["products"]["amp"], name="Still Fine")
    assert (await healthy.receive())["payload"]["data"] == {
        "productUpdated": {"name": "Still Fine"}
    }
    failed = (await broken.receive())["payload"]
    assert failed.get("data") is None
    assert failed["errors"][0]["extensions"]["code"] == "INTERNAL"
    await broken.close()
    await healthy.close()


@async_test
async def test_resolver_error_in_one_group_stays_in_that_groups_payload(catalog, monkeypatch):
    from products.types import ProductType

    def broken_stock(product, info):
        raise RuntimeError("stock service down")

    monkeypatch.setattr(ProductType, "resolve_stock", broken_stock, raising=False)
    # graphene binds resolvers when the schema is built; patch the built field instead.
    from schema.schema import schema

    field = schema.graphql_schema.get_type("Product").fields["stock"]
    monkeypatch.setattr(field, "resolve", broken_stock)
    with_stock = await WsClient(TRANSPORT).open()
    await with_stock.subscribe("u", "subscription { productUpdated { name stock } }")
    plain = await WsClient(TRANSPORT).open()
    await plain.subscribe("u", UPDATED)
    await save(catalog["products"]["amp"], name="Amp X")
    failed = (await with_stock.receive())["payload"]
    assert failed.get("data") is None
    assert failed["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert (await plain.receive())["payload"]["data"] == {"productUpdated": {"name": "Amp X"}}
    await with_stock.close()
    await plain.close()


@async_test
async def test_slow_client_overflow_drops_oldest_events_and_says_so(catalog, settings):
    settings.SUBSCRIPTIONS_SEND_QUEUE = 3
    client = await WsClient(TRANSPORT).open()
    await client.subscribe("u", UPDATED)
    from subscriptions.hub import get_hub

    hub = get_hub()
    (subscription,) = [member for group in hub.groups.values() for member in group.members]
    # Deliver straight to the connection's queue faster than its writer can run.
    for number in range(1, 6):
        payload = {"data": {"productUpdated": {"name": f"v{number}"}}}
        subscription.connection.deliver_event(
            "u", f'{{"data":{{"productUpdated":{{"name":"v{number}"}}}}}}', payload
        )
    received = [(await client.receive())["payload"] for _ in range(3)]
    assert [p["data"]["productUpdated"]["name"] for p in received] == ["v3", "v4", "v5"]
    assert received[0]["extensions"] == {"droppedEvents": 2}
    assert "extensions" not in received[1]
    await client.close()


@async_test
async def test_a_burst_of_writes_beyond_the_layers_channel_capacity_is_delivered(
    catalog, settings
):
    settings.SUBSCRIPTIONS_SEND_QUEUE = 1000
    client = await WsClient(TRANSPORT).open()
    await client.subscribe("c", "subscription { productCreated { name } }")
    count = 150  # the channel layer's per-channel capacity is 100

    def burst():
        for number in range(count):
            Product.objects.create(
                name=f"Burst {number}", price=Decimal("1.00"), is_published=True,
                category=catalog["categories"]["books"],
            )

    await database_sync_to_async(burst)()
    names = [(await client.receive(10))["payload"]["data"]["productCreated"]["name"]
             for _ in range(count)]
    assert names == [f"Burst {number}" for number in range(count)]
    await client.close()
