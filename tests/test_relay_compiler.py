"""Relay: relay-compiler accepts our operations against the committed schema.graphql (kept
current by test_schema_contract.py), and the server answers the queries it generated.

The operations (tests/clients/relay/src) use what a Relay app needs from a server: `node(id:)`
refetching, @connection pagination on `products` and on a product's `reviews`, @refetchable
fragments, and mutations in Relay's classic shape (`input` with a `clientMutationId` that the
payload echoes): updateProduct refreshing a fragment, addReview with @appendNode.
"""
from __future__ import annotations

import fcntl
import subprocess
from contextlib import contextmanager

import pytest
from graphql_relay import to_global_id

from products.models import Product, Review
from tests.live_server import (
    CLIENTS_DIR,
    needs_node_clients,
    require_node_clients,
    run_node,
    set_server_password,
)

pytest_plugins = ["tests.live_server"]
pytestmark = [pytest.mark.node, needs_node_clients]

ARTIFACTS = CLIENTS_DIR / "relay" / "__generated__"
EXPECTED_ARTIFACTS = {
    "ProductListQuery", "ProductList_query", "ProductListPaginationQuery",
    "ProductCard_product", "ProductCardRefetchQuery",
    "ProductReviews_product", "ProductReviewsPaginationQuery",
    "ProductPageQuery", "ProductPageBySlugQuery", "ProductPage_product",
    "ProductPageUpdateMutation", "ProductPageAddReviewMutation",
}
PASSWORD = "relay-staff-password"


@contextmanager
def artifacts_lock():
    """xdist workers share relay/__generated__: one compiles or reads it at a time."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def compile_relay() -> subprocess.CompletedProcess:
    require_node_clients()
    return subprocess.run(
        [str(CLIENTS_DIR / "node_modules" / ".bin" / "relay-compiler"),
         "--output", "quiet-with-errors"],
        cwd=CLIENTS_DIR, capture_output=True, text=True, timeout=60, check=False,
    )


def test_relay_compiler_accepts_our_operations():
    with artifacts_lock():
        compiled = compile_relay()
        artifacts = {path.name.removesuffix(".graphql.js") for path in ARTIFACTS.glob("*.js")}
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert artifacts >= EXPECTED_ARTIFACTS


@pytest.mark.django_db(transaction=True)
def test_server_answers_the_generated_queries(asgi_server, catalog):
    cans = catalog["products"]["cans"]  # two visible reviews
    with artifacts_lock():
        compiled = compile_relay()
        assert compiled.returncode == 0, compiled.stdout + compiled.stderr
        report = run_node("relay-run.mjs", asgi_server, env={
            "PRODUCT_ID": to_global_id("Product", cans.pk), "PRODUCT_SLUG": cans.slug,
        })
    results = {}
    for run in report["results"]:
        assert run["status"] == 200, run
        assert "errors" not in run["result"], run
        results.setdefault(run["operation"], []).append(run["result"]["data"])

    first_page, = results["ProductListQuery"]
    second_page, = results["ProductListPaginationQuery"]
    names = [edge["node"]["name"]
             for page in (first_page, second_page) for edge in page["products"]["edges"]]
    assert first_page["products"]["totalCount"] == 4
    assert len(names) == len(set(names)) == 4
    assert second_page["products"]["pageInfo"]["hasNextPage"] is False

    product_id = to_global_id("Product", cans.pk)
    by_id, = results["ProductPageQuery"]
    by_slug, = results["ProductPageBySlugQuery"]
    assert by_id["node"]["id"] == by_slug["product"]["id"] == product_id
    assert by_id["node"]["name"] == by_slug["product"]["name"] == cans.name
    refetched, = results["ProductCardRefetchQuery"]
    assert refetched["node"]["name"] == cans.name

    page_one, page_two = results["ProductReviewsPaginationQuery"]
    reviews = [page["node"]["reviews"] for page in (page_one, page_two)]
    assert [r["totalCount"] for r in reviews] == [2, 2]
    assert [r["pageInfo"]["hasNextPage"] for r in reviews] == [True, False]
    assert [r["edges"][0]["node"]["title"] for r in reviews] == ["Great", "Good"]


@pytest.mark.django_db(transaction=True)
def test_server_answers_the_generated_mutations(asgi_server, catalog, users):
    buds = catalog["products"]["buds"]  # no reviews yet
    staff = users["staff"]
    set_server_password(staff, PASSWORD)
    product_id = to_global_id("Product", buds.pk)
    with artifacts_lock():
        compiled = compile_relay()
        assert compiled.returncode == 0, compiled.stdout + compiled.stderr
        report = run_node("relay/run-mutations.mjs", asgi_server, env={
            "PRODUCT_ID": product_id, "USERNAME": staff.username, "PASSWORD": PASSWORD,
        })
    update, anonymous, review = report["results"]
    assert all(r["operationKind"] == "mutation" for r in report["results"])

    assert update["status"] == 200 and "errors" not in update["result"], update
    payload = update["result"]["data"]["updateProduct"]
    assert payload["clientMutationId"] == "relay-1"
    assert payload["errors"] == []
    assert payload["product"]["id"] == product_id
    assert payload["product"]["name"] == "Relay Headphones"
    # The spread fragment's fields came back too: Relay refreshes ProductPage_product.
    assert payload["product"]["reviews"]["totalCount"] == 0
    assert payload["product"]["category"]["id"] == to_global_id(
        "Category", buds.category_id)

    assert anonymous["status"] == 200, anonymous
    assert anonymous["result"]["data"] == {"updateProduct": None}
    assert [(e["extensions"]["code"], e["path"]) for e in anonymous["result"]["errors"]] == [
        ("UNAUTHENTICATED", ["updateProduct"])
    ]

    assert review["status"] == 200 and "errors" not in review["result"], review
    added = review["result"]["data"]["addReview"]
    assert added["clientMutationId"] == "relay-3"
    assert added["errors"] == []
    assert added["review"]["title"] == "Compiled by Relay"
    assert added["review"]["author"]["username"] == staff.username

    assert Product.objects.get(pk=buds.pk).name == "Relay Headphones"
    assert Review.objects.filter(product=buds, author=staff, rating=5).count() == 1
