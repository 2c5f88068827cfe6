"""Introspection as real tools do it, against the live server (production settings, whose
default policy is GRAPHQL_INTROSPECTION=on), and introspection abuse, which stays refused.

- graphql-core's `get_introspection_query`, every option on, POSTed over HTTP: the client schema
  `build_client_schema` makes of the answer prints exactly as the server's own schema.
- graphql-js 16's `getIntrospectionQuery`, every option on (tests/clients/introspect.mjs).
- GraphQL Code Generator's CLI given the server's URL (tests/clients/codegen-schema.mjs, the
  schema-ast plugin): the SDL it writes has `Product` and its fields.
- `GRAPHQL_INTROSPECTION=staff`: anonymous introspection is INTROSPECTION_DISABLED, a staff
  JWT gets the schema.
- An `ofType` chain 30 deep is MAX_DEPTH_EXCEEDED; `__schema`/`__type` selected more than
  GRAPHQL_MAX_INTROSPECTION_FIELDS times (aliases, fragments) is MAX_INTROSPECTION_EXCEEDED.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from graphql import (
    build_client_schema,
    build_schema,
    get_introspection_query,
    print_schema,
)

from tests.live_server import needs_node_clients, run_node, set_server_password

pytest_plugins = ["tests.live_server"]
# The server needs the test database; only the tests that write rows for it commit them.
pytestmark = pytest.mark.django_db

PASSWORD = "introspection-staff-password"


def post(server, query: str, *, token: str | None = None,
         operation_name: str | None = None) -> tuple[int, dict]:
    """POST a GraphQL request to the live server: (status, JSON body)."""
    body = {"query": query}
    if operation_name:
        body["operationName"] = operation_name
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        server.graphql_url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def sign_in(server, username: str, password: str) -> str:
    status, body = post(
        server,
        'mutation { tokenAuth(input: {username: "%s", password: "%s"}) { token } }'
        % (username, password),
    )
    assert status == 200 and "errors" not in body, body
    return body["data"]["tokenAuth"]["token"]


def codes(body: dict) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


def server_schema():
    """The schema the live server runs (same code, built in this process)."""
    from schema.schema import schema

    return schema.graphql_schema


def product_fields(graphql_schema) -> list[str]:
    return list(graphql_schema.type_map["Product"].fields)


# -- Real tools ---------------------------------------------------------------------------

GRAPHQL_CORE_OPTIONS = {
    "descriptions": True,
    "specified_by_url": True,
    "directive_is_repeatable": True,
    "schema_description": True,
    "input_value_deprecation": True,
}


@pytest.mark.parametrize("options", [
    pytest.param(GRAPHQL_CORE_OPTIONS, id="documented-options"),
    pytest.param({**GRAPHQL_CORE_OPTIONS, "experimental_directive_deprecation": True,
                  "input_object_one_of": True}, id="every-option"),
])
def test_graphql_core_introspection_builds_the_servers_schema(asgi_server, options):
    query = get_introspection_query(**options)
    status, body = post(asgi_server, query, operation_name="IntrospectionQuery")

    assert status == 200
    assert "errors" not in body, body["errors"]
    client_schema = build_client_schema(body["data"])
    assert product_fields(client_schema) == product_fields(server_schema())
    assert {"name", "price", "reviews", "category", "images"} <= set(product_fields(client_schema))
    # Everything a client learns is the schema itself: types, fields, arguments, descriptions.
    assert print_schema(client_schema) == print_schema(server_schema())


@needs_node_clients
@pytest.mark.node
def test_graphql_js_introspection_with_every_option(asgi_server):
    report = run_node("introspect.mjs", asgi_server)

    assert report["ofTypeLevels"] == 9  # graphql-js's default typeDepth
    assert report["status"] == 200
    assert report["errors"] is None
    assert report["buildError"] is None
    assert report["queryType"] == "Query" and report["subscriptionType"] == "Subscription"
    assert report["productFields"] == product_fields(server_schema())
    assert print_schema(build_schema(report["sdl"])) == print_schema(server_schema())


@needs_node_clients
@pytest.mark.node
def test_graphql_codegen_cli_writes_the_schema_from_the_url(asgi_server):
    report = run_node("codegen-schema.mjs", asgi_server, timeout=90)

    assert report["status"] == 0, report
    sdl = report["sdl"]
    assert sdl, report
    assert "type Product implements Node {" in sdl
    generated = build_schema(sdl)
    # schema-ast sorts fields by name; the set is the server's.
    assert set(product_fields(generated)) == set(product_fields(server_schema()))
    product = generated.type_map["Product"]
    assert str(product.fields["price"].type) == "Decimal!"
    assert str(product.fields["reviews"].type) == "ReviewConnection!"


@pytest.mark.django_db(transaction=True)
def test_staff_only_introspection_over_http(asgi_server_with, users):
    server = asgi_server_with(GRAPHQL_INTROSPECTION="staff")
    query = get_introspection_query(**GRAPHQL_CORE_OPTIONS)

    status, anonymous = post(server, query, operation_name="IntrospectionQuery")
    assert status == 200
    assert codes(anonymous) == ["INTROSPECTION_DISABLED"]
    assert "data" not in anonymous or anonymous["data"] is None

    set_server_password(users["other"], PASSWORD)
    status, member = post(server, query, operation_name="IntrospectionQuery",
                          token=sign_in(server, "other", PASSWORD))
    assert status == 200
    assert codes(member) == ["INTROSPECTION_DISABLED"]

    set_server_password(users["staff"], PASSWORD)
    status, staff = post(server, query, operation_name="IntrospectionQuery",
                         token=sign_in(server, "staff", PASSWORD))
    assert status == 200
    assert "errors" not in staff, staff["errors"]
    assert product_fields(build_client_schema(staff["data"])) == product_fields(server_schema())


# -- Abuse --------------------------------------------------------------------------------


def of_type_chain(levels: int) -> str:
    return "{ __type(name: \"Product\") { %s name %s } }" % (
        "ofType { " * levels, "}" * levels
    )


def test_a_standard_depth_of_type_chain_is_answered(asgi_server):
    """The 9 `ofType` levels of the standard documents, under __type: allowed."""
    status, body = post(asgi_server, of_type_chain(9))
    assert status == 200
    assert "errors" not in body, body["errors"]
    assert body["data"] == {"__type": {"ofType": None}}


def test_an_of_type_chain_30_deep_is_refused(asgi_server):
    status, body = post(asgi_server, of_type_chain(30))
    assert status == 200
    assert codes(body) == ["MAX_DEPTH_EXCEEDED"]
    assert body["errors"][0]["extensions"]["limit"] == settings.GRAPHQL_MAX_INTROSPECTION_DEPTH
    assert "data" not in body


def test_a_deep_of_type_chain_in_a_fragment_is_refused(asgi_server):
    query = (
        "query { __schema { types { ...Deep } } } "
        "fragment Deep on __Type { %s name %s }" % ("ofType { " * 30, "}" * 30)
    )
    status, body = post(asgi_server, query)
    assert status == 200
    assert codes(body) == ["MAX_DEPTH_EXCEEDED"]
    assert "data" not in body


@pytest.mark.parametrize("query", [
    pytest.param("{ %s }" % " ".join(f"s{i}: __schema {{ queryType {{ name }} }}"
                                     for i in range(20)), id="__schema-aliased-20-times"),
    pytest.param("{ %s }" % " ".join(f't{i}: __type(name: "Product") {{ name }}'
                                     for i in range(20)), id="__type-aliased-20-times"),
    pytest.param("{ ...A ...B } "
                 "fragment A on Query { a1: __schema { queryType { name } } "
                 "a2: __schema { queryType { name } } } "
                 "fragment B on Query { b1: __schema { queryType { name } } "
                 "b2: __schema { queryType { name } } }", id="__schema-through-fragments"),
])
def test_introspection_selected_many_times_is_refused(asgi_server, query):
    status, body = post(asgi_server, query)
    assert status == 200
    assert codes(body) == ["MAX_INTROSPECTION_EXCEEDED"]
    assert body["errors"][0]["extensions"]["limit"] == settings.GRAPHQL_MAX_INTROSPECTION_FIELDS
    assert "data" not in body


def test_introspection_up_to_the_limit_is_answered(asgi_server):
    limit = settings.GRAPHQL_MAX_INTROSPECTION_FIELDS
    query = "{ %s }" % " ".join(f"s{i}: __schema {{ queryType {{ name }} }}" for i in range(limit))
    status, body = post(asgi_server, query)
    assert status == 200
    assert "errors" not in body, body["errors"]
    assert body["data"] == {f"s{i}": {"queryType": {"name": "Query"}} for i in range(limit)}
