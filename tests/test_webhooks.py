"""Outgoing webhooks end to end, in-process: GraphQL writes, the real task worker
(django-tasks-db's, run in this process) and a real HTTP receiver on loopback.

Signatures are checked with the `standardwebhooks` library. Absence is never asserted by
waiting: a write that must send nothing is followed by one that must, and the receiver is
then shown to have received only the latter.
"""
from __future__ import annotations

import json
import socket

import pytest
from django.db import transaction
from django.test import Client
from graphql_relay import to_global_id
from standardwebhooks import Webhook

from tests.conftest import GraphQLClient, error_codes
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.testing import Receiver, run_worker_until

pytestmark = pytest.mark.django_db(transaction=True)

CREATE_ENDPOINT = """mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    endpoint { id url eventTypes isActive } secret errors { field code message }
  } }"""
ALL_EVENTS = ["PRODUCT_CREATED", "PRODUCT_UPDATED", "PRODUCT_DELETED", "REVIEW_CREATED",
              "ORDER_PLACED", "ORDER_CANCELLED"]
PRODUCT_FIELDS = ("id name slug description price stock isPublished isAvailable "
                  "popularityScore category { id } createdBy { id } createdAt updatedAt")


@pytest.fixture
def quick_retries(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_RETRY_SCHEDULE = [0.05, 0.05]
    settings.WEBHOOK_RETRY_JITTER = 0.0
    settings.WEBHOOK_TIMEOUT_SECONDS = 5.0
    return settings


@pytest.fixture
def staff(users, quick_retries) -> GraphQLClient:
    return GraphQLClient(users["staff"])


def register(staff: GraphQLClient, url: str, events=ALL_EVENTS) -> tuple[str, str]:
    data = staff.data(CREATE_ENDPOINT, {"input": {"url": url, "eventTypes": events}})
    payload = data["createWebhookEndpoint"]
    assert payload["errors"] == [], payload["errors"]
    return payload["endpoint"]["id"], payload["secret"]


def verified(secret: str, received) -> dict:
    """The body, once the standardwebhooks library has verified its signature."""
    return Webhook(secret).verify(received.body, received.headers)


def settled(count: int = 1):
    """`done` for run_worker_until: `count` deliveries and none pending."""
    def done() -> bool:
        deliveries = WebhookDelivery.objects.all()
        return deliveries.count() >= count and not deliveries.filter(status="pending").exists()
    return done


def graphql_product(staff: GraphQLClient, product_id: str) -> dict:
    return staff.data("query($id: ID!) { product(id: $id) { %s } }" % PRODUCT_FIELDS,
                      {"id": product_id})["product"]


def test_each_event_arrives_once_signed_in_the_api_shape(staff, catalog, users):
    category = to_global_id("Category", catalog["categories"]["books"].pk)
    buyer = GraphQLClient(users["other"])
    with Receiver() as receiver:
        _, secret = register(staff, receiver.url)
        created = staff.data(
            "mutation($input: CreateProductInput!) { createProduct(input: $input) "
            "{ product { id } errors { code } } }",
            {"input": {"name": "Hook", "price": "12.5", "stock": 3, "category": category,
                       "isPublished": True}},
        )["createProduct"]["product"]["id"]
        shape_created = graphql_product(staff, created)
        staff.data("mutation($id: ID!) { updateProduct(input: {id: $id, name: \"Hook 2\"}) "
                   "{ errors { code } } }", {"id": created})
        shape_updated = graphql_product(staff, created)
        buyer.data("mutation($id: ID!) { addReview(input: {product: $id, rating: 5, "
                   "title: \"Fine\"}) { review { id } } }", {"id": created})
        order = buyer.data("mutation($id: ID!) { placeOrder(input: {items: [{product: $id, "
                           "quantity: 2}]}) { order { id total } } }", {"id": created})
        order_id = order["placeOrder"]["order"]["id"]
        buyer.data("mutation($id: ID!) { cancelOrder(input: {id: $id}) { order { id } } }",
                   {"id": order_id})
        deleted = staff.data(
            "mutation($id: ID!) { deleteProduct(input: {id: $id}) { errors { code } } }",
            {"id": to_global_id("Product", catalog["products"]["novel"].pk)},
        )
        assert deleted["deleteProduct"]["errors"] == []
        run_worker_until(settled(8), timeout=5)
        received = receiver.wait_for(8)

    bodies = [verified(secret, request) for request in received]
    types = [body["type"] for body in bodies]
    assert sorted(types) == sorted([
        "product.created", "product.updated", "review.created", "order.placed",
        "product.updated", "order.cancelled", "product.updated", "product.deleted",
    ])
    # Per object, in commit order.
    assert types.index("product.created") < types.index("product.updated")
    assert types.index("order.placed") < types.index("order.cancelled")
    assert len({request.webhook_id for request in received}) == len(received)
    by_type = {}
    for body in bodies:
        by_type.setdefault(body["type"], []).append(body)
        assert body["version"] == 1 and body["timestamp"].endswith("+00:00")
    assert by_type["product.created"][0]["data"] == shape_created
    assert shape_updated in [body["data"] for body in by_type["product.updated"]]
    # The order's stock changes are updates too (a relative UPDATE fires no post_save).
    assert [body["data"]["stock"] for body in by_type["product.updated"]] == [3, 1, 3]
    placed = by_type["order.placed"][0]["data"]
    assert placed["id"] == order_id and placed["status"] == "PENDING"
    assert placed["total"] == "25.00"
    assert placed["items"] == [{"product": {"id": created}, "quantity": 2,
                                "unitPrice": "12.50", "total": "25.00"}]
    assert by_type["order.cancelled"][0]["data"]["status"] == "CANCELLED"
    assert by_type["review.created"][0]["data"]["product"] == {"id": created}
    assert by_type["product.deleted"][0]["data"]["name"] == "Mystery Novel"


def test_a_rolled_back_write_records_and_sends_nothing(staff, catalog):
    with Receiver() as receiver:
        register(staff, receiver.url)
        product = catalog["products"]["amp"]
        with pytest.raises(RuntimeError), transaction.atomic():
            product.name = "Never committed"
            product.save()
            assert WebhookEvent.objects.count() == 1  # recorded inside the transaction...
            raise RuntimeError("roll back")
        assert WebhookEvent.objects.count() == 0  # ...and rolled back with it
        product.refresh_from_db()
        product.name = "Committed"
        product.save()
        run_worker_until(settled(1))
        (received,) = receiver.wait_for(1)
    assert json.loads(received.body)["data"]["name"] == "Committed"
    assert len(receiver.requests) == 1


def test_500_500_200_arrives_on_the_third_attempt_with_the_same_webhook_id(staff, catalog):
    with Receiver([500, 500, 200]) as receiver:
        _, secret = register(staff, receiver.url, ["PRODUCT_UPDATED"])
        catalog["products"]["amp"].save()
        run_worker_until(settled(1))
        received = receiver.wait_for(3)
    assert [request.status for request in received] == [500, 500, 200]
    assert len({request.webhook_id for request in received}) == 1
    assert len({request.body for request in received}) == 1
    for request in received:
        verified(secret, request)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)


def test_a_400_fails_at_once_and_is_not_retried(staff, catalog):
    with Receiver([400]) as receiver:
        register(staff, receiver.url, ["PRODUCT_UPDATED"])
        catalog["products"]["amp"].save()
        run_worker_until(settled(1))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    assert delivery.last_error == "HTTP 400" and delivery.response_excerpt == "ok"
    assert len(receiver.requests) == 1


def test_429_waits_at_least_retry_after(staff, catalog):
    with Receiver([(429, {"Retry-After": "1"}), 200]) as receiver:
        register(staff, receiver.url, ["PRODUCT_UPDATED"])
        catalog["products"]["amp"].save()
        run_worker_until(settled(1))
        first, second = receiver.wait_for(2)
    assert second.at - first.at >= 1.0


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/down"


DELIVERIES = """query { webhookEndpoints(first: 5) { edges { node { id isActive disabledReason
  deliveries(first: 5, status: FAILED) { totalCount edges { node {
    id status eventType webhookId attempts lastStatusCode lastError responseExcerpt
    nextAttemptAt deliveredAt payload endpoint { id } } } } } } } }"""


def test_a_receiver_down_for_the_retry_window_leaves_a_visible_failure_then_redelivery(
    staff, catalog, users
):
    endpoint_id, secret = register(staff, closed_port_url(), ["PRODUCT_UPDATED"])
    catalog["products"]["amp"].save()
    run_worker_until(settled(1))

    endpoint = staff.data(DELIVERIES)["webhookEndpoints"]["edges"][0]["node"]
    (edge,) = endpoint["deliveries"]["edges"]
    failed = edge["node"]
    assert failed["status"] == "FAILED" and failed["attempts"] == 3
    assert failed["lastStatusCode"] is None and failed["lastError"].startswith("Connection")
    assert failed["nextAttemptAt"] is None and failed["eventType"] == "product.updated"
    assert failed["endpoint"] == {"id": endpoint_id}

    admin = Client()
    users["staff"].is_superuser = True
    users["staff"].save()
    admin.force_login(users["staff"])
    page = admin.get("/admin/webhooks/webhookdelivery/?status__exact=failed").content.decode()
    assert "Failed" in page and "Connection" in page

    with Receiver() as receiver:
        update = staff.data(
            "mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: "
            "$input) { errors { code } } }", {"input": {"id": endpoint_id, "url": receiver.url}},
        )
        assert update["updateWebhookEndpoint"]["errors"] == []
        redelivered = staff.data(
            "mutation($id: ID!) { redeliverWebhook(input: {id: $id}) { delivery { status "
            "webhookId } errors { code } } }", {"id": failed["id"]},
        )["redeliverWebhook"]
        assert redelivered["delivery"] == {"status": "PENDING", "webhookId": failed["webhookId"]}
        run_worker_until(settled(2))
        (received,) = receiver.wait_for(1)
    assert received.webhook_id == failed["webhookId"]
    assert verified(secret, received) == json.loads(failed["payload"])


def test_an_endpoint_is_disabled_after_consecutive_failures_and_the_admin_shows_why(
    staff, catalog, users, settings
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    with Receiver([400, 400]) as receiver:
        register(staff, receiver.url, ["PRODUCT_UPDATED"])
        catalog["products"]["amp"].save()
        catalog["products"]["cans"].save()
        run_worker_until(settled(2))
        endpoint = WebhookEndpoint.objects.get()
        assert not endpoint.is_active and endpoint.consecutive_failures == 2
        assert "2 deliveries in a row failed" in endpoint.disabled_reason
        assert "HTTP 400" in endpoint.disabled_reason
        catalog["products"]["novel"].save()  # a disabled endpoint gets no new deliveries
    assert WebhookDelivery.objects.count() == 2 and len(receiver.requests) == 2

    node = staff.data(DELIVERIES)["webhookEndpoints"]["edges"][0]["node"]
    assert node["isActive"] is False and node["disabledReason"] == endpoint.disabled_reason
    users["staff"].is_superuser = True
    users["staff"].save()
    admin = Client()
    admin.force_login(users["staff"])
    page = admin.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert "2 deliveries in a row failed" in page


def test_same_object_events_wait_for_the_earlier_ones(staff, catalog):
    product = catalog["products"]["amp"]
    with Receiver([500]) as receiver:
        register(staff, receiver.url, ["PRODUCT_UPDATED"])
        for name in ("v1", "v2", "v3"):
            product.name = name
            product.save()  # three transactions, three events for one object
        catalog["products"]["cans"].save()  # another object: not held back
        run_worker_until(settled(4))
        received = receiver.wait_for(5)
    names = [json.loads(request.body)["data"]["name"] for request in received]
    assert [name for name in names if name.startswith("v")] == ["v1", "v1", "v2", "v3"]


def test_a_rotated_secret_signs_beside_the_old_one_for_the_grace_period(staff, catalog):
    with Receiver() as receiver:
        endpoint_id, old = register(staff, receiver.url, ["PRODUCT_UPDATED"])
        rotate = ("mutation($id: ID!, $grace: Int) { rotateWebhookSecret(input: {id: $id, "
                  "gracePeriodSeconds: $grace}) { secret endpoint { previousSecretExpiresAt } "
                  "errors { code } } }")
        new = staff.data(rotate, {"id": endpoint_id})["rotateWebhookSecret"]["secret"]
        catalog["products"]["amp"].save()
        run_worker_until(settled(1))
        newest = staff.data(rotate, {"id": endpoint_id, "grace": 0})["rotateWebhookSecret"]
        catalog["products"]["amp"].save()
        run_worker_until(settled(2))
        during, after = receiver.wait_for(2)
    assert new != old and during.headers["webhook-signature"].count("v1,") == 2
    verified(old, during)
    verified(new, during)
    assert after.headers["webhook-signature"].count("v1,") == 1
    verified(newest["secret"], after)
    with pytest.raises(Exception, match="No matching signature"):
        verified(new, after)
    refused = staff.data(rotate, {"id": endpoint_id, "grace": -1})["rotateWebhookSecret"]
    assert refused["errors"] == [{"code": "OUT_OF_RANGE"}]


def test_send_test_webhook(staff):
    with Receiver() as receiver:
        endpoint_id, secret = register(staff, receiver.url, ["ORDER_PLACED"])
        sent = staff.data("mutation($id: ID!) { sendTestWebhook(input: {id: $id}) { delivery "
                          "{ eventType status } } }", {"id": endpoint_id})
        assert sent["sendTestWebhook"]["delivery"] == {"eventType": "webhook.test",
                                                       "status": "PENDING"}
        run_worker_until(settled(1))
        (received,) = receiver.wait_for(1)
    body = verified(secret, received)
    assert body["type"] == "webhook.test" and body["data"] == {"endpoint": {"id": endpoint_id}}


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hooks", "https://[::1]/hooks", "https://10.0.0.1/hooks",
    "https://169.254.169.254/latest/meta-data/", "https://localhost/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
])
def test_registration_refuses_addresses_inside_our_network(users, url, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    result = GraphQLClient(users["staff"]).data(
        CREATE_ENDPOINT, {"input": {"url": url, "eventTypes": ["PRODUCT_CREATED"]}}
    )["createWebhookEndpoint"]
    assert result["endpoint"] is None
    assert [(error["field"], error["code"]) for error in result["errors"]] == [
        ("url", "UNSAFE_URL")
    ]


def test_registration_requires_https_and_refuses_junk(users, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    staff = GraphQLClient(users["staff"])

    def codes(url: str, events=("PRODUCT_CREATED",)) -> list[tuple[str, str]]:
        result = staff.data(CREATE_ENDPOINT, {"input": {"url": url, "eventTypes": list(events)}})
        return [(e["field"], e["code"]) for e in result["createWebhookEndpoint"]["errors"]]

    assert codes("http://example.com/hooks") == [("url", "INSECURE_URL")]
    assert codes("ftp://example.com/") == [("url", "INVALID")]
    assert codes("https://example.com/", events=()) == [("eventTypes", "REQUIRED")]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_an_allow_listed_host_may_be_registered_and_delivered_to(staff, catalog, host,
                                                                  settings):
    settings.WEBHOOK_ALLOWED_HOSTS = [host]
    with Receiver() as receiver:
        register(staff, receiver.url.replace("127.0.0.1", host), ["PRODUCT_UPDATED"])
        catalog["products"]["amp"].save()
        run_worker_until(settled(1))
        assert len(receiver.wait_for(1)) == 1


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1", "169.254.169.254"])
def test_delivery_refuses_a_name_that_now_resolves_inside(staff, catalog, users, address,
                                                          monkeypatch, settings):
    """DNS rebinding: public at registration, internal at delivery."""
    settings.WEBHOOK_ALLOWED_HOSTS = []
    answers = {"now": "93.184.215.14"}

    def fake_getaddrinfo(host, port, *args, **kwargs):
        family = socket.AF_INET6 if ":" in answers["now"] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (answers["now"], port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    register(staff, "https://rebinding.example/hooks", ["PRODUCT_UPDATED"])
    answers["now"] = address
    catalog["products"]["amp"].save()
    run_worker_until(settled(1))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error.startswith(f"Refused: The host rebinding.example resolves to "
                                          f"{address}")


def test_only_staff_manage_webhooks(users, quick_retries):
    endpoint = WebhookEndpoint.objects.create(url="https://example.com/", secret="whsec_x",
                                              event_types=["product.created"])
    query = "{ webhookEndpoints(first: 1) { totalCount } }"
    assert error_codes(GraphQLClient().execute(query)) == ["UNAUTHENTICATED"]
    assert error_codes(GraphQLClient(users["other"]).execute(query)) == ["FORBIDDEN"]
    create = GraphQLClient(users["other"]).execute(
        CREATE_ENDPOINT, {"input": {"url": "https://example.com/", "eventTypes": ["ORDER_PLACED"]}}
    )
    assert error_codes(create) == ["FORBIDDEN"]
    node = GraphQLClient(users["other"]).execute(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": to_global_id("WebhookEndpoint", endpoint.pk)},
    )
    assert node["data"]["node"] is None


def test_an_attempt_past_its_budget_is_cut_off_and_retried(staff, catalog, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    with Receiver([(200, {}, 1.5), 200]) as receiver:
        register(staff, receiver.url, ["PRODUCT_UPDATED"])
        catalog["products"]["amp"].save()
        run_worker_until(settled(1))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    first, second = sorted(receiver.wait_for(2), key=lambda request: request.at)
    assert second.at - first.at < 1.2  # the first attempt did not wait for its answer


def test_pending_deliveries_of_a_disabled_endpoint_fail_unsent(staff, catalog):
    with Receiver() as receiver:
        register(staff, receiver.url, ["PRODUCT_UPDATED"])
        with transaction.atomic():
            catalog["products"]["amp"].save()
            WebhookEndpoint.objects.update(is_active=False)
        run_worker_until(settled(1))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 0)
    assert delivery.last_error == "Not sent: the endpoint is disabled."
    assert receiver.requests == []  # settled without a request: nothing more can come


def test_webhooks_recover_enqueues_a_delivery_whose_task_was_lost(staff, catalog):
    from django.core.management import call_command
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    with Receiver() as receiver:
        register(staff, receiver.url, ["PRODUCT_UPDATED"])
        catalog["products"]["amp"].save()
        DBTaskResult.objects.all().delete()  # as if the process died before enqueuing
        WebhookDelivery.objects.update(next_attempt_at=timezone.now()
                                       - timezone.timedelta(minutes=2))
        call_command("webhooks_recover")
        run_worker_until(settled(1))
        assert len(receiver.wait_for(1)) == 1


def test_retry_delays_and_retry_after(settings):
    import datetime

    from webhooks.retry import is_retryable, next_delay, retry_after_seconds

    settings.WEBHOOK_RETRY_SCHEDULE = [5.0, 60.0]
    settings.WEBHOOK_RETRY_JITTER = 0.2
    assert all(4.0 <= next_delay(1, None) <= 6.0 for _ in range(50))
    assert 48.0 <= next_delay(2, None) <= 72.0 and next_delay(3, None) is None
    assert next_delay(1, 120.0) == 120.0  # later, never earlier
    assert next_delay(1, 10 * 86400.0) == 86400.0  # but not beyond a day
    now = datetime.datetime(2027, 1, 1, 9, 0, tzinfo=datetime.UTC)
    assert retry_after_seconds("30", now) == 30.0
    assert retry_after_seconds("Fri, 01 Jan 2027 09:01:00 GMT", now) == 60.0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None
    assert [is_retryable(s) for s in (None, 429, 500, 503, 400, 404, 301)] == [
        True, True, True, True, False, False, False]


def test_address_kinds():
    from webhooks.safety import address_kind

    assert address_kind("8.8.8.8") is None and address_kind("2606:4700::1111") is None
    assert [address_kind(a) for a in ("127.0.0.1", "::1", "10.1.2.3", "192.168.0.1",
                                      "169.254.169.254", "fd00:ec2::254", "169.254.1.1",
                                      "100.64.0.1", "0.0.0.0", "::ffff:10.0.0.1")] == [
        "loopback", "loopback", "private", "private", "cloud metadata", "cloud metadata",
        "link-local", "non-public", "unspecified", "private"]


def test_a_page_of_deliveries_costs_the_same_queries_for_2_and_20(staff, catalog):
    from tests.conftest import count_queries

    register(staff, closed_port_url(), ["PRODUCT_UPDATED"])
    query = ("query($first: Int!) { webhookEndpoints(first: 1) { edges { node { "
             "deliveries(first: $first) { edges { node { eventType webhookId payload "
             "status endpoint { url } } } } } } } }")
    for _ in range(20):
        catalog["products"]["amp"].save()
    few, _ = count_queries(staff, query, {"first": 2})
    many, data = count_queries(staff, query, {"first": 20})
    edges = data["webhookEndpoints"]["edges"][0]["node"]["deliveries"]["edges"]
    assert len(edges) == 20 and few == many
    assert {edge["node"]["endpoint"]["url"] for edge in edges} == {
        WebhookEndpoint.objects.get().url}
