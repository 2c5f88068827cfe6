"""One stock writer (products/inventory.py): orders, adjustStock, updateProduct(stock:) and the
admin all change stock through it, under the lock orders take, relative to the stock as it is."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client

from orders import services as orders
from products import inventory
from products.admin import ProductForm
from products.models import Category, Product
from tests.conftest import GraphQLClient, error_codes
from tests.helpers import gid

ADJUST = """
mutation($product: ID!, $delta: Int!) {
  adjustStock(input: {product: $product, delta: $delta}) {
    product { stock } errors { field code message }
  }
}"""
UPDATE = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) { product { name stock } errors { field code } }
}"""
PLACE = """
mutation($items: [OrderLineInput!]!) {
  placeOrder(input: {items: $items}) { order { id } errors { field code } }
}"""


def stock(product) -> int:
    product.refresh_from_db()
    return product.stock


@pytest.fixture
def published_events(monkeypatch):
    """The product ids announced as `updated` (subscriptions.events.publish), in order."""
    from subscriptions import events

    announced: list[int] = []
    monkeypatch.setattr(events, "publish", lambda event, product_id, *args, **kwargs:
                        announced.append(product_id) if event == events.UPDATED else None)
    return announced


# the rule module ---------------------------------------------------------------------------------

def test_adjust_adds_to_the_stock_as_it_is_not_as_the_caller_read_it(catalog, published_events):
    amp = catalog["products"]["amp"]
    read_earlier = Product.objects.get(pk=amp.pk)
    Product.objects.filter(pk=amp.pk).update(stock=2)  # an order took 3 since
    before = read_earlier.updated_at
    assert inventory.adjust(read_earlier, 4) is read_earlier
    assert read_earlier.stock == stock(amp) == 6
    assert read_earlier.updated_at > before
    assert published_events == [amp.pk]


def test_adjust_refuses_to_go_below_zero_or_beyond_the_column(catalog):
    amp = catalog["products"]["amp"]
    with pytest.raises(ValidationError) as below:
        inventory.adjust(amp, -6)
    assert below.value.error_dict["delta"][0].code == inventory.OUT_OF_STOCK
    with pytest.raises(ValidationError) as beyond:
        inventory.adjust(amp, inventory.MAX_STOCK)
    assert beyond.value.error_dict["delta"][0].code == "max_value"
    assert stock(amp) == 5
    assert inventory.adjust(amp, -5).stock == 0


def test_set_stock_replaces_the_number_and_may_leave_the_event_to_the_caller(
        catalog, published_events):
    amp, novel = catalog["products"]["amp"], catalog["products"]["novel"]
    assert inventory.set_stock(amp, 12).stock == 12
    inventory.set_stock(novel, 0, announce=False)
    assert (stock(amp), stock(novel)) == (12, 0)
    assert published_events == [amp.pk]
    with pytest.raises(ValidationError) as negative:
        inventory.set_stock(amp, -1)
    assert negative.value.error_dict["stock"][0].code == inventory.OUT_OF_STOCK


def test_take_and_put_back(catalog, published_events):
    amp, novel = catalog["products"]["amp"], catalog["products"]["novel"]
    rows = inventory.locked(Product.objects.all(), [novel.pk, amp.pk])
    assert list(rows) == sorted([amp.pk, novel.pk])  # the one lock order
    assert inventory.take(rows[amp.pk], 5)
    assert not inventory.take(rows[novel.pk], 6)
    inventory.put_back({amp.pk: 2, novel.pk: 1})
    assert (stock(amp), stock(novel)) == (2, 6)
    assert published_events == [amp.pk, *sorted([amp.pk, novel.pk])]


def test_locked_leaves_out_what_the_queryset_does(catalog, users):
    draft, amp = catalog["products"]["draft"], catalog["products"]["amp"]
    visible = Product.objects.visible_to(users["other"])
    assert list(inventory.locked(visible, [draft.pk, amp.pk])) == [amp.pk]


def test_orders_and_cancellations_go_through_inventory(catalog, users, monkeypatch):
    amp = catalog["products"]["amp"]
    calls: list[str] = []

    def spy(name):
        real = getattr(inventory, name)

        def spied(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        monkeypatch.setattr(inventory, name, spied)

    spy("take")
    spy("put_back")
    order = orders.place_order(users["other"], [{"product": amp.pk, "quantity": 2}])
    assert stock(amp) == 3
    orders.cancel_order(users["other"], order.pk)
    assert stock(amp) == 5
    assert calls == ["take", "put_back"]


# adjustStock and updateProduct(stock:) -----------------------------------------------------------

def test_the_creator_adjusts_stock_relative_to_what_is_left(viewers, catalog):
    amp = catalog["products"]["amp"]
    Product.objects.filter(pk=amp.pk).update(stock=1)
    payload = viewers["creator"].data(ADJUST, {"product": gid(amp), "delta": 10})["adjustStock"]
    assert payload == {"product": {"stock": 11}, "errors": []}
    payload = viewers["staff"].data(ADJUST, {"product": gid(amp), "delta": -4})["adjustStock"]
    assert payload["product"] == {"stock": 7}


def test_adjust_stock_below_zero_is_a_field_error(viewers, catalog):
    amp = catalog["products"]["amp"]
    payload = viewers["creator"].data(ADJUST, {"product": gid(amp), "delta": -6})["adjustStock"]
    assert payload["product"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("delta", "OUT_OF_STOCK")]
    assert stock(amp) == 5


def test_adjust_stock_is_authorised_like_update_product(viewers, catalog):
    amp, draft = catalog["products"]["amp"], catalog["products"]["draft"]
    assert error_codes(viewers["anonymous"].execute(
        ADJUST, {"product": gid(amp), "delta": 1})) == ["UNAUTHENTICATED"]
    assert error_codes(viewers["other"].execute(
        ADJUST, {"product": gid(amp), "delta": 1})) == ["FORBIDDEN"]
    assert error_codes(viewers["other"].execute(
        ADJUST, {"product": gid(draft), "delta": 1})) == ["NOT_FOUND"]
    assert error_codes(viewers["creator"].execute(
        ADJUST, {"product": "nope", "delta": 1})) == ["BAD_USER_INPUT"]
    assert stock(amp) == stock(draft) == 5


def test_update_product_sets_stock_under_the_lock_with_one_event(
        viewers, catalog, published_events):
    amp = catalog["products"]["amp"]
    Product.objects.filter(pk=amp.pk).update(stock=1)
    payload = viewers["creator"].data(
        UPDATE, {"input": {"id": gid(amp), "stock": 9, "name": "Amp II"}})["updateProduct"]
    assert payload["product"] == {"name": "Amp II", "stock": 9}
    payload = viewers["creator"].data(UPDATE, {"input": {"id": gid(amp), "stock": 4}})
    assert payload["updateProduct"]["product"] == {"name": "Amp II", "stock": 4}
    assert published_events == [amp.pk, amp.pk]  # one per mutation


# the admin ---------------------------------------------------------------------------------------

@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", "pw"))
    return client


def change_form(product, **changes) -> dict:
    """What the admin's change form posts for `product`, with `changes`."""
    return {
        "name": product.name, "description": product.description, "price": str(product.price),
        "is_published": "on" if product.is_published else "", "popularity_score": "0",
        "category": str(product.category_id), "created_by": "",
        "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0", "images-MAX_NUM_FORMS": "1000",
        **changes,
    }


def change_url(product) -> str:
    return f"/admin/products/product/{product.pk}/change/"


def test_the_admin_shows_stock_read_only_and_ignores_a_posted_value(admin_client, catalog):
    amp = catalog["products"]["amp"]
    page = admin_client.get(change_url(amp)).content.decode()
    assert 'name="stock"' not in page and 'name="adjust_stock_by"' in page
    response = admin_client.post(change_url(amp), change_form(amp, stock="999", name="Amp"))
    assert response.status_code == 302
    amp.refresh_from_db()
    assert (amp.name, amp.stock) == ("Amp", 5)


def test_the_admin_adjusts_stock(admin_client, catalog):
    amp = catalog["products"]["amp"]
    response = admin_client.post(change_url(amp), change_form(amp, adjust_stock_by="-2"),
                                 follow=True)
    assert stock(amp) == 3
    assert "Stock adjusted by -2: now 3." in response.content.decode()
    refused = admin_client.post(change_url(amp), change_form(amp, adjust_stock_by="-4"))
    assert refused.status_code == 200  # the form again, with the error
    assert "Only 3 in stock" in refused.content.decode()
    assert stock(amp) == 3


def test_a_new_product_gets_its_stock_typed_in(admin_client, catalog):
    page = admin_client.get("/admin/products/product/add/").content.decode()
    assert 'name="stock"' in page and 'name="adjust_stock_by"' not in page
    books = catalog["categories"]["books"]
    response = admin_client.post("/admin/products/product/add/", change_form(
        Product(name="Atlas", price=Decimal("30.00"), category=books), stock="4"))
    assert response.status_code == 302
    assert Product.objects.get(name="Atlas").stock == 4


# concurrency on real PostgreSQL (one connection per thread, real transactions) -------------------

def _shop(stock_left: int = 10):
    assert connection.vendor == "postgresql"
    category = Category.objects.create(name="Tools", slug="tools")
    product = Product.objects.create(name="Hammer", price=Decimal("12.00"), stock=stock_left,
                                     is_published=True, category=category)
    return product, get_user_model().objects.create_superuser("boss", "b@example.com", "pw")


def _run_threads(*targets) -> None:
    """Run each target in its own thread (and connection); raise what any of them raised."""
    failures: list[BaseException] = []

    def run(target):
        try:
            target()
        except BaseException as error:  # surfaced below, threads swallow exceptions
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    assert not failures, failures


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("adjust_by, expected", [("5", 12), ("", 7)], ids=["restock", "rename"])
def test_an_order_placed_while_the_admin_saves_the_form_is_kept(monkeypatch, adjust_by, expected):
    """The admin's request has read the product and checked its form when an order commits;
    the save must not write back the stock it read (10), and a +5 adds to what the order
    left: 10 - 3 + 5."""
    hammer, boss = _shop(10)
    buyer = get_user_model().objects.create_user("buyer", password="pw")
    admin = Client()
    admin.force_login(boss)
    ordered = []
    check = ProductForm.clean_adjust_stock_by

    def check_then_order_meanwhile(form):
        delta = check(form)
        _run_threads(lambda: ordered.append(GraphQLClient(buyer).data(
            PLACE, {"items": [{"product": gid(hammer), "quantity": 3}]})))
        return delta

    def save_form():
        response = admin.post(change_url(hammer), change_form(
            hammer, name="Claw Hammer", adjust_stock_by=adjust_by))
        assert response.status_code == 302, response.content[:500]

    monkeypatch.setattr(ProductForm, "clean_adjust_stock_by", check_then_order_meanwhile)
    _run_threads(save_form)
    assert ordered[0]["placeOrder"]["errors"] == []
    hammer.refresh_from_db()
    assert (hammer.name, hammer.stock) == ("Claw Hammer", expected)


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_and_admin_restocks_leave_the_right_stock():
    """Six orders of one unit and four admin restocks of two, all at once: 10 - 6 + 8,
    every order placed, no deadlock."""
    hammer, boss = _shop(10)
    buyers = [get_user_model().objects.create_user(f"b{n}", password="pw") for n in range(6)]
    barrier = threading.Barrier(len(buyers) + 4)
    placed: list[dict] = []

    def order(user):
        client = GraphQLClient(user)
        barrier.wait(timeout=30)
        placed.append(client.data(PLACE, {"items": [{"product": gid(hammer), "quantity": 1}]}))

    def restock():
        client = Client()
        client.force_login(boss)
        barrier.wait(timeout=30)
        response = client.post(change_url(hammer), change_form(hammer, adjust_stock_by="2"))
        assert response.status_code == 302, response.content[:500]

    _run_threads(*(lambda user=user: order(user) for user in buyers), *[restock] * 4)
    assert [result["placeOrder"]["errors"] for result in placed] == [[]] * 6
    assert stock(hammer) == 12
