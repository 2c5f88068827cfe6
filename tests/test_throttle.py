"""The leaky bucket: drains, refills over time, refunds, and stays exact under concurrency."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory, override_settings

from products.models import Category, Product, ProductImage, Review
from schema.client import Client
from schema.throttle import LeakyBucket
from tests.conftest import CATALOG_PAGE, error_codes
from tests.ws_live import TRANSPORT, WsClient, async_test

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_NAMES = "{ products(first: 10) { edges { node { name } } } }"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["locmem", "redis"])
def cache(request):
    if request.param == "locmem":
        backend = LocMemCache(f"throttle-test-{id(request)}", {})
    else:
        backend = RedisCache(request.getfixturevalue("redis_server").url, {})
    backend.clear()
    yield backend
    backend.clear()


def test_a_bucket_drains_and_refuses_what_does_not_fit(cache):
    bucket = LeakyBucket(cache, capacity=100, restore_rate=10, clock=Clock())
    assert bucket.take("a", 60).allowed
    refused = bucket.take("a", 50)
    assert not refused.allowed
    assert refused.status.currently_available == 40
    assert refused.retry_after == 1  # 10 missing points at 10 points/s
    assert bucket.take("a", 40).allowed
    assert bucket.peek("a").currently_available == 0
    # Another client has its own bucket.
    assert bucket.take("b", 100).allowed


def test_a_bucket_refills_at_its_restore_rate_up_to_its_size(cache):
    clock = Clock()
    bucket = LeakyBucket(cache, capacity=100, restore_rate=10, clock=clock)
    assert bucket.take("a", 100).allowed
    refused = bucket.take("a", 35)
    assert not refused.allowed and refused.retry_after == 4
    clock.now += 3
    assert bucket.peek("a").currently_available == 30
    clock.now += 0.5
    assert bucket.take("a", 35).allowed
    clock.now += 3600
    assert bucket.peek("a").currently_available == 100


def test_a_refund_gives_back_points_without_overflowing(cache):
    bucket = LeakyBucket(cache, capacity=100, restore_rate=0, clock=Clock())
    bucket.take("a", 80)
    assert bucket.refund("a", 50).currently_available == 70
    assert bucket.refund("a", 500).currently_available == 100


def test_status_reports_the_documented_fields(cache):
    bucket = LeakyBucket(cache, capacity=1000, restore_rate=50, clock=Clock())
    status = bucket.take("a", 12).status
    assert status.as_dict() == {
        "maximumAvailable": 1000, "currentlyAvailable": 988, "restoreRate": 50,
    }


def test_concurrent_threads_never_take_more_than_the_bucket(cache):
    bucket = LeakyBucket(cache, capacity=200, restore_rate=0, clock=Clock())
    allowed = []
    lock = threading.Lock()

    def worker():
        mine = sum(bucket.take("shared", 1).allowed for _ in range(50))
        with lock:
            allowed.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 200  # of 400 attempts


WORKER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from django.conf import settings
    settings.configure()
    from django.core.cache.backends.redis import RedisCache
    from schema.throttle import LeakyBucket

    bucket = LeakyBucket(RedisCache({url!r}, {{}}), capacity=300, restore_rate=0,
                         clock=lambda: 1_000_000.0)
    print(sum(bucket.take("two-processes", 1).allowed for _ in range(250)))
    """
)


def test_two_processes_share_one_bucket_through_redis(redis_server):
    RedisCache(redis_server.url, {}).clear()
    script = WORKER.format(root=str(ROOT), url=redis_server.url)
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    counts = [int(process.communicate(timeout=60)[0].strip()) for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert sum(counts) == 300  # of 500 attempts, whichever process got them
    bucket = LeakyBucket(RedisCache(redis_server.url, {}), capacity=300, restore_rate=0,
                         clock=lambda: 1_000_000.0)
    assert bucket.peek("two-processes").currently_available == 0


# -- Who is throttled -----------------------------------------------------------------------


def bucket_of(request, user=None) -> str:
    return Client.from_meta(request.META).bucket(user)


def test_client_identity_prefers_api_key_then_user_then_ip(users):
    factory = RequestFactory()
    keyed = factory.get("/graphql/", HTTP_X_API_KEY="vit_secret-key")
    identity = bucket_of(keyed, users["other"])
    assert identity.startswith("key:") and "secret" not in identity
    assert bucket_of(factory.get("/graphql/"), users["other"]) == f"user:{users['other'].pk}"
    anonymous = factory.get("/graphql/", REMOTE_ADDR="203.0.113.9")
    assert bucket_of(anonymous, None) == "ip:203.0.113.9"


def test_the_same_client_over_http_and_over_an_asgi_scope():
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.9",
            "HTTP_X_API_KEY": "vit_k"}
    scope = {"client": ("10.0.0.2", 5555), "headers": [
        (b"x-forwarded-for", b"1.1.1.1, 203.0.113.9"), (b"x-api-key", b"vit_k")]}
    with override_settings(GRAPHQL_TRUSTED_PROXIES=1):
        assert Client.from_meta(meta) == Client.from_scope(scope)
        assert Client.from_scope(scope).address == "203.0.113.9"
    assert Client.from_scope({"client": ("10.0.0.2", 1)}).with_api_key("vit_k").bucket() == (
        Client.from_meta(meta).bucket())


def test_forwarded_for_is_trusted_only_behind_configured_proxies():
    request = RequestFactory().get(
        "/graphql/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9"
    )
    assert bucket_of(request) == "ip:10.0.0.2"
    with override_settings(GRAPHQL_TRUSTED_PROXIES=1):
        assert bucket_of(request) == "ip:203.0.113.9"


# -- Over HTTP ------------------------------------------------------------------------------


@override_settings(
    GRAPHQL_THROTTLE_ADDRESS_BUCKET_SIZE=20, GRAPHQL_THROTTLE_ADDRESS_RESTORE_RATE=0.001
)
def test_a_throttled_request_gets_429_with_retry_after(gql, catalog, django_assert_num_queries):
    # Requested 12, actual 6 (4 products): each request keeps 6 points.
    first = gql.execute(PRODUCT_NAMES)
    assert first["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 14
    second = gql.execute(PRODUCT_NAMES)
    assert second["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 8
    response = gql.http.post(
        "/graphql/", {"query": PRODUCT_NAMES}, content_type="application/json"
    )
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 3000 <= retry_after <= 4000  # 4 points missing at 0.001 points/s
    body = response.json()
    assert error_codes(body) == ["THROTTLED"]
    assert body["errors"][0]["extensions"]["retryAfter"] == retry_after
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 12
    assert cost["throttleStatus"]["maximumAvailable"] == 20
    # A cheaper query still fits.
    assert "errors" not in gql.execute("{ categories { name } }")  # costs 5


@override_settings(GRAPHQL_THROTTLE_BUCKET_SIZE=20, GRAPHQL_THROTTLE_RESTORE_RATE=0.001)
def test_buckets_are_per_client(catalog, viewers):
    for _ in range(3):
        viewers["other"].execute(PRODUCT_NAMES)
    assert error_codes(viewers["other"].execute(PRODUCT_NAMES)) == ["THROTTLED"]
    assert "errors" not in viewers["creator"].execute(PRODUCT_NAMES)


@override_settings(GRAPHQL_THROTTLE_ENABLED=False)
def test_throttling_can_be_turned_off(gql, catalog):
    result = gql.execute(PRODUCT_NAMES)
    assert result["extensions"]["cost"] == {"requestedQueryCost": 12, "actualQueryCost": 6}


def test_an_unreachable_throttle_cache_lets_requests_through(gql, catalog, monkeypatch):
    from schema import throttle

    def broken_bucket(identity):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(throttle, "get_bucket", broken_bucket)
    result = gql.execute(PRODUCT_NAMES)
    assert "errors" not in result
    assert "throttleStatus" not in result["extensions"]["cost"]


# -- Over the websocket ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@async_test
async def test_each_websocket_operation_draws_from_the_throttle_bucket(catalog, settings):
    settings.GRAPHQL_THROTTLE_ADDRESS_BUCKET_SIZE = 3
    settings.GRAPHQL_THROTTLE_ADDRESS_RESTORE_RATE = 0.001
    client = await WsClient(TRANSPORT).open()
    codes = []
    for op_id in "abcd":
        await client.send({"id": op_id, "type": "subscribe", "payload": {
            "query": "{ me { id } }",  # costs 1 point
        }})
        message = await client.receive()
        if message["type"] == "next":
            assert await client.receive() == {"id": op_id, "type": "complete"}
            codes.append("ok")
        else:
            codes.append(message["payload"][0]["extensions"]["code"])
    assert codes == ["ok", "ok", "ok", "THROTTLED"]
    await client.close()


# -- Sized for a storefront -----------------------------------------------------------------




@pytest.fixture
def full_pages(users):
    """120 products, each with 5 images and 5 reviews: every page is as costly as it may be,
    so refunds give nothing back and the bucket alone must carry the load."""
    category = Category.objects.create(name="Lamps", slug="lamps")
    products = Product.objects.bulk_create(
        Product(name=f"Lamp {index}", slug=f"lamp-{index}", price=Decimal("10.00"), stock=3,
                is_published=True, category=category)
        for index in range(120)
    )
    ProductImage.objects.bulk_create(
        ProductImage(product=product, image=f"p/{product.slug}-{n}.png", position=n,
                     is_primary=n == 0)
        for product in products for n in range(5)
    )
    authors = list(users.values())
    authors += [get_user_model().objects.create_user(f"reader{n}") for n in range(2)]
    Review.objects.bulk_create(
        Review(product=product, author=author, rating=4, title="Bright")
        for product in products for author in authors
    )


def test_one_anonymous_client_loads_the_catalog_page_20_times_in_a_minute(gql, full_pages):
    """Back to back, the worst case of "20 in 60 s": nothing has restored in between."""
    for _ in range(20):
        result = gql.execute(CATALOG_PAGE, {"first": 50})
        assert "errors" not in result, result["errors"]
        assert len(result["data"]["products"]["edges"]) == 50
        cost = result["extensions"]["cost"]
        assert cost["actualQueryCost"] == cost["requestedQueryCost"] == 952


def test_the_largest_page_is_served(gql, full_pages):
    result = gql.execute(CATALOG_PAGE, {"first": 100})
    assert "errors" not in result, result["errors"]
    assert len(result["data"]["products"]["edges"]) == 100
    assert result["extensions"]["cost"]["requestedQueryCost"] == 1902


def test_anonymous_visitors_share_their_address_but_signed_in_users_do_not(catalog, viewers):
    anonymous = viewers["anonymous"].execute(PRODUCT_NAMES)["extensions"]["cost"]
    signed_in = viewers["other"].execute(PRODUCT_NAMES)["extensions"]["cost"]
    assert anonymous["throttleStatus"]["maximumAvailable"] == 20_000
    assert signed_in["throttleStatus"]["maximumAvailable"] == 10_000
