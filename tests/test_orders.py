"""placeOrder / cancelOrder, stock under concurrency, and recommendations."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from graphql_relay import to_global_id

from orders.models import Order, OrderItem
from products.models import Category, Product, Review
from tests.conftest import GraphQLClient, error_codes
from tests.helpers import gid

PLACE = """
mutation($items: [OrderLineInput!]!) {
  placeOrder(input: {items: $items}) {
    order { id status items { quantity unitPrice product { slug stock } } }
    errors { field message code }
  }
}"""
CANCEL = """
mutation($id: ID!) {
  cancelOrder(input: {id: $id}) { order { id status } errors { field code } }
}"""
RECOMMENDATIONS = "query($first: Int) { recommendations(first: $first) { slug } }"


def line(product, quantity=1) -> dict:
    return {"product": gid(product), "quantity": quantity}


def field_codes(payload) -> set[tuple[str | None, str]]:
    return {(error["field"], error["code"]) for error in payload["errors"]}


def stock(product) -> int:
    product.refresh_from_db()
    return product.stock


# placeOrder --------------------------------------------------------------------------------------

def test_place_an_order_decrements_stock_and_keeps_prices(viewers, catalog, users):
    amp, novel = catalog["products"]["amp"], catalog["products"]["novel"]
    result = viewers["other"].data(PLACE, {"items": [line(amp, 2), line(novel)]})
    payload = result["placeOrder"]
    assert payload["errors"] == []
    assert payload["order"]["status"] == "PENDING"
    assert payload["order"]["items"] == [
        {"quantity": 2, "unitPrice": "499.00", "product": {"slug": "tube-amplifier", "stock": 3}},
        {"quantity": 1, "unitPrice": "15.00", "product": {"slug": "mystery-novel", "stock": 4}},
    ]
    assert (stock(amp), stock(novel)) == (3, 4)
    order = Order.objects.get(user=users["other"])
    amp.price = Decimal("1.00")
    amp.save()
    assert OrderItem.objects.get(order=order, product=amp).unit_price == Decimal("499.00")
    my_orders = viewers["other"].data("{ myOrders { edges { node { id } } } }")
    assert my_orders["myOrders"]["edges"] == [{"node": {"id": payload["order"]["id"]}}]


def test_ordering_more_than_the_stock_is_out_of_stock(viewers, catalog):
    amp, buds = catalog["products"]["amp"], catalog["products"]["buds"]
    result = viewers["other"].data(PLACE, {"items": [line(amp, 1), line(buds, 1)]})
    assert result["placeOrder"]["order"] is None
    assert field_codes(result["placeOrder"]) == {("items.1.quantity", "OUT_OF_STOCK")}
    result = viewers["other"].data(PLACE, {"items": [line(amp, 6)]})
    assert field_codes(result["placeOrder"]) == {("items.0.quantity", "OUT_OF_STOCK")}
    assert stock(amp) == 5 and not Order.objects.exists()


@pytest.mark.parametrize("items, expected", [
    (lambda p: [], {("items", "REQUIRED")}),
    (lambda p: [line(p["amp"], 0)], {("items.0.quantity", "MIN_VALUE")}),
    (lambda p: [line(p["novel"]), line(p["amp"], -1)], {("items.1.quantity", "MIN_VALUE")}),
    (lambda p: [line(p["amp"]), line(p["amp"])], {("items.1.product", "DUPLICATE")}),
    (lambda p: [{"product": "junk", "quantity": 1}], {("items.0.product", "INVALID")}),
    (lambda p: [{"product": to_global_id("Product", 99999), "quantity": 1}],
     {("items.0.product", "NOT_FOUND")}),
], ids=["empty", "zero-quantity", "negative-quantity", "duplicate", "malformed-id", "missing"])
def test_place_order_validation_errors_name_the_field(viewers, catalog, items, expected):
    result = viewers["other"].data(PLACE, {"items": items(catalog["products"])})
    assert field_codes(result["placeOrder"]) == expected
    assert result["placeOrder"]["order"] is None
    assert not Order.objects.exists()


def test_a_hidden_product_is_not_found_like_a_missing_one(viewers, catalog):
    draft = catalog["products"]["draft"]
    result = viewers["other"].data(PLACE, {"items": [line(draft)]})
    assert field_codes(result["placeOrder"]) == {("items.0.product", "NOT_FOUND")}
    missing = viewers["other"].data(PLACE, {"items": [
        {"product": to_global_id("Product", 99999), "quantity": 1}]})
    assert result["placeOrder"]["errors"][0]["message"] == \
        missing["placeOrder"]["errors"][0]["message"]
    assert stock(draft) == 5


def test_unpublished_products_cannot_be_ordered_even_by_their_creator(viewers, catalog):
    draft = catalog["products"]["draft"]
    result = viewers["creator"].data(PLACE, {"items": [line(draft)]})
    assert field_codes(result["placeOrder"]) == {("items.0.product", "NOT_PUBLISHED")}
    assert stock(draft) == 5


def test_place_order_needs_sign_in(viewers, catalog):
    result = viewers["anonymous"].execute(PLACE, {"items": [line(catalog["products"]["amp"])]})
    assert error_codes(result) == ["UNAUTHENTICATED"]
    assert stock(catalog["products"]["amp"]) == 5


# cancelOrder -------------------------------------------------------------------------------------

@pytest.fixture
def placed(viewers, catalog):
    amp = catalog["products"]["amp"]
    result = viewers["other"].data(PLACE, {"items": [line(amp, 3)]})
    return result["placeOrder"]["order"]["id"]


def test_cancel_an_order_restores_stock(viewers, catalog, placed):
    amp = catalog["products"]["amp"]
    assert stock(amp) == 2
    result = viewers["other"].data(CANCEL, {"id": placed})
    assert result["cancelOrder"] == {"order": {"id": placed, "status": "CANCELLED"},
                                     "errors": []}
    assert stock(amp) == 5
    again = viewers["other"].data(CANCEL, {"id": placed})
    assert field_codes(again["cancelOrder"]) == {("id", "INVALID_STATUS")}
    assert stock(amp) == 5


def test_shipped_orders_cannot_be_cancelled(viewers, catalog, placed):
    Order.objects.update(status=Order.Status.SHIPPED)
    result = viewers["other"].data(CANCEL, {"id": placed})
    assert field_codes(result["cancelOrder"]) == {("id", "INVALID_STATUS")}
    assert stock(catalog["products"]["amp"]) == 2


def test_another_users_order_is_not_found(viewers, catalog, placed):
    result = viewers["creator"].execute(CANCEL, {"id": placed})
    assert error_codes(result) == ["NOT_FOUND"]
    assert Order.objects.get().status == Order.Status.PENDING


def test_staff_may_cancel_any_order(viewers, catalog, placed):
    result = viewers["staff"].data(CANCEL, {"id": placed})
    assert result["cancelOrder"]["order"]["status"] == "CANCELLED"


def test_cancel_order_needs_sign_in(viewers, placed):
    assert error_codes(viewers["anonymous"].execute(CANCEL, {"id": placed})) == [
        "UNAUTHENTICATED"]


def test_cancel_a_missing_order_is_not_found(viewers, db):
    result = viewers["other"].execute(CANCEL, {"id": to_global_id("Order", 99999)})
    assert error_codes(result) == ["NOT_FOUND"]


# concurrency (real PostgreSQL, one connection per thread) ----------------------------------------

@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_for_the_last_item_sell_it_exactly_once():
    assert connection.vendor == "postgresql"
    User = get_user_model()
    category = Category.objects.create(name="Rare", slug="rare")
    last_one = Product.objects.create(name="Last One", price=Decimal("10.00"), stock=1,
                                      is_published=True, category=category)
    buyers = [User.objects.create_user(f"buyer{index}", password="pw") for index in range(6)]
    barrier = threading.Barrier(len(buyers))
    results: list[dict] = []
    failures: list[BaseException] = []

    def buy(user):
        try:
            client = GraphQLClient(user)
            barrier.wait(timeout=30)
            results.append(client.execute(PLACE, {"items": [line(last_one)]}))
        except BaseException as error:  # surfaced below, threads swallow exceptions
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(user,)) for user in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert len(results) == len(buyers)
    assert all("errors" not in result for result in results), results
    payloads = [result["data"]["placeOrder"] for result in results]
    succeeded = [payload for payload in payloads if payload["order"]]
    refused = [payload for payload in payloads if not payload["order"]]
    assert len(succeeded) == 1
    assert all(field_codes(payload) == {("items.0.quantity", "OUT_OF_STOCK")}
               for payload in refused)
    last_one.refresh_from_db()
    assert last_one.stock == 0
    assert OrderItem.objects.filter(product=last_one).count() == 1


# recommendations ---------------------------------------------------------------------------------

def test_recommendations_come_from_ordered_categories_best_rated_first(viewers, catalog, users):
    products = catalog["products"]
    headphones = catalog["categories"]["headphones"]
    extra = Product.objects.create(name="Bass Cans", price=Decimal("50.00"), stock=2,
                                   is_published=True, category=headphones, popularity_score=1)
    Review.objects.create(product=extra, author=users["creator"], rating=5, title="Bass!")
    Review.objects.create(product=products["buds"], author=users["creator"], rating=2, title="Meh")
    viewers["other"].data(PLACE, {"items": [line(products["cans"])]})

    result = viewers["other"].data(RECOMMENDATIONS, {"first": 10})["recommendations"]
    # Same category as the headphones; not the bought pair; no draft; best average first.
    assert [item["slug"] for item in result] == ["bass-cans", "wireless-earbuds"]
    assert viewers["other"].data(RECOMMENDATIONS, {"first": 1})["recommendations"] == [
        {"slug": "bass-cans"}]


def test_recommendations_are_empty_without_orders_or_sign_in(viewers, catalog):
    assert viewers["anonymous"].data(RECOMMENDATIONS) == {"recommendations": []}
    assert viewers["other"].data(RECOMMENDATIONS) == {"recommendations": []}


def test_recommendations_bound_first(viewers, catalog):
    result = viewers["other"].execute(RECOMMENDATIONS, {"first": 0})
    assert error_codes(result) == ["BAD_USER_INPUT"]
