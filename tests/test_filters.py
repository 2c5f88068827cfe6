"""Filtering, search and ordering of the products connection, alone and combined."""
from __future__ import annotations

import pytest
from graphql_relay import to_global_id

from tests.conftest import GraphQLClient, error_codes

PRODUCTS = """query (
  $name: String, $nameIcontains: String, $category: String, $priceGte: Decimal,
  $priceLte: Decimal, $isPublished: Boolean, $inStock: Boolean, $search: String,
  $orderBy: String
) {
  products(
    name: $name, nameIcontains: $nameIcontains, category: $category, priceGte: $priceGte,
    priceLte: $priceLte, isPublished: $isPublished, inStock: $inStock, search: $search,
    orderBy: $orderBy
  ) { totalCount edges { node { name } } } }"""


def products(client: GraphQLClient, **variables) -> list[str]:
    """Names of the products matching `variables`, checking totalCount agrees."""
    connection = client.data(PRODUCTS, {"orderBy": "name", **variables})["products"]
    found = [edge["node"]["name"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(found)
    return found


def category_id(catalog, slug: str) -> str:
    return to_global_id("Category", catalog["categories"][slug].pk)


# -- single filters ---------------------------------------------------------------


def test_name_matches_exactly(gql, catalog):
    assert products(gql, name="Tube Amplifier") == ["Tube Amplifier"]
    assert products(gql, name="tube amplifier") == []
    assert products(gql, name="Tube") == []


def test_name_icontains_matches_part_of_the_name_in_any_case(gql, catalog):
    assert products(gql, nameIcontains="HEAD") == ["Studio Headphones"]
    assert products(gql, nameIcontains="e") == [
        "Mystery Novel", "Studio Headphones", "Tube Amplifier", "Wireless Earbuds",
    ]


@pytest.mark.parametrize(
    ("slug", "expected"),
    [
        ("headphones", ["Studio Headphones", "Wireless Earbuds"]),
        ("audio", ["Studio Headphones", "Tube Amplifier", "Wireless Earbuds"]),
        ("electronics", ["Studio Headphones", "Tube Amplifier", "Wireless Earbuds"]),
        ("books", ["Mystery Novel"]),
    ],
)
def test_category_includes_products_of_its_descendants(gql, catalog, slug, expected):
    assert products(gql, category=category_id(catalog, slug)) == expected


def test_price_bounds_are_inclusive(gql, catalog):
    assert products(gql, priceGte="199.00") == ["Studio Headphones", "Tube Amplifier"]
    assert products(gql, priceLte="99") == ["Mystery Novel", "Wireless Earbuds"]
    assert products(gql, priceGte="99", priceLte="199") == [
        "Studio Headphones", "Wireless Earbuds",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, ["Mystery Novel", "Studio Headphones", "Tube Amplifier", "Wireless Earbuds"]),
        (False, ["Secret Prototype"]),
    ],
)
def test_is_published_filters_drafts_for_a_viewer_who_sees_them(viewers, catalog, value,
                                                                expected):
    assert products(viewers["staff"], isPublished=value) == expected


def test_is_published_false_reveals_no_draft_to_other_users(viewers, catalog):
    assert products(viewers["other"], isPublished=False) == []


def test_in_stock_separates_products_with_and_without_stock(gql, catalog):
    assert products(gql, inStock=True) == ["Mystery Novel", "Studio Headphones", "Tube Amplifier"]
    assert products(gql, inStock=False) == ["Wireless Earbuds"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("earbuds", ["Wireless Earbuds"]),  # name
        ("the mystery", ["Mystery Novel"]),  # description ("The Mystery Novel.")
        ("headphones", ["Studio Headphones", "Wireless Earbuds"]),  # category name (and a name)
        ("books", ["Mystery Novel"]),  # category name only
        ("  AMPLIFIER ", ["Tube Amplifier"]),  # trimmed, any case
        ("nothing like this", []),
    ],
)
def test_search_looks_in_name_description_and_category_name(gql, catalog, text, expected):
    assert products(gql, search=text) == expected


# -- ordering -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("price", ["Mystery Novel", "Wireless Earbuds", "Studio Headphones", "Tube Amplifier"]),
        ("-price", ["Tube Amplifier", "Studio Headphones", "Wireless Earbuds", "Mystery Novel"]),
        ("createdAt", ["Tube Amplifier", "Studio Headphones", "Wireless Earbuds", "Mystery Novel"]),
        ("-createdAt",
         ["Mystery Novel", "Wireless Earbuds", "Studio Headphones", "Tube Amplifier"]),
        ("popularityScore",
         ["Mystery Novel", "Tube Amplifier", "Wireless Earbuds", "Studio Headphones"]),
        ("-popularityScore",
         ["Studio Headphones", "Wireless Earbuds", "Tube Amplifier", "Mystery Novel"]),
        ("name", ["Mystery Novel", "Studio Headphones", "Tube Amplifier", "Wireless Earbuds"]),
        ("-name", ["Wireless Earbuds", "Tube Amplifier", "Studio Headphones", "Mystery Novel"]),
    ],
)
def test_order_by_sorts_by_the_chosen_field(gql, catalog, order_by, expected):
    assert products(gql, orderBy=order_by) == expected


def test_default_order_is_newest_first(gql, catalog):
    connection = gql.data("{ products { edges { node { name } } } }")["products"]
    assert [edge["node"]["name"] for edge in connection["edges"]] == [
        "Mystery Novel", "Wireless Earbuds", "Studio Headphones", "Tube Amplifier",
    ]


# -- combinations ---------------------------------------------------------------


def test_filters_combine_with_and(gql, catalog):
    electronics = category_id(catalog, "electronics")
    assert products(gql, category=electronics, inStock=True, priceLte="300") == [
        "Studio Headphones",
    ]
    assert products(gql, category=electronics, search="wireless", inStock=True) == []
    assert products(gql, search="e", priceGte="15", priceLte="199", orderBy="-price") == [
        "Studio Headphones", "Wireless Earbuds", "Mystery Novel",
    ]


def test_category_products_accept_the_same_filters(gql, catalog):
    query = """{ category(slug: "audio") {
      products(inStock: true, priceGte: "100", orderBy: "-price") {
        totalCount edges { node { name } } } } }"""
    connection = gql.data(query)["category"]["products"]
    assert connection["totalCount"] == 2
    assert [edge["node"]["name"] for edge in connection["edges"]] == [
        "Tube Amplifier", "Studio Headphones",
    ]


# -- bad filter input -------------------------------------------------------------


@pytest.mark.parametrize(
    "make_id",
    [
        pytest.param(lambda catalog: "abc", id="malformed"),
        pytest.param(lambda catalog: to_global_id("Category", "xyz"), id="non-numeric-pk"),
        pytest.param(lambda catalog: to_global_id("Product", catalog["products"]["amp"].pk),
                     id="product-id"),
    ],
)
def test_category_filter_refuses_ids_that_are_not_category_ids(gql, catalog, make_id):
    result = gql.execute(PRODUCTS, {"category": make_id(catalog)})
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["field"] == "category"
    assert result["data"] == {"products": None}


@pytest.mark.parametrize("order_by", ["colour", "-stock", "name,colour"])
def test_unknown_order_by_value_is_bad_user_input(gql, catalog, order_by):
    result = gql.execute(PRODUCTS, {"orderBy": order_by})
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["field"] == "orderBy"


# -- typed ordering and filters (the deprecated string forms keep working) -------------

SORTED = """query ($sortBy: [ProductOrder!], $categoryId: ID, $orderBy: String) {
  products(sortBy: $sortBy, categoryId: $categoryId, orderBy: $orderBy) {
    edges { node { name } } } }"""


def sorted_names(client, **variables) -> list[str]:
    return [edge["node"]["name"] for edge in client.data(SORTED, variables)["products"]["edges"]]


@pytest.mark.parametrize(("order_by", "sort_by"), [
    ("price", [{"field": "PRICE"}]),
    ("-price", [{"field": "PRICE", "direction": "DESC"}]),
    ("name", [{"field": "NAME", "direction": "ASC"}]),
    ("-popularityScore", [{"field": "POPULARITY_SCORE", "direction": "DESC"}]),
    ("createdAt", [{"field": "CREATED_AT"}]),
])
def test_sort_by_orders_as_the_deprecated_order_by_did(gql, catalog, order_by, sort_by):
    assert sorted_names(gql, sortBy=sort_by) == sorted_names(gql, orderBy=order_by)


def test_sort_by_takes_several_keys_most_significant_first(gql, catalog):
    Product = catalog["products"]["amp"].__class__
    Product.objects.filter(pk=catalog["products"]["novel"].pk).update(price="499.00")
    names = sorted_names(gql, sortBy=[{"field": "PRICE", "direction": "DESC"},
                                      {"field": "NAME"}])
    assert names == ["Mystery Novel", "Tube Amplifier", "Studio Headphones", "Wireless Earbuds"]


def test_sort_by_and_order_by_together_are_bad_user_input(gql, catalog):
    result = gql.execute(SORTED, {"sortBy": [{"field": "PRICE"}], "orderBy": "name"})
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["field"] == "sortBy"


def test_category_id_filters_like_the_deprecated_category(gql, catalog):
    audio = category_id(catalog, "audio")
    by_id = sorted_names(gql, categoryId=audio, orderBy="name")
    assert by_id == products(gql, category=audio)
    assert by_id == ["Studio Headphones", "Tube Amplifier", "Wireless Earbuds"]
    wrong = gql.execute(SORTED, {"categoryId": to_global_id("Product", 1)})
    assert error_codes(wrong) == ["BAD_USER_INPUT"]
    assert wrong["errors"][0]["extensions"]["field"] == "categoryId"


def test_introspection_lists_sort_fields_and_the_deprecated_arguments(gql, db):
    data = gql.data("""{
      field: __type(name: "ProductOrderField") { enumValues { name description } }
      query: __type(name: "Query") { fields { name
        args(includeDeprecated: true) { name description isDeprecated deprecationReason } } }
    }""")
    assert [value["name"] for value in data["field"]["enumValues"]] == [
        "PRICE", "CREATED_AT", "POPULARITY_SCORE", "NAME",
    ]
    assert all(value["description"] for value in data["field"]["enumValues"])
    products_field, = [f for f in data["query"]["fields"] if f["name"] == "products"]
    arguments = {argument["name"]: argument for argument in products_field["args"]}
    assert arguments["orderBy"]["isDeprecated"] is True
    assert arguments["orderBy"]["deprecationReason"] == "Use `sortBy` instead."
    assert arguments["category"]["deprecationReason"] == "Use `categoryId` instead."
    assert arguments["sortBy"]["isDeprecated"] is False
    # Filter arguments carry their filter's help text.
    assert arguments["search"]["description"] == "Words in the name, description or category name."
