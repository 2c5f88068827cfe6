"""Querysets holding the catalog's read rules.

`ProductQuerySet.visible_to` and `is_visible_to` are the catalog's visibility rule
(products/visibility.py) as queryset methods: every read path goes through them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from products import visibility

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser


class ProductQuerySet(models.QuerySet):
    def visible_to(self, user: AbstractUser | AnonymousUser | None) -> ProductQuerySet:
        """Published products for everyone, own drafts for their creator, all for staff."""
        return visibility.visible(self, user)

    def is_visible_to(self, user: AbstractUser | AnonymousUser | None, product) -> bool:
        """The same rule for a product already in memory (no query)."""
        return visibility.can_see(user, product)

    def search(self, text: str) -> ProductQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(name__icontains=text)
            | Q(description__icontains=text)
            | Q(category__name__icontains=text)
        )

    def in_stock(self, value: bool = True) -> ProductQuerySet:
        return self.filter(stock__gt=0) if value else self.filter(stock=0)


class ReviewQuerySet(models.QuerySet):
    def visible_to(self, user: AbstractUser | AnonymousUser | None) -> ReviewQuerySet:
        """Reviews are as visible as the product they review."""
        products: ProductQuerySet = ProductQuerySet(
            self.model._meta.get_field("product").related_model
        )
        return self.filter(product__in=products.visible_to(user).values("pk"))


class CategoryQuerySet(models.QuerySet):
    def roots(self) -> CategoryQuerySet:
        return self.filter(parent__isnull=True)

    def descendant_ids(self, category_id: int) -> set[int]:
        """The category and everything under it, one query per tree level."""
        found = {category_id}
        frontier = [category_id]
        while frontier:
            children = self.filter(parent_id__in=frontier).exclude(pk__in=found)
            frontier = list(children.values_list("pk", flat=True))
            found.update(frontier)
        return found
