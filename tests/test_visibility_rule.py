"""The visibility rule's two forms agree: the SQL filter and the in-memory test.

For every kind of viewer (anonymous, a signed-in user, a product's creator, staff, and
inactive accounts, who are neither signed in nor staff) and every state of a product
(published or draft), `Product.objects.visible_to(viewer)` contains the product exactly when
`Product.objects.is_visible_to(viewer, product)` says so, and both match the rule as stated.
"""
from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from products.models import Product

# Who should see a product (published, draft): the rule as the docs state it.
EXPECTED = {
    "anonymous": (True, False),
    "other": (True, False),
    "creator": (True, True),
    "staff": (True, True),
    "inactive staff": (True, False),
    "inactive creator": (True, False),
}


@pytest.fixture
def viewers(users):
    model = get_user_model()
    inactive_staff = model.objects.create_user("gone-staff", is_staff=True, is_active=False)
    inactive_creator = model.objects.create_user("gone-creator", is_active=False)
    return {"anonymous": AnonymousUser(), "other": users["other"], "creator": users["creator"],
            "staff": users["staff"], "inactive staff": inactive_staff,
            "inactive creator": inactive_creator}


@pytest.mark.django_db
def test_the_sql_filter_and_the_in_memory_test_agree_for_every_viewer_and_state(
        catalog, viewers):
    category = catalog["categories"]["books"]
    for name, published in itertools.product(EXPECTED, (True, False)):
        creator = viewers["inactive creator"] if name == "inactive creator" else \
            viewers["creator"]
        product = Product.objects.create(name=f"{name} {published}", price=1, category=category,
                                         is_published=published, created_by=creator)
        viewer = viewers[name]
        in_sql = Product.objects.visible_to(viewer).filter(pk=product.pk).exists()
        in_memory = Product.objects.is_visible_to(viewer, product)
        expected = EXPECTED[name][0 if published else 1]
        assert in_sql == in_memory == expected, (name, published, in_sql, in_memory)
