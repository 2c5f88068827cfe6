"""Page sizes are bounded to 1..100, cursors are checked, and pages tile the list exactly."""
from __future__ import annotations

from decimal import Decimal

import pytest
from graphql_relay import offset_to_cursor, to_global_id

from products.models import Category, Product
from tests.conftest import GraphQLClient, error_codes

PRODUCTS = """query ($first: Int, $last: Int, $after: String, $before: String) {
  products(first: $first, last: $last, after: $after, before: $before, orderBy: "name") {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } } } }"""

CONNECTIONS = {
    "products": PRODUCTS,
    "category.products": """query ($first: Int, $last: Int, $after: String) {
      category(slug: "shelf") { products(first: $first, last: $last, after: $after) {
        edges { node { name } } } } }""",
    "product.reviews": """query ($first: Int, $last: Int, $after: String) {
      product(slug: "item-00") { reviews(first: $first, last: $last, after: $after) {
        edges { node { title } } } } }""",
    "myOrders": """query ($first: Int, $last: Int, $after: String) {
      myOrders(first: $first, last: $last, after: $after) { edges { node { id } } } }""",
}


@pytest.fixture
def shelf(db):
    """Twelve published products "Item 00" .. "Item 11" in one category."""
    category = Category.objects.create(name="Shelf", slug="shelf")
    return [
        Product.objects.create(name=f"Item {n:02d}", slug=f"item-{n:02d}", price=Decimal(n + 1),
                               is_published=True, stock=n % 3, category=category)
        for n in range(12)
    ]


@pytest.fixture
def client(users, shelf) -> GraphQLClient:
    return GraphQLClient(users["other"])


def names(connection: dict) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


def assert_bad_input(result: dict, field: str) -> None:
    assert error_codes(result) == ["BAD_USER_INPUT"], result
    assert result["errors"][0]["extensions"]["field"] == field
    assert "Internal" not in result["errors"][0]["message"]


# -- bounds -------------------------------------------------------------------


@pytest.mark.parametrize("connection", CONNECTIONS)
@pytest.mark.parametrize("argument", ["first", "last"])
@pytest.mark.parametrize("size", [0, 101, -1])
def test_page_size_outside_1_to_100_is_bad_user_input(client, connection, argument, size):
    result = client.execute(CONNECTIONS[connection], {argument: size})
    assert_bad_input(result, argument)


@pytest.mark.parametrize("connection", CONNECTIONS)
@pytest.mark.parametrize("argument", ["first", "last"])
@pytest.mark.parametrize("size", [1, 100])
def test_page_sizes_1_and_100_are_accepted(client, connection, argument, size):
    client.data(CONNECTIONS[connection], {argument: size})


def test_first_1_returns_exactly_one_item(client):
    assert names(client.data(PRODUCTS, {"first": 1})["products"]) == ["Item 00"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("{ popularProducts(first: 0) { name } }", "first"),
        ("{ popularProducts(first: 101) { name } }", "first"),
        ('{ product(slug: "item-00") { relatedProducts(first: 0) { name } } }', "first"),
        ('{ product(slug: "item-00") { reviews(first: 101) { totalCount } } }', "first"),
        ('{ product(slug: "item-00") { reviews(last: 0) { totalCount } } }', "last"),
    ],
)
def test_list_fields_refuse_out_of_range_sizes(client, query, field):
    assert_bad_input(client.execute(query), field)


# -- cursors ------------------------------------------------------------------

INVALID_CURSORS = ["not-a-cursor", "", to_global_id("Product", 1), offset_to_cursor(-5)]


@pytest.mark.parametrize("connection", CONNECTIONS)
@pytest.mark.parametrize("cursor", INVALID_CURSORS)
def test_invalid_after_cursor_is_bad_user_input(client, connection, cursor):
    result = client.execute(CONNECTIONS[connection], {"first": 2, "after": cursor})
    assert_bad_input(result, "after")


@pytest.mark.parametrize("cursor", INVALID_CURSORS)
def test_invalid_before_cursor_is_bad_user_input(client, cursor):
    assert_bad_input(client.execute(PRODUCTS, {"last": 2, "before": cursor}), "before")


# -- walking the pages ----------------------------------------------------------


def test_paging_forward_with_after_visits_every_item_once(client):
    seen, after, pages = [], None, 0
    while True:
        page = client.data(PRODUCTS, {"first": 5, "after": after})["products"]
        pages += 1
        seen += names(page)
        assert page["totalCount"] == 12
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [f"Item {n:02d}" for n in range(12)]


def test_after_the_last_item_gives_an_empty_page(client):
    last = client.data(PRODUCTS, {"first": 12})["products"]["pageInfo"]["endCursor"]
    page = client.data(PRODUCTS, {"first": 5, "after": last})["products"]
    assert page["edges"] == []
    assert page["pageInfo"]["hasNextPage"] is False


def test_last_returns_the_final_items(client):
    page = client.data(PRODUCTS, {"last": 3})["products"]
    assert names(page) == ["Item 09", "Item 10", "Item 11"]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert page["totalCount"] == 12


def test_last_with_before_pages_backwards(client):
    first = client.data(PRODUCTS, {"first": 6})["products"]
    before = first["edges"][4]["cursor"]  # "Item 04"
    page = client.data(PRODUCTS, {"last": 3, "before": before})["products"]
    assert names(page) == ["Item 01", "Item 02", "Item 03"]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert page["edges"][0]["cursor"] == first["edges"][1]["cursor"]


def test_paging_backwards_with_before_visits_every_item_once(client):
    seen, before = [], None
    while True:
        page = client.data(PRODUCTS, {"last": 5, "before": before})["products"]
        seen = names(page) + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == [f"Item {n:02d}" for n in range(12)]


def test_total_count_counts_filtered_items_over_all_pages(client):
    query = """{ products(first: 2, inStock: true, priceLte: "9", orderBy: "name") {
      totalCount edges { node { name } } } }"""
    products = client.data(query)["products"]
    # Items 00..08 cost 1..9; those with n % 3 == 0 have no stock: 01 02 04 05 07 08 remain.
    assert products["totalCount"] == 6
    assert names(products) == ["Item 01", "Item 02"]


OFFSET = """query ($offset: Int) {
  products(offset: $offset, first: 2, orderBy: "name") { edges { node { name } } } }"""


def test_offset_skips_that_many_items(client):
    assert names(client.data(OFFSET, {"offset": 3})["products"]) == ["Item 03", "Item 04"]


def test_negative_offset_is_bad_user_input(client):
    assert_bad_input(client.execute(OFFSET, {"offset": -1}), "offset")
