"""Bad requests get a coded error a client can act on: never a 500, never a traceback."""
from __future__ import annotations

import json
from base64 import b64encode

import pytest
from django.test import Client
from graphql_relay import to_global_id

from products.models import Favorite
from tests.conftest import GraphQLClient, error_codes

NODE = "query ($id: ID!) { node(id: $id) { id } }"
PRODUCT = "query ($id: ID, $slug: String) { product(id: $id, slug: $slug) { name } }"
CATEGORY = "query ($id: ID, $slug: String) { category(id: $id, slug: $slug) { name } }"
UNKNOWN_PK = 10**6


def raw_id(text: str) -> str:
    return b64encode(text.encode()).decode()


def assert_error(result: dict, code: str, field: str | None = None) -> None:
    assert error_codes(result) == [code], result
    if field is not None:
        assert result["errors"][0]["extensions"]["field"] == field


# -- IDs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "type_name", ["Product", "Category", "Review", "User", "ProductImage", "Order"]
)
def test_node_with_an_unknown_id_is_not_found(gql, catalog, type_name):
    result = gql.execute(NODE, {"id": to_global_id(type_name, UNKNOWN_PK)})
    assert result["data"] == {"node": None}
    assert_error(result, "NOT_FOUND")


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (PRODUCT, {"id": to_global_id("Product", UNKNOWN_PK)}),
        (PRODUCT, {"slug": "no-such-product"}),
        (CATEGORY, {"id": to_global_id("Category", UNKNOWN_PK)}),
        (CATEGORY, {"slug": "no-such-category"}),
    ],
)
def test_lookup_of_something_that_does_not_exist_is_not_found(gql, catalog, query, variables):
    result = gql.execute(query, variables)
    assert list(result["data"].values()) == [None]
    assert_error(result, "NOT_FOUND")


MALFORMED_IDS = [
    "abc",
    "",
    raw_id("Product:xyz"),
    raw_id("Product:"),
    raw_id("Product:0"),
    raw_id("Product:-3"),
    raw_id(":7"),
    "Product:1",
]


@pytest.mark.parametrize("query", [NODE, PRODUCT], ids=["node", "product"])
@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_malformed_global_id_is_bad_user_input(gql, catalog, query, bad_id):
    assert_error(gql.execute(query, {"id": bad_id}), "BAD_USER_INPUT", field="id")


@pytest.mark.parametrize("type_name", ["PageInfo", "ProductConnection", "CreateProductInput",
                                       "NoSuchType", "String"])
def test_node_refuses_ids_of_types_that_are_not_nodes(gql, catalog, type_name):
    result = gql.execute(NODE, {"id": to_global_id(type_name, 1)})
    assert_error(result, "BAD_USER_INPUT", field="id")


def test_product_refuses_the_id_of_a_category(gql, catalog):
    category_id = to_global_id("Category", catalog["categories"]["audio"].pk)
    result = gql.execute(PRODUCT, {"id": category_id})
    assert result["data"] == {"product": None}
    assert_error(result, "BAD_USER_INPUT", field="id")


def test_category_refuses_the_id_of_a_product(gql, catalog):
    product_id = to_global_id("Product", catalog["products"]["amp"].pk)
    assert_error(gql.execute(CATEGORY, {"id": product_id}), "BAD_USER_INPUT", field="id")


@pytest.mark.parametrize("query", [PRODUCT, CATEGORY], ids=["product", "category"])
def test_lookup_needs_exactly_one_of_id_and_slug(gql, catalog, query):
    both = {"id": to_global_id("Product", catalog["products"]["amp"].pk), "slug": "audio"}
    assert_error(gql.execute(query, both), "BAD_USER_INPUT")
    assert_error(gql.execute(query, {}), "BAD_USER_INPUT")


# -- documents and variables ------------------------------------------------------


def test_syntax_error_is_graphql_parse_failed(gql):
    assert_error(gql.execute("{ products { edges { node { name } }"), "GRAPHQL_PARSE_FAILED")


def test_unknown_field_is_graphql_validation_failed(gql):
    result = gql.execute("{ products { edges { node { colour } } } }")
    assert_error(result, "GRAPHQL_VALIDATION_FAILED")
    assert "colour" in result["errors"][0]["message"]


def test_unknown_argument_is_graphql_validation_failed(gql):
    assert_error(gql.execute("{ products(colour: 1) { totalCount } }"),
                 "GRAPHQL_VALIDATION_FAILED")


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query ($first: Int) { products(first: $first) { totalCount } }", {"first": "ten"}),
        ("query ($first: Int) { products(first: $first) { totalCount } }", {"first": 1.5}),
        ("query ($inStock: Boolean) { products(inStock: $inStock) { totalCount } }",
         {"inStock": "yes"}),
        ("query ($id: ID!) { node(id: $id) { id } }", {}),
        ("query ($id: ID!) { node(id: $id) { id } }", {"id": None}),
        ("query ($price: Decimal) { products(priceGte: $price) { totalCount } }",
         {"price": "cheap"}),
    ],
)
def test_wrong_variable_type_is_bad_user_input(gql, query, variables):
    result = gql.execute(query, variables)
    assert_error(result, "BAD_USER_INPUT")
    assert "data" not in result or result["data"] is None


def test_first_with_a_literal_of_the_wrong_type_is_refused_before_execution(gql):
    assert_error(gql.execute('{ products(first: "ten") { totalCount } }'),
                 "GRAPHQL_VALIDATION_FAILED")


# -- the HTTP layer -----------------------------------------------------------------


@pytest.fixture
def http(db) -> Client:
    """A client that shows server errors as responses instead of raising them."""
    return Client(raise_request_exception=False, HTTP_ACCEPT="application/json")


def assert_refused(response, status: int) -> dict:
    body = response.content.decode()
    assert response.status_code == status, body
    assert "Traceback" not in body
    payload = json.loads(body)
    assert error_codes(payload) == ["BAD_REQUEST"], payload
    return payload


def test_get_performs_a_query(http, catalog):
    response = http.get("/graphql/", {"query": "{ products { totalCount } }"})
    assert response.status_code == 200
    assert response.json()["data"] == {"products": {"totalCount": 4}}


def test_get_refuses_a_mutation(http, catalog):
    response = http.get("/graphql/", {"query": "mutation { __typename }"})
    payload = assert_refused(response, 405)
    assert "POST" in payload["errors"][0]["message"]


def test_get_never_runs_a_mutation(users, catalog):
    http = Client(raise_request_exception=False, HTTP_ACCEPT="application/json")
    http.force_login(users["other"])
    product_id = to_global_id("Product", catalog["products"]["amp"].pk)
    query = f'mutation {{ toggleFavorite(input: {{product: "{product_id}"}}) {{ favorited }} }}'
    assert_refused(http.get("/graphql/", {"query": query}), 405)
    assert not Favorite.objects.exists()


@pytest.mark.parametrize(
    "body",
    ["this is not json", "{", '{"query": "{ me { id } }"', "\x00\xff"],
    ids=["text", "unclosed-brace", "truncated", "binary"],
)
def test_body_that_is_not_json_is_a_bad_request(http, body):
    response = http.post("/graphql/", body, content_type="application/json")
    assert_refused(response, 400)


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        "a string",
        42,
        {"query": 42},
        {"query": ["{ me { id } }"]},
        {"query": "{ me { id } }", "variables": [1]},
        {"query": "{ me { id } }", "variables": "not json"},
        {"query": "{ me { id } }", "operationName": 7},
    ],
    ids=["list", "string", "number", "query-number", "query-list", "variables-list",
         "variables-bad-string", "operation-name-number"],
)
def test_json_of_the_wrong_shape_is_refused_without_a_server_error(http, payload):
    response = http.post("/graphql/", json.dumps(payload), content_type="application/json")
    body = response.content.decode()
    assert response.status_code < 500, body
    assert "Traceback" not in body
    assert json.loads(body)["errors"], body


def test_missing_query_is_a_bad_request(http):
    response = http.post("/graphql/", json.dumps({"variables": {}}),
                         content_type="application/json")
    assert_refused(response, 400)


def test_a_signed_in_viewer_gets_the_same_codes(users):
    client = GraphQLClient(users["other"])
    assert_error(client.execute(NODE, {"id": "abc"}), "BAD_USER_INPUT", field="id")
    assert_error(client.execute("{ nope }"), "GRAPHQL_VALIDATION_FAILED")


def test_a_subscription_over_plain_http_is_refused_naming_its_transports(gql, catalog,
                                                                         django_assert_num_queries):
    with django_assert_num_queries(0):
        result = gql.execute("subscription { productCreated { name } }")
    assert error_codes(result) == ["SUBSCRIPTION_TRANSPORT_REQUIRED"]
    assert result["errors"][0]["extensions"]["transports"] == [
        "graphql-sse", "graphql-transport-ws", "graphql-ws"]
    assert "data" not in result


@pytest.mark.parametrize("text", ["\ud800x", "x\udfff"], ids=["high", "low"])
@pytest.mark.parametrize(("query", "argument"), [
    ("query ($s: String) { products(first: 2, search: $s) { edges { node { name } } } }",
     "search"),
    ("query ($s: String) { product(slug: $s) { name } }", "slug"),
], ids=["search", "slug"])
def test_a_lone_surrogate_in_a_string_argument_is_bad_user_input(gql, catalog, query, argument,
                                                                 text, django_assert_num_queries):
    """JSON can escape half of a UTF-16 pair ("\\ud800"); no database encoding holds it.
    Refused before execution (schema/inputs.py), naming the argument."""
    with django_assert_num_queries(0):
        result = gql.execute(query, {"s": text})
    assert_error(result, "BAD_USER_INPUT", field=argument)
    assert "lone UTF-16 surrogate" in result["errors"][0]["message"]
    assert "data" not in result


@pytest.mark.parametrize("query", [
    '{ product(slug: "a\\u0000b") { name } }',
    '{ category(slug: "a\\u0000b") { name } }',
], ids=["product", "category"])
def test_a_nul_character_in_text_is_bad_user_input(gql, catalog, query):
    assert_error(gql.execute(query), "BAD_USER_INPUT")


@pytest.mark.parametrize("pk", [2**31, 9223372036854775808, 10**23])
def test_a_global_id_beyond_any_primary_key_is_bad_user_input(gql, catalog, pk):
    """Keys are 32-bit: larger numbers name no row (and overflow SQLite's integers)."""
    for type_name in ("Product", "Category"):
        result = gql.execute(NODE, {"id": to_global_id(type_name, pk)})
        assert_error(result, "BAD_USER_INPUT", field="id")
    assert_error(gql.execute(NODE, {"id": to_global_id("Product", 2**31 - 1)}), "NOT_FOUND")
