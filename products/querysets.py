"""Querysets holding the catalog's read rules.

`ProductQuerySet.visible_to` is *the* visibility rule: every read path (lists, node lookup,
search, related and popular products, category product lists, loaders, subscriptions, admin)
goes through it, so a hidden product is indistinguishable from a missing one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser


def is_staff(user: AbstractUser | AnonymousUser | None) -> bool:
    return bool(user is not None and user.is_active and user.is_staff)


class ProductQuerySet(models.QuerySet):
    def visible_to(self, user: AbstractUser | AnonymousUser | None) -> ProductQuerySet:
        """Published products for everyone, own drafts for their creator, all for staff."""
        if is_staff(user):
            return self
        if user is not None and user.is_authenticated:
            return self.filter(Q(is_published=True) | Q(created_by=user))
        return self.filter(is_published=True)

    def is_visible_to(self, user: AbstractUser | AnonymousUser | None, product) -> bool:
        """The same rule for a product already in memory (no query)."""
        if product.is_published or is_staff(user):
            return True
        return bool(user is not None and user.is_authenticated and product.created_by_id == user.pk)

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
