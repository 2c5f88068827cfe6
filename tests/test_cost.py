"""Static query cost and node count: computed before execution, refused above the limits."""
from __future__ import annotations

import pytest
from django.test import override_settings
from graphql import get_operation_ast, parse

from schema.cost import compile_plan
from schema.schema import schema
from tests.conftest import CATALOG_PAGE, error_codes

PRODUCT_NAMES = "{ products(first: 10) { edges { node { name } } } }"
NESTED = """{ products(first: 10) { edges { node {
    reviews(first: 10) { edges { node { id } } } } } } }"""

EXPENSIVE = """{ products(first: 100) { edges { node {
    reviews(first: 100) { edges { node { id } } } } } } }"""


def cost(query: str, variables: dict | None = None, operation_name: str | None = None):
    document = parse(query)
    operation = get_operation_ast(document, operation_name)
    return compile_plan(schema.graphql_schema, document, operation).evaluate(variables)


# -- The rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ __typename }", (0, 0)),
        ('{ product(slug: "x") { name price } }', (1, 0)),
        # A connection costs 2, each of its `first` nodes 1 (edges are free).
        (PRODUCT_NAMES, (12, 10)),
        ("{ products(last: 3) { edges { node { name } } } }", (5, 3)),
        # Neither first nor last: the page size bound (100).
        ("{ products { edges { node { name } } } }", (102, 100)),
        ("{ products(first: 10) { totalCount pageInfo { hasNextPage } } }", (2, 0)),
        ("{ products(first: 10) { edges { cursor } } }", (2, 10)),
        # Objects under each node multiply; nodes multiply like GitHub's.
        (NESTED, (2 + 10 * (1 + 2 + 10), 10 + 10 * 10)),
        # A list with `first` (default 5), and one without (GRAPHQL_COST_DEFAULT_LIST_SIZE).
        ('{ product(slug: "x") { relatedProducts { name } } }', (6, 5)),
        ('{ product(slug: "x") { relatedProducts(first: 2) { name } } }', (3, 2)),
        ('{ product(slug: "x") { images { url } } }', (6, 5)),
        ("{ popularProducts { name category { name } } }", (20, 10)),
    ],
)
def test_cost_and_nodes_follow_the_documented_rules(query, expected):
    assert cost(query) == expected


def test_the_catalog_page_fits_under_the_default_limit():
    requested, nodes = cost(CATALOG_PAGE, {"first": 50})
    assert requested == 2 + 50 * (1 + 1 + 5 + 2 + 5 * 2) == 952
    assert nodes == 50 + 50 * (5 + 5)


def test_variables_and_their_defaults_set_page_sizes():
    query = "query ($n: Int = 7) { products(first: $n) { edges { node { name } } } }"
    assert cost(query) == (9, 7)
    assert cost(query, {"n": 3}) == (5, 3)
    assert cost(query, {"n": None}) == (102, 100)


def test_fragments_and_inline_fragments_count_like_fields():
    spread = """{ products(first: 4) { edges { node { ...P } } } }
        fragment P on Product { name category { name } }"""
    inline = """{ products(first: 4) { edges { node {
        ... on Product { name category { name } } } } } }"""
    assert cost(spread) == cost(inline) == (2 + 4 * 2, 4)


def test_a_fragment_spread_twice_in_one_selection_counts_once():
    query = """{ product(slug: "x") { ...P ...P } } fragment P on Product { category { name } }"""
    assert cost(query) == (2, 0)


@pytest.mark.parametrize(
    ("directive", "variables", "expected"),
    [
        ("@skip(if: true)", {}, 0),
        ("@skip(if: false)", {}, 12),
        ("@include(if: false)", {}, 0),
        ("@include(if: $on)", {"on": True}, 12),
        ("@include(if: $on)", {"on": False}, 0),
        ("@skip(if: $on)", {"on": True}, 0),
    ],
)
def test_skip_and_include_are_honoured(directive, variables, expected):
    query = (
        "query ($on: Boolean = true) { products(first: 10) %s { edges { node { name } } } }"
        % directive
    )
    assert cost(query, variables)[0] == expected


def test_a_plan_without_variables_remembers_its_cost():
    document = parse(PRODUCT_NAMES)
    plan = compile_plan(schema.graphql_schema, document, get_operation_ast(document))
    assert not plan.uses_variables
    assert plan.evaluate(None) == plan.evaluate({"ignored": 1}) == (12, 10)


# -- Over HTTP ------------------------------------------------------------------------------


def test_every_response_reports_requested_and_actual_cost(gql, catalog):
    result = gql.execute(PRODUCT_NAMES)
    assert len(result["data"]["products"]["edges"]) == 4
    cost_extension = result["extensions"]["cost"]
    assert cost_extension["requestedQueryCost"] == 12
    # The actual cost counts the 4 visible products really returned.
    assert cost_extension["actualQueryCost"] == 2 + 4
    # An anonymous client draws from its address's bucket.
    status = cost_extension["throttleStatus"]
    assert status["maximumAvailable"] == 20_000
    assert status["restoreRate"] == 1_000
    assert 20_000 - 12 + 6 <= status["currentlyAvailable"] <= 20_000


def test_actual_cost_counts_null_objects_as_nothing(gql, catalog):
    result = gql.execute('{ product(slug: "no-such-product") { name category { name } } }')
    assert result["extensions"]["cost"]["requestedQueryCost"] == 2
    assert result["extensions"]["cost"]["actualQueryCost"] == 1  # the minimum


def test_a_query_over_the_cost_limit_is_refused_before_execution(
    gql, catalog, django_assert_num_queries
):
    with django_assert_num_queries(0):
        result = gql.execute(EXPENSIVE)
    assert error_codes(result) == ["MAX_COST_EXCEEDED"]
    assert "data" not in result
    extensions = result["errors"][0]["extensions"]
    assert extensions["cost"] == 2 + 100 * (1 + 2 + 100)
    assert extensions["maximumCost"] == 5000
    assert result["extensions"]["cost"]["requestedQueryCost"] == extensions["cost"]


@pytest.mark.parametrize(("limit", "refused"), [(12, False), (11, True)])
def test_cost_limit_just_under_passes_and_just_over_is_refused(gql, catalog, limit, refused):
    with override_settings(GRAPHQL_MAX_COST=limit):
        result = gql.execute(PRODUCT_NAMES)
    if refused:
        assert error_codes(result) == ["MAX_COST_EXCEEDED"]
    else:
        assert "errors" not in result, result


@pytest.mark.parametrize(("limit", "refused"), [(110, False), (109, True)])
def test_node_limit_just_under_passes_and_just_over_is_refused(
    gql, catalog, limit, refused, django_assert_num_queries
):
    with override_settings(GRAPHQL_MAX_NODES=limit):
        if refused:
            with django_assert_num_queries(0):
                result = gql.execute(NESTED)
            assert error_codes(result) == ["MAX_NODES_EXCEEDED"]
            assert result["errors"][0]["extensions"]["nodes"] == 110
        else:
            result = gql.execute(NESTED)
            assert "errors" not in result, result


def test_cost_from_variables_is_checked_per_request(gql, catalog):
    query = "query ($n: Int!) { products(first: $n) { edges { node { name } } } }"
    with override_settings(GRAPHQL_MAX_COST=12):
        assert "errors" not in gql.execute(query, {"n": 10})
        # Same document (cached), other variables: another cost.
        assert error_codes(gql.execute(query, {"n": 11})) == ["MAX_COST_EXCEEDED"]


# -- The request log ------------------------------------------------------------------------


def test_each_request_is_logged_with_cost_and_client_but_no_variables(gql, catalog, caplog):
    query = "query Names($n: Int!) { products(first: $n) { edges { node { name } } } }"
    with caplog.at_level("INFO", logger="vitrine.requests"):
        gql.execute(query, {"n": 10, "secret": "hunter2"})
        gql.execute(EXPENSIVE)
    ok, refused = [r for r in caplog.records if r.name == "vitrine.requests"]
    assert ok.graphql["operation"] == "Names"
    assert ok.graphql["type"] == "query"
    assert ok.graphql["requested_cost"] == 12 and ok.graphql["actual_cost"] == 6
    assert ok.graphql["client"] == "ip:127.0.0.1"
    assert ok.graphql["duration_ms"] > 0
    assert "hunter2" not in ok.getMessage() and "hunter2" not in str(ok.graphql)
    assert refused.graphql["codes"] == ["MAX_COST_EXCEEDED"]
