"""Caching: HTTP headers clients and CDNs can use, and the server-side cache of public responses.

Public responses revalidate to 304; responses that depend on the viewer, carry errors, or
come from a mutation are never shared; a commit invalidates what it changed, so the next GET
or POST shows it, in one process and across two processes sharing a real Redis.
"""
from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from graphql_relay import to_global_id

from accounts.models import ApiKey
from products.models import Product
from tests.live_server import start_server

pytest_plugins = ["tests.live_server"]

NAMES = "query Names { products(first: 50) { edges { node { name price } } } }"
FAVORITES = "{ products(first: 5) { edges { node { name isFavorited } } } }"


def get(client: Client, query: str, **headers):
    return client.get("/graphql/", {"query": query}, HTTP_ACCEPT="application/json", **headers)


def post(client: Client, query: str, **headers):
    return client.post("/graphql/", {"query": query}, content_type="application/json",
                       HTTP_ACCEPT="application/json", **headers)


def names(response) -> list[str]:
    body = response.json()
    assert "errors" not in body, body
    return [edge["node"]["name"] for edge in body["data"]["products"]["edges"]]


@pytest.mark.django_db
def test_a_public_get_query_is_cacheable_and_revalidates_to_304(catalog):
    client = Client()
    first = get(client, NAMES)
    assert first.status_code == 200
    assert first["Cache-Control"] == "public, max-age=60, stale-while-revalidate=30"
    assert first["ETag"].startswith('W/"')
    vary = {part.strip() for part in first["Vary"].split(",")}
    assert {"Accept", "Authorization", "X-API-Key", "Cookie"} <= vary
    again = get(client, NAMES, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


@pytest.mark.django_db
def test_responses_that_may_not_be_shared_say_so(catalog, users):
    anonymous = Client()
    assert get(anonymous, FAVORITES)["Cache-Control"] == "private, no-cache"  # per-viewer field
    assert get(anonymous, "{ nope }")["Cache-Control"] == "no-store"  # an error
    assert post(anonymous, NAMES)["Cache-Control"] == "no-store"  # not a GET
    signed_in = Client()
    signed_in.force_login(users["other"])
    assert get(signed_in, NAMES)["Cache-Control"] == "private, no-cache"


@pytest.mark.django_db
def test_a_cached_public_answer_is_never_served_to_another_viewer_class(catalog, users, caplog):
    caplog.set_level("INFO", logger="vitrine.requests")
    anonymous = names(get(Client(), NAMES))
    assert names(get(Client(), NAMES)) == anonymous
    hits = [record.graphql["cache"] for record in caplog.records
            if record.name == "vitrine.requests"]
    assert hits == ["miss", "hit"]  # the hit ratio, in the request log
    draft = catalog["products"]["draft"].name
    assert draft not in anonymous
    for viewer in ("creator", "staff"):  # both see the draft: never the anonymous entry
        client = Client()
        client.force_login(users[viewer])
        assert draft in names(get(client, NAMES)), viewer
    key = ApiKey.issue(users["staff"], "cache")[1]
    assert draft in names(get(Client(), NAMES, HTTP_X_API_KEY=key))
    caplog.clear()
    favorites = Client()
    favorites.force_login(users["other"])
    get(favorites, FAVORITES)
    assert [record.graphql["cache"] for record in caplog.records
            if record.name == "vitrine.requests"] == [None]  # not consulted


@pytest.mark.django_db
def test_a_cached_answer_keeps_the_image_urls_of_its_own_host(catalog, settings):
    settings.MEDIA_BASE_URL = ""  # image URLs absolute on the request's host
    query = '{ product(slug: "%s") { images { url } } }' % catalog["products"]["cans"].slug

    def urls(host: str) -> list[str]:
        body = get(Client(), query, HTTP_HOST=host).json()
        return [image["url"] for image in body["data"]["product"]["images"]]

    assert urls("testserver")[0].startswith("http://testserver/")
    assert urls("localhost")[0].startswith("http://localhost/")
    assert urls("testserver")[0].startswith("http://testserver/")


@pytest.mark.django_db(transaction=True)
def test_after_update_product_the_next_get_and_post_show_the_new_price(catalog, users):
    amp = catalog["products"]["amp"]
    client = Client()
    price = "query P($id: ID!) { product(id: $id) { price } }"
    variables = {"id": to_global_id("Product", amp.pk)}

    def current(method) -> str:
        if method == "GET":
            response = client.get("/graphql/", {"query": price,
                                                "variables": json.dumps(variables)})
        else:
            response = client.post("/graphql/", {"query": price, "variables": variables},
                                   content_type="application/json")
        return response.json()["data"]["product"]["price"]

    assert current("GET") == current("POST") == str(amp.price)
    key = ApiKey.issue(users["staff"], "cache")[1]
    Client().post("/graphql/", {
        "query": "mutation U($input: UpdateProductInput!) { updateProduct(input: $input) "
                 "{ product { price } } }",
        "variables": {"input": {"id": variables["id"], "price": "42.00"}},
    }, content_type="application/json", HTTP_X_API_KEY=key)
    amp.refresh_from_db()
    assert amp.price == Decimal("42.00")
    assert current("GET") == current("POST") == "42.00"


def _get(server, query: str) -> dict:
    url = server.graphql_url + "?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(urllib.request.Request(
            url, headers={"Accept": "application/json"}), timeout=10) as response:
        return json.load(response)


@pytest.mark.django_db(transaction=True)
def test_an_update_through_one_process_is_seen_by_the_next_request_to_another(
        catalog, users, redis_server, django_db_setup):
    database = connection.settings_dict["NAME"]
    servers = [start_server(database, {"REDIS_URL": redis_server.url}) for _ in range(2)]
    try:
        query = '{ product(slug: "%s") { price } }' % catalog["products"]["novel"].slug
        assert _get(servers[0], query) == _get(servers[0], query)  # cached on A
        key = ApiKey.issue(users["staff"], "cache")[1]
        request = urllib.request.Request(servers[1].graphql_url, method="POST", data=json.dumps({
            "query": "mutation U($input: UpdateProductInput!) { updateProduct(input: $input) "
                     "{ product { price } } }",
            "variables": {"input": {"id": to_global_id("Product", catalog["products"]["novel"].pk),
                                    "price": "7.77"}},
        }).encode(), headers={"Content-Type": "application/json", "X-API-Key": key})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert "errors" not in json.load(response)
        committed = time.monotonic()
        assert _get(servers[0], query)["data"]["product"]["price"] == "7.77"
        assert time.monotonic() - committed < 1
        assert Product.objects.get(pk=catalog["products"]["novel"].pk).price == Decimal("7.77")
    finally:
        for server in servers:
            server.stop()
