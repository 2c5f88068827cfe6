"""Shared fixtures: a small known catalog, the four kinds of viewer, and a GraphQL client."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from products.models import Category, Product, ProductImage, Review


def pytest_configure(config):
    from django.conf import settings

    # Real hashing costs ~0.3 s a user on this machine; tests only need it to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class GraphQLClient:
    """Posts GraphQL over HTTP through Django's test client, optionally signed in."""

    def __init__(self, user=None) -> None:
        self.http = Client()
        if user is not None:
            self.http.force_login(user)

    def execute(self, query: str, variables: dict[str, Any] | None = None, **extra) -> dict:
        response = self.http.post(
            "/graphql/",
            {"query": query, "variables": variables or {}},
            content_type="application/json",
            **extra,
        )
        assert response["Content-Type"].startswith("application/json"), response.content[:200]
        return response.json()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict:
        """The data of a query that must succeed."""
        result = self.execute(query, variables)
        assert "errors" not in result, result["errors"]
        return result["data"]


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Throttle buckets and persisted queries live in Django's cache: none leak across tests."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
    yield


# The README's catalog page: what a storefront loads, what the cost model is sized for.
CATALOG_PAGE = """query CatalogPage($first: Int!) {
  products(first: $first) { edges { node {
    id name slug price
    category { name slug }
    images { url altText }
    reviews(first: 5) { edges { node { rating title author { username } } } }
  } } }
}"""


def count_queries(client: GraphQLClient, query: str, variables=None) -> tuple[int, dict]:
    """SQL statements a query costs, and its data (which must have no errors)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        data = client.data(query, variables)
    return len(captured), data


def error_codes(result: dict) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


@pytest.fixture
def users(db):
    User = get_user_model()
    return {
        "creator": User.objects.create_user("creator", "creator@example.com", "pw"),
        "other": User.objects.create_user("other", "other@example.com", "pw"),
        "staff": User.objects.create_user("staff", "staff@example.com", "pw", is_staff=True),
    }


@pytest.fixture
def viewers(users):
    """A GraphQL client per kind of viewer the visibility rule distinguishes."""
    return {
        "anonymous": GraphQLClient(),
        "other": GraphQLClient(users["other"]),
        "creator": GraphQLClient(users["creator"]),
        "staff": GraphQLClient(users["staff"]),
    }


@pytest.fixture
def gql(db) -> GraphQLClient:
    return GraphQLClient()


@pytest.fixture
def catalog(users):
    """Electronics > Audio > Headphones, plus Books; published products and one draft."""
    electronics = Category.objects.create(name="Electronics", slug="electronics")
    audio = Category.objects.create(name="Audio", slug="audio", parent=electronics)
    headphones = Category.objects.create(name="Headphones", slug="headphones", parent=audio)
    books = Category.objects.create(name="Books", slug="books")

    def product(name, category, price, stock=5, published=True, popularity=0.0):
        return Product.objects.create(
            name=name, description=f"The {name}.", price=Decimal(price), stock=stock,
            is_published=published, popularity_score=popularity, category=category,
            created_by=users["creator"],
        )

    items = {
        "amp": product("Tube Amplifier", audio, "499.00", popularity=50),
        "cans": product("Studio Headphones", headphones, "199.00", popularity=90),
        "buds": product("Wireless Earbuds", headphones, "99.00", stock=0, popularity=70),
        "novel": product("Mystery Novel", books, "15.00", popularity=10),
        "draft": product("Secret Prototype", headphones, "999.00", published=False, popularity=99),
    }
    ProductImage.objects.create(product=items["cans"], image="p/cans.jpg", alt_text="Cans",
                                is_primary=True)
    Review.objects.create(product=items["cans"], author=users["other"], rating=4, title="Good")
    Review.objects.create(product=items["cans"], author=users["staff"], rating=5, title="Great")
    Review.objects.create(product=items["draft"], author=users["staff"], rating=1, title="Hidden")
    return {
        "categories": {"electronics": electronics, "audio": audio, "headphones": headphones,
                       "books": books},
        "products": items,
    }
