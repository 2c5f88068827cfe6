"""Document limits: each refused with its own code before any resolver (and any SQL) runs."""
from __future__ import annotations

import json
import os

import pytest
from django.conf import settings
from django.test import override_settings
from graphql import build_client_schema, get_introspection_query
from graphql.language import Lexer, Source, TokenKind

from tests.conftest import GraphQLClient, error_codes


def nested_parents(levels: int) -> str:
    """A query `levels` fields deep: category, then parents, then a scalar."""
    inner = "name"
    for _ in range(levels - 2):
        inner = "parent { %s }" % inner
    return '{ category(slug: "headphones") { %s } }' % inner


def token_count(query: str) -> int:
    lexer, count = Lexer(Source(query)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def assert_refused(result: dict, code: str) -> None:
    assert error_codes(result) == [code], result
    assert "data" not in result


def refused_without_sql(client, django_assert_num_queries, query, variables=None) -> dict:
    with django_assert_num_queries(0):
        return client.execute(query, variables)


# -- Depth ----------------------------------------------------------------------------------


def test_depth_at_the_limit_runs(gql, catalog):
    result = gql.execute(nested_parents(10))
    assert "errors" not in result, result
    assert result["data"]["category"]["parent"]["parent"] == {"parent": None}


def test_depth_over_the_limit_is_refused(gql, catalog, django_assert_num_queries):
    result = refused_without_sql(gql, django_assert_num_queries, nested_parents(11))
    assert_refused(result, "MAX_DEPTH_EXCEEDED")
    assert result["errors"][0]["extensions"]["limit"] == 10


def test_depth_counts_through_fragments(gql, catalog, django_assert_num_queries):
    query = """{ category(slug: "headphones") { ...A } }
        fragment A on Category { parent { ...B } }
        fragment B on Category { parent { ...C } }
        fragment C on Category { parent { parent { parent { parent { parent { parent {
            parent { name } } } } } } } }"""
    result = refused_without_sql(gql, django_assert_num_queries, query)
    assert_refused(result, "MAX_DEPTH_EXCEEDED")


@override_settings(GRAPHQL_MAX_DEPTH=4)
def test_depth_limit_is_a_setting(gql, catalog, django_assert_num_queries):
    assert "errors" not in gql.execute(nested_parents(4))
    result = refused_without_sql(gql, django_assert_num_queries, nested_parents(5))
    assert_refused(result, "MAX_DEPTH_EXCEEDED")


# -- Aliases and fields per selection set ---------------------------------------------------


def aliases(count: int) -> str:
    return "{ %s }" % " ".join(f"a{index}: __typename" for index in range(count))


def test_aliases_at_the_limit_run(gql, db):
    result = gql.execute(aliases(30))
    assert "errors" not in result
    assert len(result["data"]) == 30


def test_aliases_over_the_limit_are_refused(gql, db, django_assert_num_queries):
    result = refused_without_sql(gql, django_assert_num_queries, aliases(31))
    assert_refused(result, "MAX_ALIASES_EXCEEDED")
    assert result["errors"][0]["extensions"]["count"] == 31


PRODUCT_FIELDS = ["name", "slug", "description", "price", "stock", "isPublished"]


@pytest.mark.parametrize(("count", "refused"), [(5, False), (6, True)])
@override_settings(GRAPHQL_MAX_FIELDS=5)
def test_fields_per_selection_set(gql, catalog, count, refused, django_assert_num_queries):
    query = '{ product(slug: "tube-amplifier") { %s } }' % " ".join(PRODUCT_FIELDS[:count])
    if refused:
        result = refused_without_sql(gql, django_assert_num_queries, query)
        assert_refused(result, "MAX_FIELDS_EXCEEDED")
    else:
        result = gql.execute(query)
        assert "MAX_FIELDS_EXCEEDED" not in error_codes(result)
        assert "data" in result


# -- Document size and tokens ---------------------------------------------------------------

SMALL = "{ categories { name } }"


@pytest.mark.parametrize(("slack", "refused"), [(0, False), (-1, True)])
def test_document_bytes(gql, catalog, slack, refused, django_assert_num_queries):
    query = SMALL + " # é"  # a two-byte character: the limit is in bytes
    with override_settings(GRAPHQL_MAX_DOCUMENT_BYTES=len(query.encode()) + slack):
        if refused:
            result = refused_without_sql(gql, django_assert_num_queries, query)
            assert_refused(result, "DOCUMENT_TOO_LARGE")
        else:
            assert "errors" not in gql.execute(query)


def test_default_document_limit_is_16_kib(gql, db, django_assert_num_queries):
    query = "{ __typename }" + "#" * (16 * 1024)
    result = refused_without_sql(gql, django_assert_num_queries, query)
    assert_refused(result, "DOCUMENT_TOO_LARGE")


@pytest.mark.parametrize(("slack", "refused"), [(0, False), (-1, True)])
def test_tokens(gql, catalog, slack, refused, django_assert_num_queries):
    with override_settings(GRAPHQL_MAX_TOKENS=token_count(SMALL) + slack):
        if refused:
            result = refused_without_sql(gql, django_assert_num_queries, SMALL)
            assert_refused(result, "MAX_TOKENS_EXCEEDED")
        else:
            assert "errors" not in gql.execute(SMALL)


# -- Variables ------------------------------------------------------------------------------

SLUG_QUERY = "query ($slug: String) { category(slug: $slug) { name } }"


@pytest.mark.parametrize(("slack", "refused"), [(0, False), (-1, True)])
def test_variables_size(gql, catalog, slack, refused, django_assert_num_queries):
    variables = {"slug": "audio"}
    size = len(json.dumps(variables, separators=(",", ":")))
    with override_settings(GRAPHQL_MAX_VARIABLES_BYTES=size + slack):
        if refused:
            result = refused_without_sql(gql, django_assert_num_queries, SLUG_QUERY, variables)
            assert_refused(result, "VARIABLES_TOO_LARGE")
        else:
            result = gql.execute(SLUG_QUERY, variables)
            assert result["data"] == {"category": {"name": "Audio"}}


# -- Introspection --------------------------------------------------------------------------

INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.mark.parametrize(
    ("mode", "viewer", "allowed"),
    [
        ("on", "anonymous", True),
        ("staff", "anonymous", False),
        ("staff", "other", False),
        ("staff", "staff", True),
        ("off", "staff", False),
    ],
)
def test_introspection_setting(viewers, mode, viewer, allowed):
    with override_settings(GRAPHQL_INTROSPECTION=mode):
        result = viewers[viewer].execute(INTROSPECTION)
        type_query = viewers[viewer].execute('{ __type(name: "Product") { name } }')
    if allowed:
        assert result["data"] == {"__schema": {"queryType": {"name": "Query"}}}
        assert type_query["data"] == {"__type": {"name": "Product"}}
    else:
        assert_refused(result, "INTROSPECTION_DISABLED")
        assert_refused(type_query, "INTROSPECTION_DISABLED")
        # GraphiQL words its notice after the policy that refused.
        assert result["errors"][0]["extensions"]["policy"] == mode


def test_introspection_is_on_by_default_in_production(gql, db):
    """The suite runs with DEBUG off and no GRAPHQL_INTROSPECTION: the production default."""
    assert not settings.DEBUG and "GRAPHQL_INTROSPECTION" not in os.environ
    assert gql.data(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}
    # __typename is not introspection.
    assert gql.data("{ __typename }") == {"__typename": "Query"}


@override_settings(GRAPHQL_INTROSPECTION="off")
def test_refused_introspection_runs_no_sql(gql, db, django_assert_num_queries):
    refused_without_sql(gql, django_assert_num_queries, INTROSPECTION)


@override_settings(GRAPHQL_INTROSPECTION="staff")
def test_introspection_through_a_fragment_is_caught(gql, db):
    query = "{ ...F } fragment F on Query { __schema { types { name } } }"
    assert_refused(gql.execute(query), "INTROSPECTION_DISABLED")


STANDARD_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)


def test_the_standard_introspection_query_fits_every_limit(gql, db):
    """graphql-core's query with every option (graphql-js's, GraphiQL's, is tested live)."""
    result = gql.execute(STANDARD_INTROSPECTION)
    assert "errors" not in result, result["errors"]
    schema = build_client_schema(result["data"])
    assert {"name", "price", "reviews"} <= set(schema.get_type("Product").fields)


def of_type_chain(levels: int) -> str:
    inner = "name"
    for _ in range(levels):
        inner = "ofType { %s }" % inner
    return "{ __schema { types { fields { args { type { %s } } } } } }" % inner


def test_introspection_deeper_than_the_standard_query_is_refused(gql, db):
    # 4 levels above the chain, the chain, then `name`: 14 below __schema is the bound.
    assert "errors" not in gql.execute(of_type_chain(9))
    result = gql.execute(of_type_chain(10))
    assert_refused(result, "MAX_DEPTH_EXCEEDED")
    assert result["errors"][0]["extensions"]["limit"] == 14


def test_introspection_does_not_lift_the_depth_of_ordinary_fields(gql, catalog):
    query = nested_parents(11).replace("{ category", "{ __schema { queryType { name } } category")
    assert_refused(gql.execute(query), "MAX_DEPTH_EXCEEDED")


@pytest.mark.parametrize("count", [3, 4])
def test_schema_fields_per_operation_are_bounded(gql, db, count):
    fields = " ".join(f"s{index}: __schema {{ queryType {{ name }} }}" for index in range(count))
    result = gql.execute("{ %s }" % fields)
    if count <= 3:
        assert "errors" not in result
    else:
        assert_refused(result, "MAX_INTROSPECTION_EXCEEDED")
        assert result["errors"][0]["extensions"] == {
            "code": "MAX_INTROSPECTION_EXCEEDED", "count": 4, "limit": 3,
        }


def test_schema_fields_are_counted_through_fragments(gql, db):
    query = """{ ...A ... on Query { c: __schema { queryType { name } } } }
    fragment A on Query { a: __schema { queryType { name } } b: __type(name: "Product") { name }
      d: __type(name: "Query") { name } }"""
    assert_refused(gql.execute(query), "MAX_INTROSPECTION_EXCEEDED")


def test_cyclic_introspection_of_fields_is_refused(gql, db):
    """graphql-core's recommended rule: `fields` nested in `fields` at most three times."""
    query = ("{ __type(name: \"Product\") { fields { type { fields { type { fields "
             "{ type { fields { name } } } } } } } } }")
    result = gql.execute(query)
    assert set(error_codes(result)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert {error["message"] for error in result["errors"]} == {
        "Maximum introspection depth exceeded"
    }


# -- The cache ------------------------------------------------------------------------------


def test_a_repeated_document_is_parsed_and_validated_once(gql, catalog, monkeypatch):
    from schema import document_cache

    calls = []
    original = document_cache.validate
    def counting_validate(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(document_cache, "validate", counting_validate)
    query = "{ categories { slug } }"
    first = gql.execute(query)
    second = gql.execute(query)
    assert first["data"] == second["data"]
    assert len(calls) == 1


def test_a_refused_document_is_not_cached(gql, db):
    assert_refused(gql.execute(aliases(31)), "MAX_ALIASES_EXCEEDED")
    assert_refused(gql.execute(aliases(31)), "MAX_ALIASES_EXCEEDED")
    with override_settings(GRAPHQL_MAX_ALIASES=31):
        assert "errors" not in gql.execute(aliases(31))


def test_the_document_cache_is_bounded():
    from schema.document_cache import DocumentCache, DocumentEntry

    cache = DocumentCache(max_size=2)
    for key in ("a", "b", "c"):
        cache.put(None, key, DocumentEntry(document=None, uses_introspection=False))
    assert len(cache) == 2
    assert cache.get(None, "a") is None
    assert cache.get(None, "c") is not None


def test_graphql_client_helper_still_works(db):
    assert GraphQLClient().data("{ __typename }") == {"__typename": "Query"}
