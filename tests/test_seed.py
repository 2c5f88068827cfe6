"""`seed_catalog` is deterministic for a seed and safe to run twice."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from orders.models import Order, OrderItem
from products.models import Category, Favorite, Product, ProductImage, Review

MODELS = [get_user_model(), Category, Product, ProductImage, Review, Favorite, Order, OrderItem]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """The seed writes image files: not into the project's var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def seed(seed: int = 7, products: int = 60) -> None:
    call_command("seed_catalog", seed=seed, products=products, users=6, quiet=True)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def products() -> list[tuple]:
    """The seeded products in creation order, without database ids."""
    return list(
        Product.objects.order_by("pk").values_list(
            "name", "slug", "price", "stock", "is_published", "popularity_score",
            "category__slug", "created_by__username",
        )
    )


def reset_catalog() -> None:
    """Delete what the seed created, so the next run starts from an empty catalog."""
    Order.objects.all().delete()
    Product.objects.all().delete()
    while Category.objects.exists():  # leaves first: a parent is protected by its children
        Category.objects.filter(children__isnull=True).delete()
    get_user_model().objects.all().delete()


def test_seed_creates_the_requested_catalog():
    seed()
    assert Product.objects.count() == 60
    assert get_user_model().objects.filter(username__startswith="shopper").count() == 5
    assert get_user_model().objects.filter(username__in=["demo", "staff"]).count() == 2
    assert Product.objects.filter(is_published=False).exists()
    assert Category.objects.filter(parent__isnull=True).count() == 4
    for model in (ProductImage, Review, Favorite, Order, OrderItem):
        assert model.objects.exists(), model.__name__


def test_seed_twice_adds_nothing_the_second_time():
    seed()
    first = counts()
    seed()
    assert counts() == first


def test_same_seed_reproduces_the_same_products():
    seed()
    first = products()
    reset_catalog()
    assert Product.objects.count() == 0
    seed()
    assert products() == first


def test_different_seed_gives_different_products():
    seed(7)
    first = products()
    reset_catalog()
    seed(8)
    second = products()
    assert len(second) == len(first)
    assert [row[:3] for row in second] != [row[:3] for row in first]
