"""Apollo Client 4 (tests/clients/apollo.mjs, in Node) against the real server: queries and
the normalized cache, Relay pagination, coded errors, a sign-in with tokenAuth, mutations
whose payloads update cached queries, and subscriptions through GraphQLWsLink (graphql-ws).
"""
from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from graphql_relay import from_global_id, to_global_id

from products.models import Product
from tests.live_server import needs_node_clients, run_node, set_server_password

pytest_plugins = ["tests.live_server"]
pytestmark = [pytest.mark.node, needs_node_clients, pytest.mark.django_db(transaction=True)]

GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"
PASSWORD = "apollo-staff-password"


def test_apollo_client(asgi_server, catalog, users):
    set_server_password(users["staff"], PASSWORD)
    report = run_node("apollo.mjs", asgi_server, env={
        "USERNAME": "staff", "PASSWORD": PASSWORD, "WS_URL": asgi_server.ws_url,
        "CATEGORY_ID": to_global_id("Category", catalog["categories"]["audio"].pk),
    })
    visible = {key: p for key, p in catalog["products"].items() if key != "draft"}

    # A query over the network; Apollo asks for application/graphql-response+json first.
    query = report["query"]
    assert query["error"] is None
    assert query["totalCount"] == len(visible)
    products = {p["name"]: p for p in query["products"]}
    assert set(products) == {p.name for p in visible.values()}
    for product in visible.values():
        got = products[product.name]
        assert got["id"] == to_global_id("Product", product.pk)
        assert got["category"]["id"] == to_global_id("Category", product.category_id)
    assert {e["contentType"] for e in report["exchanges"]} == {GRAPHQL_RESPONSE}

    # The normalized cache: one entity per global ID, relations stored as references.
    cache = report["cache"]
    first = query["products"][0]
    assert cache["key"] == f"Product:{first['id']}"
    assert cache["card"] == first
    assert cache["productKeys"] == sorted(f"Product:{p['id']}" for p in query["products"])
    assert cache["categoryRef"] == {"__ref": f"Category:{first['category']['id']}"}
    # node(id:) resolved from the cache by global ID, without a request.
    assert cache["nodeRequests"] == 0
    assert cache["node"] == {key: first[key] for key in ("__typename", "id", "name", "slug")}
    # A second query's fields merge into the same entity.
    product = next(p for p in visible.values() if p.name == first["name"])
    assert cache["merged"] == {
        "__typename": "Product", "id": first["id"], "name": product.name,
        "description": product.description, "reviewCount": product.reviews.count(),
    }

    # Relay cursors paged with relayStylePagination + fetchMore.
    pagination = report["pagination"]
    assert [len(page) for page in pagination["pages"]] == [2, 2]
    assert pagination["mergedNames"] == [name for page in pagination["pages"] for name in page]
    assert set(pagination["mergedNames"]) == set(products)
    assert pagination["hasNextPage"] is False

    # A cheaper product created between two pages of an infinite list: no item twice, none
    # missing; the new one sorts before the pages read, so this list does not show it.
    paging = report["insertWhilePaging"]
    assert paging["created"]["errors"] == []
    listed = Product.objects.visible_to(AnonymousUser()).exclude(name="Bargain Cable")
    by_price = [p.name for p in listed.order_by("price", "pk")]
    assert paging["firstPage"] == by_price[:2]
    assert paging["mergedNames"] == by_price

    # A coded field error: CombinedGraphQLErrors, thrown by default, beside data with "all".
    field_error = report["errors"]["fieldError"]
    for error in (field_error["thrown"], field_error["all"]["error"]):
        assert error["isCombinedGraphQLErrors"], error
        assert [(e["code"], e["path"]) for e in error["errors"]] == [
            ("BAD_USER_INPUT", ["product"])
        ]
    assert field_error["all"]["data"] == {"product": None}

    # A request error: 400 with graphql-response+json, still CombinedGraphQLErrors in Apollo.
    validation = report["errors"]["validationError"]
    assert (validation["status"], validation["contentType"]) == (400, GRAPHQL_RESPONSE)
    assert validation["error"]["isCombinedGraphQLErrors"], validation
    assert [e["code"] for e in validation["error"]["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert validation["data"] is None

    # Signed in with tokenAuth; the JWT goes in `Authorization: Bearer` (HTTP) and in the
    # connection_init payload (websocket).
    sign_in = report["signIn"]
    assert sign_in["errors"] == [] and sign_in["hasToken"]
    assert sign_in["user"]["username"] == "staff"

    mutations = report["mutations"]
    # No credentials: a top-level coded error, CombinedGraphQLErrors in Apollo.
    unauthenticated = mutations["unauthenticated"]
    assert unauthenticated["isCombinedGraphQLErrors"], unauthenticated
    assert [(e["code"], e["path"]) for e in unauthenticated["errors"]] == [
        ("UNAUTHENTICATED", ["createProduct"])
    ]
    # createProduct with variables: the payload's product is the cached entity of its ID.
    created = mutations["created"]["payload"]
    assert created["errors"] == []
    assert created["clientMutationId"] == "apollo-create-1"
    product = created["product"]
    audio = catalog["categories"]["audio"]
    assert product == {
        "__typename": "Product", "id": product["id"], "name": "Apollo Turntable",
        "price": "349.90", "stock": 3, "isPublished": True,
        "category": {"__typename": "Category", "id": to_global_id("Category", audio.pk),
                     "name": audio.name},
    }
    assert mutations["created"]["key"] == f"Product:{product['id']}"
    assert mutations["created"]["cached"] == product
    # updateProduct: a query cached before it reads the new values from the cache, and a
    # watching query is told; the mutation was the only request.
    update = mutations["update"]
    assert update["payload"]["errors"] == []
    assert update["payload"]["clientMutationId"] == "apollo-update-1"
    renamed = {"__typename": "Product", "id": product["id"], "name": "Apollo Turntable II",
               "price": "299.00"}
    assert update["before"] == {**renamed, "name": "Apollo Turntable", "price": "349.90"}
    assert update["payload"]["product"] == renamed
    assert update["cached"] == update["cacheFirst"] == renamed
    assert update["watched"] == [update["before"], renamed]
    assert update["requests"] == [{"method": "POST", "status": 200}]
    saved = Product.objects.get(pk=from_global_id(product["id"]).id)
    assert (saved.name, str(saved.price), saved.created_by_id) == (
        "Apollo Turntable II", "299.00", users["staff"].pk,
    )
    # A problem with the input: `errors` in the payload, no product, nothing saved.
    assert mutations["invalid"]["product"] is None
    assert [(e["field"], e["code"]) for e in mutations["invalid"]["errors"]] == [
        ("price", "MIN_VALUE")
    ]
    assert not Product.objects.filter(name="Free lunch").exists()

    # GraphQLWsLink: productCreated, then productUpdated(id:), each received after a mutation
    # sent over HTTP by another client; the events update the subscriber's cache.
    live = report["subscriptions"]
    assert live["errors"] == []
    live_id = live["createdId"]
    assert live["createdEvents"] == [{"productCreated": {
        "__typename": "Product", "id": live_id, "name": "Live Turntable", "price": "120.00",
    }}]
    updated = {"__typename": "Product", "id": live_id, "name": "Live Turntable (sale)",
               "price": "99.00"}
    assert live["updatedEvents"] == [{"productUpdated": updated}]
    assert live["cached"] == updated
