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


# -- stable under inserts and deletes (keyset cursors) ------------------------------------------

ORDERINGS = [None, "name", "-name", "price", "-price", "createdAt", "-createdAt",
             "popularityScore", "-popularityScore"]
WALK = """query ($first: Int, $last: Int, $after: String, $before: String, $orderBy: String,
                $sortBy: [ProductOrder!]) {
  products(first: $first, last: $last, after: $after, before: $before, orderBy: $orderBy,
           sortBy: $sortBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } } } }"""


def add_extremes(category) -> set[str]:
    """One product that sorts first and one that sorts last under every ordering but
    createdAt (both are newest), so that one of them lands among the pages already read."""
    low = Product.objects.create(name="Aardvark Lamp", slug="aardvark", price=Decimal("0.01"),
                                 popularity_score=-1, is_published=True, category=category)
    high = Product.objects.create(name="Zebra Lamp", slug="zebra", price=Decimal("999"),
                                  popularity_score=999, is_published=True, category=category)
    return {low.name, high.name}


def walk(client, order_by, *, backward: bool, between_pages, sort_by=None) -> list[str]:
    """Every name met paging in one direction, five at a time, calling `between_pages` with
    each page read (except the last)."""
    size, cursor, seen = ("last", "before") if backward else ("first", "after"), None, []
    while True:
        page = client.data(WALK, {size[0]: 5, size[1]: cursor, "orderBy": order_by,
                                  "sortBy": sort_by})["products"]
        assert page["totalCount"] == Product.objects.filter(is_published=True).count()
        seen = names(page) + seen if backward else seen + names(page)
        more = page["pageInfo"]["hasPreviousPage" if backward else "hasNextPage"]
        if not more:
            return seen
        between_pages(page)
        cursor = page["pageInfo"]["startCursor" if backward else "endCursor"]


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("order_by", ORDERINGS)
def test_pages_neither_repeat_nor_skip_when_rows_change_in_between(
    client, shelf, order_by, backward
):
    everything = names(client.data(WALK, {"first": 100, "orderBy": order_by})["products"])
    deleted_unread: list[str] = []
    added: set[str] = set()

    def change(page):
        if added:
            return
        added.update(add_extremes(shelf[0].category))
        read = names(page)
        # The cursor's own row goes, and so does one not read yet.
        boundary = read[0] if backward else read[-1]
        unread = everything[everything.index(read[0]) - 1 if backward else
                            everything.index(read[-1]) + 1]
        Product.objects.filter(name__in=[boundary, unread]).delete()
        deleted_unread.append(unread)

    seen = walk(client, order_by, backward=backward, between_pages=change)
    assert len(seen) == len(set(seen)), f"repeated: {seen}"
    expected = [name for name in everything if name not in deleted_unread]
    assert [name for name in seen if name not in added] == expected
    # Rows sorting among the pages already read are not met, those sorting ahead are: by
    # date both new rows are newest; otherwise one sorts first and one last.
    if order_by in (None, "createdAt", "-createdAt"):
        newest_ahead = (order_by == "createdAt") != backward
        assert set(seen) & added == (added if newest_ahead else set())
    else:
        assert len(set(seen) & added) == 1


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
def test_typed_sort_keys_page_stably_too(client, shelf, backward):
    """Two keys (price descending, then name), with ties on the first."""
    sort_by = [{"field": "PRICE", "direction": "DESC"}, {"field": "NAME"}]
    Product.objects.filter(name__in=["Item 03", "Item 04", "Item 05"]).update(price=50)
    everything = names(client.data(WALK, {"first": 100, "sortBy": sort_by})["products"])
    added = set()

    def change(page):
        if not added:
            added.update(add_extremes(shelf[0].category))
            Product.objects.filter(name=names(page)[0 if backward else -1]).delete()

    seen = walk(client, None, backward=backward, between_pages=change, sort_by=sort_by)
    assert len(seen) == len(set(seen))
    assert [name for name in seen if name not in added] == everything
    assert len(set(seen) & added) == 1


def test_category_products_and_my_orders_page_by_keyset(client, users, shelf):
    from orders.models import Order

    orders = [Order.objects.create(user=users["other"]) for _ in range(6)]
    ids = [to_global_id("Order", order.pk) for order in orders]
    query = """query ($after: String) { myOrders(first: 3, after: $after) {
      pageInfo { endCursor } edges { node { id } } } }"""
    first = client.data(query)["myOrders"]
    assert [edge["node"]["id"] for edge in first["edges"]] == ids[:2:-1]  # newest first
    Order.objects.create(user=users["other"])  # newest: sorts before the first page
    orders[3].delete()  # the row of the cursor
    second = client.data(query, {"after": first["pageInfo"]["endCursor"]})["myOrders"]
    assert [edge["node"]["id"] for edge in second["edges"]] == ids[2::-1]

    shelf_query = """query ($after: String) { category(slug: "shelf") {
      products(first: 4, after: $after, orderBy: "price") { pageInfo { endCursor }
        edges { node { name } } } } }"""
    page = client.data(shelf_query)["category"]["products"]
    shelf[0].delete()
    after = page["pageInfo"]["endCursor"]
    assert names(client.data(shelf_query, {"after": after})["category"]["products"]) == [
        "Item 04", "Item 05", "Item 06", "Item 07",
    ]


REVIEWS = """query ($first: Int, $last: Int, $after: String, $before: String) {
  product(slug: "item-00") { reviews(first: $first, last: $last, after: $after,
    before: $before) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { title } } } } }"""


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
def test_nested_review_pages_are_stable_too(client, shelf, backward):
    from django.contrib.auth import get_user_model

    from products.models import Review

    authors = [get_user_model().objects.create_user(f"reader{n}") for n in range(13)]
    for n, author in enumerate(authors[:12]):
        Review.objects.create(product=shelf[0], author=author, rating=4, title=f"Review {n:02d}")
    size, cursor_arg = ("last", "before") if backward else ("first", "after")
    page = client.data(REVIEWS, {size: 5})["product"]["reviews"]
    read = [edge["node"]["title"] for edge in page["edges"]]
    Review.objects.create(product=shelf[0], author=authors[12], rating=1, title="Newest")
    Review.objects.filter(title=read[0] if backward else read[-1]).delete()
    seen = read
    while page["pageInfo"]["hasPreviousPage" if backward else "hasNextPage"]:
        cursor = page["pageInfo"]["startCursor" if backward else "endCursor"]
        page = client.data(REVIEWS, {size: 5, cursor_arg: cursor})["product"]["reviews"]
        titles = [edge["node"]["title"] for edge in page["edges"]]
        seen = titles + seen if backward else seen + titles
        assert page["totalCount"] == 12
    newest_first = [f"Review {n:02d}" for n in reversed(range(12))]
    assert seen == (["Newest"] if backward else []) + newest_first


# -- cursors cannot be forged -----------------------------------------------------------


def test_a_tampered_cursor_is_bad_user_input(client):
    cursor = client.data(PRODUCTS, {"first": 2})["products"]["pageInfo"]["endCursor"]
    payload, signature = cursor.rsplit(":", 1)
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + ":" + signature
    assert_bad_input(client.execute(PRODUCTS, {"first": 2, "after": tampered}), "after")
    assert_bad_input(client.execute(PRODUCTS, {"first": 2, "after": payload}), "after")


def test_a_forged_cursor_does_not_reveal_a_draft(client, shelf):
    import base64
    import json

    draft = Product.objects.create(name="Item 05b", slug="draft", price=1, is_published=False,
                                   category=shelf[0].category)
    payload = json.dumps(["products.product:name,pk", draft.name, draft.pk])
    forged = base64.urlsafe_b64encode(payload.encode())
    result = client.execute(PRODUCTS, {"first": 2, "after": forged.decode() + ":forged"})
    assert_bad_input(result, "after")
    assert "Item 05b" not in json.dumps(result)


def test_a_cursor_of_another_ordering_or_list_is_refused(client, shelf):
    by_name = client.data(PRODUCTS, {"first": 2})["products"]["pageInfo"]["endCursor"]
    result = client.execute(WALK, {"first": 2, "after": by_name, "orderBy": "-price"})
    assert_bad_input(result, "after")
    assert "another ordering" in result["errors"][0]["message"]
    assert_bad_input(client.execute(REVIEWS, {"first": 2, "after": by_name}), "after")
    # Products and reviews are both newest first by default: the rows' model tells them apart.
    newest = client.data("{ products(first: 1) { pageInfo { endCursor } } }")["products"]
    result = client.execute(REVIEWS, {"first": 2, "after": newest["pageInfo"]["endCursor"]})
    assert_bad_input(result, "after")


def test_offset_cannot_page_backward(client):
    query = "{ products(offset: 2, last: 2) { edges { node { name } } } }"
    assert_bad_input(client.execute(query), "offset")
