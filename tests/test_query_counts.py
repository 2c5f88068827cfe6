"""SQL per request is constant: loaders batch every relation and aggregate per level."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from graphql_relay import to_global_id

from products.models import Category, Favorite, Product
from tests.conftest import GraphQLClient, count_queries

CATALOG_PAGE = """
query Page($first: Int!) {
  products(first: $first) { edges { node {
    name slug price isAvailable avgRating reviewCount
    category { name slug }
    images { url altText }
    reviews(first: 5) { totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { rating title author { username } } } }
  } } }
}
"""


@pytest.fixture(autouse=True)
def _no_cost_limit(settings):
    """A 100-product catalog page costs 1,902 points, over the default limit of 1,000 (see
    tests/test_cost.py): this module measures SQL, so it lifts the limit and the throttle."""
    settings.GRAPHQL_MAX_COST = 10_000
    settings.GRAPHQL_THROTTLE_ENABLED = False



@pytest.fixture
def seeded(db):
    call_command("seed_catalog", seed=3, products=150, users=12, quiet=True)


def test_catalog_page_costs_the_same_four_queries_at_10_and_100_products(seeded):
    client = GraphQLClient()
    small, small_data = count_queries(client, CATALOG_PAGE, {"first": 10})
    large, large_data = count_queries(GraphQLClient(), CATALOG_PAGE, {"first": 100})
    assert len(small_data["products"]["edges"]) == 10
    assert len(large_data["products"]["edges"]) == 100
    # page (categories joined), images, review stats, reviews window (authors joined)
    assert small == large == 4


def field_selections(type_name: str) -> dict[str, str]:
    """Each field of the type, as a selection of its own (objects by `id`)."""
    from graphql import get_named_type, is_leaf_type

    from schema.schema import schema

    selections = {}
    for name, field in schema.graphql_schema.get_type(type_name).fields.items():
        if is_leaf_type(get_named_type(field.type)):
            selections[name] = name
        elif name == "reviews":
            selections[name] = "reviews(first: 2) { edges { node { id } } }"
        elif not field.args:
            selections[name] = f"{name} {{ id }}"
    return selections


def test_lean_rows_hold_every_column_a_product_page_reads(seeded):
    """Rows carry only the columns the selection reads: each field of Product, and of the
    reviews of a page, selected alone, loads nothing row by row (a missing column would
    cost a query per row, so 20 rows would cost more than 2)."""
    staff = get_user_model().objects.get(username="staff")  # the seed's
    reviewed = Product.objects.annotate(count=Count("reviews")).order_by("-count", "pk")[0]
    assert reviewed.count > 2
    pages = {
        f"Product.{name}": "{ products(first: $first) { edges { node { %s } } } }" % selection
        for name, selection in field_selections("Product").items()
    } | {
        f"Review.{name}": '{ product(slug: "%s") { reviews(first: $first) { edges { node { %s }'
        " } } } }" % (reviewed.slug, selection)
        for name, selection in field_selections("Review").items()
    }
    # To-one relations joined into the page: the category's and the creator's fields.
    for type_name, relation in (("Category", "category"), ("User", "createdBy")):
        for name, selection in field_selections(type_name).items():
            pages[f"Product.{relation}.{name}"] = (
                "{ products(first: $first) { edges { node { %s { %s } } } } }"
                % (relation, selection)
            )
    # Cursors are signed from the ordering's columns, fetched only when a cursor is selected.
    pages["ProductEdge.cursor"] = ("{ products(first: $first, orderBy: \"-price\") { edges "
                                   "{ cursor } pageInfo { endCursor } } }")
    pages["ReviewEdge.cursor"] = ('{ product(slug: "%s") { reviews(first: $first) '
                                  "{ pageInfo { startCursor } edges { cursor } } } }"
                                  % reviewed.slug)
    for field, page in pages.items():
        query = "query ($first: Int!) " + page
        small, _ = count_queries(GraphQLClient(staff), query, {"first": 2})
        large, _ = count_queries(GraphQLClient(staff), query, {"first": 20})
        assert small == large, field


def test_nested_review_pages_are_per_product(seeded):
    data = GraphQLClient().data(CATALOG_PAGE, {"first": 100})
    for edge in data["products"]["edges"]:
        reviews = edge["node"]["reviews"]
        assert reviews["totalCount"] == edge["node"]["reviewCount"]
        assert len(reviews["edges"]) == min(5, reviews["totalCount"])
        assert reviews["pageInfo"]["hasNextPage"] == (reviews["totalCount"] > 5)


def test_category_tree_costs_one_query_per_level(seeded):
    query = "{ categories { name parent { name } children { name ancestors { name }"
    query += " children { name ancestors { name } } } } }"
    queries, data = count_queries(GraphQLClient(), query)
    assert data["categories"]
    # roots, children, grandchildren; every parent/ancestor comes from the loaders' cache.
    assert queries == 3


def test_nested_node_lookups_batch_per_level(catalog):
    ids = [to_global_id("Product", product.pk) for product in Product.objects.filter(
        is_published=True)]
    fields = " ".join(
        f'p{n}: node(id: "{global_id}") {{ ... on Product {{ name category {{ name }} }} }}'
        for n, global_id in enumerate(ids)
    )
    queries, data = count_queries(GraphQLClient(), "{ %s }" % fields)
    assert all(data[f"p{n}"]["name"] for n in range(len(ids)))
    assert queries == 2  # the products, then their categories


def test_sibling_fields_loading_the_same_key_share_one_query(catalog):
    product_id = to_global_id("Product", catalog["products"]["cans"].pk)
    query = """query ($id: ID!) {
      a: product(id: $id) { avgRating category { name } }
      b: product(id: $id) { reviewCount category { slug } }
    }"""
    queries, data = count_queries(GraphQLClient(), query, {"id": product_id})
    assert data["a"]["avgRating"] == 4.5 and data["b"]["reviewCount"] == 2
    assert queries == 3  # product, review stats, category: each loaded once


def test_favorites_are_loaded_per_viewer_and_never_leak(catalog, users):
    cans = catalog["products"]["cans"]
    Favorite.objects.create(user=users["other"], product=cans)
    query = '{ product(slug: "%s") { isFavorited } }' % cans.slug
    assert GraphQLClient(users["other"]).data(query)["product"]["isFavorited"] is True
    assert GraphQLClient(users["creator"]).data(query)["product"]["isFavorited"] is False
    assert GraphQLClient().data(query)["product"]["isFavorited"] is False


def test_loader_cache_lives_for_one_request(catalog, users):
    """A change between two requests on the same client is seen by the second."""
    client = GraphQLClient(users["creator"])
    query = '{ node(id: "%s") { ... on Product { name } } }' % to_global_id(
        "Product", catalog["products"]["draft"].pk)
    assert client.data(query)["node"]["name"] == "Secret Prototype"
    Product.objects.filter(pk=catalog["products"]["draft"].pk).update(name="Renamed")
    assert client.data(query)["node"]["name"] == "Renamed"


def test_drafts_loaded_for_their_creator_do_not_reach_another_viewer(catalog, users):
    draft_id = to_global_id("Product", catalog["products"]["draft"].pk)
    query = '{ node(id: "%s") { ... on Product { name } } }' % draft_id
    assert GraphQLClient(users["creator"]).data(query)["node"]["name"] == "Secret Prototype"
    result = GraphQLClient(users["other"]).execute(query)
    assert result["data"]["node"] is None
    assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_category_descendants_filter_is_one_query_per_tree_level(catalog):
    electronics = catalog["categories"]["electronics"]
    with CaptureQueriesContext(connection) as captured:
        ids = Category.objects.descendant_ids(electronics.pk)
    assert ids == {c.pk for c in catalog["categories"].values() if c.slug != "books"}
    assert len(captured) == 3
