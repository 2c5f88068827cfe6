"""createProduct / updateProduct / deleteProduct: permissions, validation and visibility."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from graphql_relay import to_global_id

from orders.models import Order, OrderItem
from products.models import Product
from tests.conftest import GraphQLClient, error_codes
from tests.helpers import gid

CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    clientMutationId
    product { id name slug price stock isPublished category { slug } createdBy { username } }
    errors { field message code }
  }
}"""
UPDATE = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) {
    product { id name slug description price stock isPublished category { slug } }
    errors { field message code }
  }
}"""
DELETE = """
mutation($input: DeleteProductInput!) {
  deleteProduct(input: $input) { deletedId errors { field message code } }
}"""


def product_input(catalog, **overrides):
    values = {
        "name": "Vinyl Record", "description": "Spins.", "price": "25.50", "stock": 3,
        "category": gid(catalog["categories"]["audio"]), "isPublished": True,
    }
    values.update(overrides)
    return values


def field_codes(payload) -> set[tuple[str | None, str]]:
    return {(error["field"], error["code"]) for error in payload["errors"]}


def user_with_perms(*codenames):
    user = get_user_model().objects.create_user(f"perm-{'-'.join(codenames)}", password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return get_user_model().objects.get(pk=user.pk)


# createProduct -----------------------------------------------------------------------------------

def test_staff_create_a_product(viewers, catalog):
    result = viewers["staff"].data(CREATE, {"input": {
        **product_input(catalog), "clientMutationId": "c1"}})
    payload = result["createProduct"]
    assert payload["errors"] == [] and payload["clientMutationId"] == "c1"
    assert payload["product"] | {"id": None} == {
        "id": None, "name": "Vinyl Record", "slug": "vinyl-record", "price": "25.50",
        "stock": 3, "isPublished": True, "category": {"slug": "audio"},
        "createdBy": {"username": "staff"},
    }
    assert Product.objects.get(slug="vinyl-record").price == Decimal("25.50")


def test_users_with_the_add_product_permission_create_products(catalog):
    client = GraphQLClient(user_with_perms("add_product"))
    payload = client.data(CREATE, {"input": product_input(catalog)})["createProduct"]
    assert payload["errors"] == [] and payload["product"]["name"] == "Vinyl Record"


def test_same_names_get_unique_slugs(viewers, catalog):
    for _ in range(2):
        viewers["staff"].data(CREATE, {"input": product_input(catalog, name="Tube Amplifier")})
    assert sorted(Product.objects.filter(name="Tube Amplifier").values_list("slug", flat=True)) \
        == ["tube-amplifier", "tube-amplifier-2", "tube-amplifier-3"]


def test_create_product_needs_sign_in(viewers, catalog):
    result = viewers["anonymous"].execute(CREATE, {"input": product_input(catalog)})
    assert error_codes(result) == ["UNAUTHENTICATED"]
    assert result["data"] == {"createProduct": None}
    assert not Product.objects.filter(name="Vinyl Record").exists()


def test_create_product_needs_the_permission(viewers, catalog):
    result = viewers["other"].execute(CREATE, {"input": product_input(catalog)})
    assert error_codes(result) == ["FORBIDDEN"]
    assert not Product.objects.filter(name="Vinyl Record").exists()


@pytest.mark.parametrize("overrides, expected", [
    ({"price": "0"}, {("price", "MIN_VALUE")}),
    ({"price": "-5"}, {("price", "MIN_VALUE")}),
    ({"price": "1.234"}, {("price", "MAX_DECIMAL_PLACES")}),
    ({"stock": -1}, {("stock", "MIN_VALUE")}),
    ({"name": "   "}, {("name", "REQUIRED")}),
    ({"name": "x" * 201}, {("name", "MAX_LENGTH")}),
    ({"category": to_global_id("Category", 99999)}, {("category", "NOT_FOUND")}),
    ({"category": "garbage"}, {("category", "INVALID")}),
    ({"category": to_global_id("Product", 1)}, {("category", "INVALID")}),
    ({"price": "0", "stock": -2, "name": ""},
     {("price", "MIN_VALUE"), ("stock", "MIN_VALUE"), ("name", "REQUIRED")}),
], ids=["zero-price", "negative-price", "three-decimals", "negative-stock", "blank-name",
        "long-name", "missing-category", "malformed-category", "wrong-type-category", "several"])
def test_create_product_validation_errors_name_the_field(viewers, catalog, overrides, expected):
    result = viewers["staff"].data(CREATE, {"input": product_input(catalog, **overrides)})
    payload = result["createProduct"]
    assert payload["product"] is None
    assert field_codes(payload) == expected
    assert all(error["message"] for error in payload["errors"])
    assert not Product.objects.filter(description="Spins.").exists()


def test_create_product_refused_by_validation_writes_nothing(viewers, catalog):
    result = viewers["staff"].execute(
        """mutation ($category: ID!) { createProduct(input: {name: "Nope", price: "0",
           stock: 1, category: $category}) { product { id } errors { field code } } }""",
        {"category": gid(catalog["categories"]["books"])},
    )
    assert result["data"]["createProduct"]["errors"] == [{"field": "price", "code": "MIN_VALUE"}]
    assert not Product.objects.filter(name="Nope").exists()


# updateProduct -----------------------------------------------------------------------------------

def test_creator_updates_only_the_fields_sent(viewers, catalog):
    amp = catalog["products"]["amp"]
    result = viewers["creator"].data(UPDATE, {"input": {
        "id": gid(amp), "price": "450.00", "name": "Tube Amp II",
        "category": gid(catalog["categories"]["headphones"])}})
    payload = result["updateProduct"]
    assert payload["errors"] == []
    assert payload["product"] | {"id": None} == {
        "id": None, "name": "Tube Amp II", "slug": "tube-amplifier",  # slugs never change
        "description": "The Tube Amplifier.", "price": "450.00", "stock": 5,
        "isPublished": True, "category": {"slug": "headphones"},
    }


def test_creator_updates_their_own_draft(viewers, catalog):
    draft = catalog["products"]["draft"]
    result = viewers["creator"].data(UPDATE, {"input": {"id": gid(draft), "isPublished": True}})
    assert result["updateProduct"]["product"]["isPublished"] is True


@pytest.mark.parametrize("who", ["staff", "perm"])
def test_staff_and_change_permission_update_any_product(viewers, catalog, who):
    client = viewers["staff"] if who == "staff" else GraphQLClient(
        user_with_perms("change_product"))
    amp = catalog["products"]["amp"]
    result = client.data(UPDATE, {"input": {"id": gid(amp), "stock": 0}})
    assert result["updateProduct"]["product"]["stock"] == 0


def test_update_by_another_user_is_forbidden(viewers, catalog):
    amp = catalog["products"]["amp"]
    result = viewers["other"].execute(UPDATE, {"input": {"id": gid(amp), "price": "1.00"}})
    assert error_codes(result) == ["FORBIDDEN"]
    amp.refresh_from_db()
    assert amp.price == Decimal("499.00")


def test_update_needs_sign_in(viewers, catalog):
    amp = catalog["products"]["amp"]
    result = viewers["anonymous"].execute(UPDATE, {"input": {"id": gid(amp), "stock": 1}})
    assert error_codes(result) == ["UNAUTHENTICATED"]


def test_updating_a_hidden_product_is_not_found_like_a_missing_one(viewers, catalog):
    draft = catalog["products"]["draft"]
    hidden = viewers["other"].execute(UPDATE, {"input": {"id": gid(draft), "stock": 1}})
    missing = viewers["other"].execute(
        UPDATE, {"input": {"id": to_global_id("Product", 99999), "stock": 1}})
    assert error_codes(hidden) == error_codes(missing) == ["NOT_FOUND"]
    assert hidden["errors"][0]["message"] == missing["errors"][0]["message"]


def test_update_with_a_malformed_id_is_bad_user_input(viewers, catalog):
    result = viewers["creator"].execute(UPDATE, {"input": {"id": "nope", "stock": 1}})
    assert error_codes(result) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("changes, expected", [
    ({"price": "-1"}, {("price", "MIN_VALUE")}),
    ({"price": None}, {("price", "REQUIRED")}),
    ({"stock": -3}, {("stock", "MIN_VALUE")}),
    ({"name": ""}, {("name", "REQUIRED")}),
    ({"category": to_global_id("Category", 99999)}, {("category", "NOT_FOUND")}),
    ({"category": None}, {("category", "REQUIRED")}),
    ({"isPublished": None}, {("isPublished", "REQUIRED")}),
    ({"price": "NaN"}, {("price", "INVALID")}),
])
def test_update_validation_errors_name_the_field(viewers, catalog, changes, expected):
    amp = catalog["products"]["amp"]
    result = viewers["creator"].data(UPDATE, {"input": {"id": gid(amp), **changes}})
    assert result["updateProduct"]["product"] is None
    assert field_codes(result["updateProduct"]) == expected
    amp.refresh_from_db()
    assert (amp.price, amp.stock, amp.name) == (Decimal("499.00"), 5, "Tube Amplifier")


# deleteProduct -----------------------------------------------------------------------------------

def test_creator_deletes_their_product(viewers, catalog):
    amp = catalog["products"]["amp"]
    result = viewers["creator"].data(DELETE, {"input": {"id": gid(amp)}})
    assert result["deleteProduct"] == {"deletedId": gid(amp), "errors": []}
    assert not Product.objects.filter(pk=amp.pk).exists()


def test_delete_permission_lets_others_delete(catalog):
    amp = catalog["products"]["amp"]
    client = GraphQLClient(user_with_perms("delete_product"))
    assert client.data(DELETE, {"input": {"id": gid(amp)}})["deleteProduct"]["errors"] == []


def test_delete_by_another_user_is_forbidden(viewers, catalog):
    amp = catalog["products"]["amp"]
    assert error_codes(viewers["other"].execute(DELETE, {"input": {"id": gid(amp)}})) == [
        "FORBIDDEN"]
    assert Product.objects.filter(pk=amp.pk).exists()


def test_delete_needs_sign_in(viewers, catalog):
    amp = catalog["products"]["amp"]
    assert error_codes(viewers["anonymous"].execute(DELETE, {"input": {"id": gid(amp)}})) == [
        "UNAUTHENTICATED"]


def test_deleting_a_hidden_product_is_not_found(viewers, catalog):
    draft = catalog["products"]["draft"]
    assert error_codes(viewers["other"].execute(DELETE, {"input": {"id": gid(draft)}})) == [
        "NOT_FOUND"]
    assert Product.objects.filter(pk=draft.pk).exists()


def test_an_ordered_product_cannot_be_deleted(viewers, catalog, users):
    amp = catalog["products"]["amp"]
    order = Order.objects.create(user=users["other"])
    OrderItem.objects.create(order=order, product=amp, quantity=1, unit_price=amp.price)
    result = viewers["creator"].data(DELETE, {"input": {"id": gid(amp)}})
    assert field_codes(result["deleteProduct"]) == {("id", "PROTECTED")}
    assert result["deleteProduct"]["deletedId"] is None


# several mutations in one request ----------------------------------------------------------------

CREATE_THEN_FAIL = """
mutation ($category: ID!) {
  a: createProduct(input: {name: "Kept", price: "5.00", stock: 1, category: $category}) {
    product { id name } errors { code }
  }
  b: deleteProduct(input: {id: "UHJvZHVjdDo5OTk5OQ=="}) { deletedId }
}
"""


def test_a_mutation_that_succeeded_is_kept_when_a_later_one_fails(viewers, catalog):
    result = viewers["staff"].execute(
        CREATE_THEN_FAIL, {"category": gid(catalog["categories"]["books"])})
    assert error_codes(result) == ["NOT_FOUND"]
    assert result["data"]["a"] == {"product": {"id": result["data"]["a"]["product"]["id"],
                                               "name": "Kept"}, "errors": []}
    # What the response reports as done is done.
    assert Product.objects.filter(name="Kept").exists()
