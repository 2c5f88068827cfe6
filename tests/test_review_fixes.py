"""Defects found in review, each pinned by the request that showed it."""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from graphql_relay import to_global_id

from accounts.models import ApiKey
from products.models import Product
from tests.conftest import GraphQLClient, error_codes
from tests.ws_live import TRANSPORT, WsClient, async_test

CREATE_THEN_FAIL = """
mutation ($category: ID!) {
  a: createProduct(input: {name: "Kept", price: "5.00", stock: 1, category: $category}) {
    product { id name } errors { code }
  }
  b: deleteProduct(input: {id: "UHJvZHVjdDo5OTk5OQ=="}) { deletedId }
}
"""


def test_a_mutation_that_succeeded_is_kept_when_a_later_one_fails(catalog, users):
    result = GraphQLClient(users["staff"]).execute(
        CREATE_THEN_FAIL, {"category": to_global_id("Category", catalog["categories"]["books"].pk)}
    )
    assert error_codes(result) == ["NOT_FOUND"]
    assert result["data"]["a"] == {"product": {"id": result["data"]["a"]["product"]["id"],
                                               "name": "Kept"}, "errors": []}
    # What the response reports as done is done.
    assert Product.objects.filter(name="Kept").exists()


def test_a_failing_mutation_writes_nothing(catalog, users):
    result = GraphQLClient(users["staff"]).execute(
        """mutation ($category: ID!) { createProduct(input: {name: "Nope", price: "0",
           stock: 1, category: $category}) { product { id } errors { field code } } }""",
        {"category": to_global_id("Category", catalog["categories"]["books"].pk)},
    )
    assert result["data"]["createProduct"]["errors"] == [{"field": "price", "code": "MIN_VALUE"}]
    assert not Product.objects.filter(name="Nope").exists()


def test_node_with_the_id_of_an_input_type_is_bad_user_input(gql):
    result = gql.execute('{ node(id: "%s") { id } }' % to_global_id("CreateProductInput", 1))
    assert error_codes(result) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("query", [
    '{ product(slug: "a\\u0000b") { name } }',
    '{ category(slug: "a\\u0000b") { name } }',
])
def test_a_nul_character_in_text_is_bad_user_input(catalog, query):
    result = GraphQLClient().execute(query)
    assert error_codes(result) == ["BAD_USER_INPUT"]


@pytest.mark.django_db(transaction=True)
@async_test
async def test_an_api_key_cannot_mint_api_keys_over_the_socket(users):
    _key, plain = await database_sync_to_async(ApiKey.issue)(users["creator"], "script")
    client = await WsClient(TRANSPORT).open({"x-api-key": plain})
    await client.send({"id": "m", "type": "subscribe", "payload": {
        "query": 'mutation { createApiKey(input: {name: "minted"}) { key } }',
    }})
    result = await client.receive()
    assert result["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await database_sync_to_async(ApiKey.objects.filter(name="minted").exists)() is False
    await client.close()


def test_verify_token_refuses_the_token_of_a_disabled_user(users):
    from graphql_jwt.shortcuts import get_token

    token = get_token(users["other"])
    users["other"].is_active = False
    users["other"].save(update_fields=["is_active"])
    result = GraphQLClient().execute(
        "mutation ($t: String!) { verifyToken(input: {token: $t}) { payload } }", {"t": token}
    )
    assert error_codes(result) == ["UNAUTHENTICATED"]


@pytest.mark.django_db(transaction=True)
@async_test
async def test_websocket_operations_draw_from_the_same_throttle_bucket(catalog, settings):
    settings.GRAPHQL_THROTTLE_ADDRESS_BUCKET_SIZE = 3
    settings.GRAPHQL_THROTTLE_ADDRESS_RESTORE_RATE = 0.001
    client = await WsClient(TRANSPORT).open()
    codes = []
    for op_id in "abcd":
        await client.send({"id": op_id, "type": "subscribe", "payload": {
            "query": "{ me { id } }",  # costs 1 point
        }})
        message = await client.receive()
        if message["type"] == "next":
            assert await client.receive() == {"id": op_id, "type": "complete"}
            codes.append("ok")
        else:
            codes.append(message["payload"][0]["extensions"]["code"])
    assert codes == ["ok", "ok", "ok", "THROTTLED"]
    await client.close()


@pytest.mark.django_db(transaction=True)
@async_test
async def test_the_allow_list_applies_to_websocket_operations(catalog, settings, tmp_path):
    allowed = "{ categories { name } }"
    path = tmp_path / "allowed.json"
    path.write_text(json.dumps([allowed]))
    settings.GRAPHQL_PERSISTED_QUERIES_ONLY = True
    settings.GRAPHQL_PERSISTED_QUERIES_FILE = str(path)
    client = await WsClient(TRANSPORT).open()
    await client.send({"id": "x", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
    refused = await client.receive()
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    await client.send({"id": "y", "type": "subscribe", "payload": {"query": allowed}})
    assert (await client.receive())["type"] == "next"
    await client.close()
