"""Every read entry point of the schema answers with the data the catalog holds."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from orders.models import Order, OrderItem
from products.models import Favorite, Product, Review
from tests.conftest import GraphQLClient, error_codes
from tests.helpers import gid

NODE = """
query ($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Product { name }
    ... on Category { name }
    ... on Review { title }
    ... on User { username }
    ... on ProductImage { altText }
    ... on Order { status }
  }
}
"""


def names(connection: dict) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


# -- node(id:) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "lookup", "field", "expected"),
    [
        ("Product", lambda c, u: c["products"]["cans"], "name", "Studio Headphones"),
        ("Category", lambda c, u: c["categories"]["audio"], "name", "Audio"),
        ("Review", lambda c, u: c["products"]["cans"].reviews.get(title="Good"), "title", "Good"),
        ("User", lambda c, u: u["other"], "username", "other"),
        ("ProductImage", lambda c, u: c["products"]["cans"].images.get(), "altText", "Cans"),
    ],
)
def test_node_fetches_each_public_type_by_global_id(gql, catalog, users, kind, lookup, field,
                                                    expected):
    obj = lookup(catalog, users)
    node = gql.data(NODE, {"id": gid(obj)})["node"]
    assert node == {"__typename": kind, "id": gid(obj), field: expected}


@pytest.fixture
def order(users, catalog):
    order = Order.objects.create(user=users["other"], status=Order.Status.PAID)
    OrderItem.objects.create(order=order, product=catalog["products"]["cans"], quantity=2,
                             unit_price=Decimal("199.00"))
    return order


def test_node_returns_an_order_to_its_owner(users, order):
    node = GraphQLClient(users["other"]).data(NODE, {"id": gid(order)})["node"]
    assert node == {"__typename": "Order", "id": gid(order), "status": "PAID"}


def test_order_items_show_quantity_price_and_product(users, order):
    query = """query ($id: ID!) { node(id: $id) {
      ... on Order { items { quantity unitPrice product { name } } } } }"""
    node = GraphQLClient(users["other"]).data(query, {"id": gid(order)})["node"]
    assert node == {
        "items": [{"quantity": 2, "unitPrice": "199.00", "product": {"name": "Studio Headphones"}}]
    }


@pytest.mark.parametrize("viewer", ["anonymous", "creator"])
def test_node_hides_an_order_from_everyone_but_its_owner(viewers, order, viewer):
    result = viewers[viewer].execute(NODE, {"id": gid(order)})
    assert result["data"] == {"node": None}
    assert error_codes(result) == ["NOT_FOUND"]


# -- product / category lookups ---------------------------------------------------

PRODUCT = "query ($id: ID, $slug: String) { product(id: $id, slug: $slug) { id name slug } }"
CATEGORY = "query ($id: ID, $slug: String) { category(id: $id, slug: $slug) { id name slug } }"


def test_product_by_id_and_by_slug_return_the_same_product(gql, catalog):
    amp = catalog["products"]["amp"]
    expected = {"id": gid(amp), "name": "Tube Amplifier", "slug": amp.slug}
    assert gql.data(PRODUCT, {"id": gid(amp)})["product"] == expected
    assert gql.data(PRODUCT, {"slug": amp.slug})["product"] == expected


def test_category_by_id_and_by_slug_return_the_same_category(gql, catalog):
    audio = catalog["categories"]["audio"]
    expected = {"id": gid(audio), "name": "Audio", "slug": "audio"}
    assert gql.data(CATEGORY, {"id": gid(audio)})["category"] == expected
    assert gql.data(CATEGORY, {"slug": "audio"})["category"] == expected


# -- the category tree ----------------------------------------------------------


def test_categories_lists_the_roots_with_their_children(gql, catalog):
    roots = gql.data("{ categories { name parent { name } children { name } } }")["categories"]
    assert roots == [
        {"name": "Books", "parent": None, "children": []},
        {"name": "Electronics", "parent": None, "children": [{"name": "Audio"}]},
    ]


def test_category_parent_and_ancestors_run_from_the_root_down(gql, catalog):
    query = '{ category(slug: "headphones") { parent { name } ancestors { name } } }'
    category = gql.data(query)["category"]
    assert category["parent"] == {"name": "Audio"}
    assert category["ancestors"] == [{"name": "Electronics"}, {"name": "Audio"}]


def test_root_category_has_no_ancestors(gql, catalog):
    query = '{ category(slug: "electronics") { parent { name } ancestors { name } } }'
    assert gql.data(query)["category"] == {"parent": None, "ancestors": []}


def test_category_products_include_products_of_descendant_categories(gql, catalog):
    query = """{ category(slug: "electronics") {
      products(orderBy: "name") { totalCount edges { node { name } } } } }"""
    products = gql.data(query)["category"]["products"]
    assert products["totalCount"] == 3
    assert names(products) == ["Studio Headphones", "Tube Amplifier", "Wireless Earbuds"]


# -- the products connection ----------------------------------------------------


def test_products_connection_reports_total_count_page_info_and_cursors(gql, catalog):
    query = """{ products(first: 2, orderBy: "name") {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { name } } } }"""
    products = gql.data(query)["products"]
    assert products["totalCount"] == 4
    assert names(products) == ["Mystery Novel", "Studio Headphones"]
    cursors = [edge["cursor"] for edge in products["edges"]]
    assert len(set(cursors)) == 2
    assert products["pageInfo"] == {
        "hasNextPage": True, "hasPreviousPage": False,
        "startCursor": cursors[0], "endCursor": cursors[1],
    }


# -- product fields -----------------------------------------------------------

PRODUCT_FIELDS = """query ($id: ID!) { product(id: $id) {
  isAvailable avgRating reviewCount isFavorited images { url altText isPrimary } } }"""


def test_product_fields_summarise_stock_reviews_and_images(gql, catalog):
    cans = catalog["products"]["cans"]
    product = gql.data(PRODUCT_FIELDS, {"id": gid(cans)})["product"]
    assert product["isAvailable"] is True
    assert product["avgRating"] == pytest.approx(4.5)
    assert product["reviewCount"] == 2
    assert product["isFavorited"] is False
    assert len(product["images"]) == 1
    image = product["images"][0]
    assert image["url"].endswith("p/cans.jpg")
    assert (image["altText"], image["isPrimary"]) == ("Cans", True)


def test_product_without_stock_or_reviews_is_unavailable_and_unrated(gql, catalog):
    buds = catalog["products"]["buds"]
    product = gql.data(PRODUCT_FIELDS, {"id": gid(buds)})["product"]
    assert product["isAvailable"] is False
    assert product["avgRating"] is None
    assert product["reviewCount"] == 0
    assert product["images"] == []


def test_is_favorited_is_true_only_for_the_viewer_who_favorited(users, catalog):
    cans = catalog["products"]["cans"]
    Favorite.objects.create(user=users["other"], product=cans)
    fan = GraphQLClient(users["other"]).data(PRODUCT_FIELDS, {"id": gid(cans)})
    stranger = GraphQLClient(users["staff"]).data(PRODUCT_FIELDS, {"id": gid(cans)})
    assert fan["product"]["isFavorited"] is True
    assert stranger["product"]["isFavorited"] is False


# -- reviews ------------------------------------------------------------------

REVIEWS = """query ($id: ID!, $first: Int, $after: String) { product(id: $id) {
  reviews(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { title } } } } }"""


@pytest.fixture
def many_reviews(catalog):
    """Seven reviews of the amplifier, created in the order "r1" .. "r7"."""
    amp = catalog["products"]["amp"]
    User = get_user_model()
    for number in range(1, 8):
        author = User.objects.create_user(f"reviewer{number}", f"r{number}@example.com", "pw")
        Review.objects.create(product=amp, author=author, rating=3, title=f"r{number}")
    return amp


def titles(reviews: dict) -> list[str]:
    return [edge["node"]["title"] for edge in reviews["edges"]]


def test_reviews_are_listed_newest_first(gql, catalog):
    cans = catalog["products"]["cans"]
    reviews = gql.data(REVIEWS, {"id": gid(cans), "first": 10})["product"]["reviews"]
    assert titles(reviews) == ["Great", "Good"]
    assert reviews["totalCount"] == 2
    assert reviews["pageInfo"]["hasNextPage"] is False


def test_review_links_to_its_product_and_author(gql, catalog):
    review = catalog["products"]["cans"].reviews.get(title="Good")
    query = """query ($id: ID!) { node(id: $id) {
      ... on Review { rating product { name } author { username } } } }"""
    node = gql.data(query, {"id": gid(review)})["node"]
    assert node == {"rating": 4, "product": {"name": "Studio Headphones"},
                    "author": {"username": "other"}}


def test_reviews_page_forward_with_after(gql, many_reviews):
    variables = {"id": gid(many_reviews), "first": 3}
    first = gql.data(REVIEWS, variables)["product"]["reviews"]
    assert titles(first) == ["r7", "r6", "r5"]
    assert first["totalCount"] == 7
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]

    after = first["pageInfo"]["endCursor"]
    second = gql.data(REVIEWS, {**variables, "after": after})["product"]["reviews"]
    assert titles(second) == ["r4", "r3", "r2"]

    last = gql.data(REVIEWS, {**variables, "after": second["pageInfo"]["endCursor"]})
    last = last["product"]["reviews"]
    assert titles(last) == ["r1"]
    assert last["pageInfo"]["hasNextPage"] is False


# -- related and popular products ---------------------------------------------


def test_related_products_are_other_visible_products_of_the_same_category(gql, catalog):
    cans = catalog["products"]["cans"]
    query = "query ($id: ID!) { product(id: $id) { relatedProducts(first: 5) { name } } }"
    related = gql.data(query, {"id": gid(cans)})["product"]["relatedProducts"]
    assert related == [{"name": "Wireless Earbuds"}]


def test_related_products_respect_first(gql, catalog):
    amp = catalog["products"]["amp"]
    for number, popularity in enumerate([10, 30, 20]):
        Product.objects.create(name=f"Amp {number}", price=Decimal("1.00"), is_published=True,
                               popularity_score=popularity, category=amp.category)
    query = "query ($id: ID!) { product(id: $id) { relatedProducts(first: 2) { name } } }"
    related = gql.data(query, {"id": gid(amp)})["product"]["relatedProducts"]
    assert related == [{"name": "Amp 1"}, {"name": "Amp 2"}]


def test_popular_products_are_ordered_by_popularity(gql, catalog):
    popular = gql.data("{ popularProducts(first: 3) { name } }")["popularProducts"]
    assert popular == [
        {"name": "Studio Headphones"}, {"name": "Wireless Earbuds"}, {"name": "Tube Amplifier"},
    ]


# -- me and myOrders ----------------------------------------------------------


def test_me_is_null_for_an_anonymous_viewer(gql, catalog):
    assert gql.data("{ me { username } }") == {"me": None}


def test_me_shows_the_viewer_their_own_email(users):
    me = GraphQLClient(users["other"]).data("{ me { id username email } }")["me"]
    assert me == {"id": gid(users["other"]), "username": "other", "email": "other@example.com"}


def test_email_of_another_user_is_null(users, catalog):
    cans = catalog["products"]["cans"]
    query = """query ($id: ID!) { product(id: $id) {
      reviews(first: 10) { edges { node { author { username email } } } } } }"""
    data = GraphQLClient(users["other"]).data(query, {"id": gid(cans)})
    authors = [edge["node"]["author"] for edge in data["product"]["reviews"]["edges"]]
    assert authors == [
        {"username": "staff", "email": None},
        {"username": "other", "email": "other@example.com"},
    ]


def test_email_of_another_user_is_null_through_node(users):
    data = GraphQLClient(users["creator"]).data(
        "query ($id: ID!) { node(id: $id) { ... on User { email } } }", {"id": gid(users["other"])}
    )
    assert data["node"] == {"email": None}


MY_ORDERS = "{ myOrders(first: 10) { totalCount edges { node { id status } } } }"


def test_my_orders_requires_sign_in(gql, catalog):
    result = gql.execute(MY_ORDERS)
    assert result["data"] == {"myOrders": None}
    assert error_codes(result) == ["UNAUTHENTICATED"]


def test_my_orders_lists_only_the_viewers_own_orders(users, order):
    Order.objects.create(user=users["creator"])
    data = GraphQLClient(users["other"]).data(MY_ORDERS)["myOrders"]
    assert data["totalCount"] == 1
    assert data["edges"] == [{"node": {"id": gid(order), "status": "PAID"}}]


def test_my_orders_is_empty_for_a_user_without_orders(users, order):
    data = GraphQLClient(users["creator"]).data(MY_ORDERS)["myOrders"]
    assert data == {"totalCount": 0, "edges": []}
