"""The draft "Secret Prototype" is seen by its creator and staff only, on every read path.

Anonymous viewers and other users must not be able to tell it from a product that does not
exist: every lookup fails with the very same error as for a missing ID or slug.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from graphql_relay import to_global_id

from orders.models import Order, OrderItem
from products.models import Product, ProductImage
from tests.conftest import GraphQLClient, error_codes

DRAFT = "Secret Prototype"
SEES_DRAFT = {"anonymous": False, "other": False, "creator": True, "staff": True}
VIEWERS = list(SEES_DRAFT)


def product_id(product) -> str:
    return to_global_id("Product", product.pk)


def missing_product_id() -> str:
    return to_global_id("Product", Product.objects.order_by("-pk").first().pk + 1000)


def edge_names(connection: dict) -> set[str]:
    return {edge["node"]["name"] for edge in connection["edges"]}


def without_location(errors: list[dict]) -> list[dict]:
    return [{k: v for k, v in error.items() if k not in ("path", "locations")} for error in errors]


# -- lists ----------------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_products_list_shows_the_draft_only_to_creator_and_staff(viewers, catalog, viewer):
    products = viewers[viewer].data("{ products { totalCount edges { node { name } } } }")
    products = products["products"]
    assert (DRAFT in edge_names(products)) is SEES_DRAFT[viewer]
    assert products["totalCount"] == (5 if SEES_DRAFT[viewer] else 4)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_search_finds_the_draft_only_for_creator_and_staff(viewers, catalog, viewer):
    query = '{ products(search: "prototype") { totalCount edges { node { name } } } }'
    products = viewers[viewer].data(query)["products"]
    expected = {DRAFT} if SEES_DRAFT[viewer] else set()
    assert edge_names(products) == expected
    assert products["totalCount"] == len(expected)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_category_products_show_the_draft_only_to_creator_and_staff(viewers, catalog, viewer):
    query = '{ category(slug: "electronics") { products { edges { node { name } } } } }'
    products = viewers[viewer].data(query)["category"]["products"]
    assert (DRAFT in edge_names(products)) is SEES_DRAFT[viewer]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_related_products_show_the_draft_only_to_creator_and_staff(viewers, catalog, viewer):
    query = "query ($id: ID!) { product(id: $id) { relatedProducts(first: 10) { name } } }"
    data = viewers[viewer].data(query, {"id": product_id(catalog["products"]["cans"])})
    related = {product["name"] for product in data["product"]["relatedProducts"]}
    assert (DRAFT in related) is SEES_DRAFT[viewer]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_popular_products_show_the_draft_only_to_creator_and_staff(viewers, catalog, viewer):
    popular = viewers[viewer].data("{ popularProducts(first: 10) { name } }")["popularProducts"]
    assert (DRAFT in {product["name"] for product in popular}) is SEES_DRAFT[viewer]


# -- single lookups ---------------------------------------------------------------

NODE = "query ($id: ID!) { node(id: $id) { ... on Product { name } } }"
BY_ID = "query ($id: ID!) { product(id: $id) { name } }"
BY_SLUG = "query ($slug: String!) { product(slug: $slug) { name } }"


def lookups(catalog) -> list[tuple[str, dict, dict]]:
    """(query, variables of the draft, variables of a missing product) for each lookup."""
    draft = catalog["products"]["draft"]
    return [
        (NODE, {"id": product_id(draft)}, {"id": missing_product_id()}),
        (BY_ID, {"id": product_id(draft)}, {"id": missing_product_id()}),
        (BY_SLUG, {"slug": draft.slug}, {"slug": "no-such-product"}),
    ]


@pytest.mark.parametrize("viewer", ["creator", "staff"])
def test_creator_and_staff_can_fetch_the_draft_by_node_id_and_slug(viewers, catalog, viewer):
    for query, variables, _ in lookups(catalog):
        data = viewers[viewer].data(query, variables)
        assert list(data.values()) == [{"name": DRAFT}], query


@pytest.mark.parametrize("viewer", ["anonymous", "other"])
def test_hidden_draft_fails_exactly_like_a_missing_product(viewers, catalog, viewer):
    for query, draft_variables, missing_variables in lookups(catalog):
        hidden = viewers[viewer].execute(query, draft_variables)
        missing = viewers[viewer].execute(query, missing_variables)
        assert error_codes(hidden) == ["NOT_FOUND"], query
        assert hidden["data"] == missing["data"]
        assert without_location(hidden["errors"]) == without_location(missing["errors"])


# -- reviews of the draft -----------------------------------------------------------

REVIEW_NODE = """query ($id: ID!) { node(id: $id) {
  ... on Review { title product { name } } } }"""


def draft_review_id(catalog) -> str:
    return to_global_id("Review", catalog["products"]["draft"].reviews.get().pk)


@pytest.mark.parametrize("viewer", ["creator", "staff"])
def test_review_of_the_draft_and_its_product_are_visible_to_creator_and_staff(
    viewers, catalog, viewer
):
    node = viewers[viewer].data(REVIEW_NODE, {"id": draft_review_id(catalog)})["node"]
    assert node == {"title": "Hidden", "product": {"name": DRAFT}}


@pytest.mark.parametrize("viewer", ["anonymous", "other"])
def test_review_of_the_draft_fails_exactly_like_a_missing_review(viewers, catalog, viewer):
    hidden = viewers[viewer].execute(REVIEW_NODE, {"id": draft_review_id(catalog)})
    missing = viewers[viewer].execute(REVIEW_NODE, {"id": to_global_id("Review", 10**6)})
    assert hidden["data"] == {"node": None}
    assert error_codes(hidden) == ["NOT_FOUND"]
    assert without_location(hidden["errors"]) == without_location(missing["errors"])


@pytest.mark.parametrize("viewer", ["anonymous", "other"])
def test_image_of_the_draft_fails_exactly_like_a_missing_image(viewers, catalog, viewer):
    image = ProductImage.objects.create(
        product=catalog["products"]["draft"], image="p/secret.jpg", alt_text="Secret"
    )
    query = "query ($id: ID!) { node(id: $id) { ... on ProductImage { altText url } } }"
    hidden = viewers[viewer].execute(query, {"id": to_global_id("ProductImage", image.pk)})
    missing = viewers[viewer].execute(query, {"id": to_global_id("ProductImage", 10**6)})
    assert hidden["data"] == {"node": None}
    assert error_codes(hidden) == ["NOT_FOUND"]
    assert without_location(hidden["errors"]) == without_location(missing["errors"])


# -- orders of a product hidden since ---------------------------------------------


def test_order_line_of_a_since_hidden_product_keeps_the_line_with_a_null_product(users, catalog):
    novel = catalog["products"]["novel"]
    order = Order.objects.create(user=users["other"])
    OrderItem.objects.create(order=order, product=novel, quantity=1, unit_price=Decimal("15"))
    Product.objects.filter(pk=novel.pk).update(is_published=False)

    query = "{ myOrders(first: 5) { edges { node { items { quantity product { name } } } } } }"
    data = GraphQLClient(users["other"]).data(query)
    assert data["myOrders"]["edges"] == [
        {"node": {"items": [{"quantity": 1, "product": None}]}}
    ]
