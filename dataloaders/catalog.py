"""Loaders for the category tree and products, each keyed by what it batches.

Product loaders take the viewer from the request context and go through
`Product.objects.visible_to`, so a loader never reveals a product the viewer may not see.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, F, Window
from django.db.models.functions import RowNumber

from accounts.viewer import is_signed_in
from dataloaders.loader import Loader
from dataloaders.rows import lean_rows
from products.models import Category, Favorite, Product, ProductImage, Review

User = get_user_model()
CATEGORY_COLUMNS = tuple(field.attname for field in Category._meta.concrete_fields)
IMAGE_COLUMNS = tuple(field.attname for field in ProductImage._meta.concrete_fields)


class CategoryByIdLoader(Loader):
    def batch_load(self, keys: list[Any]) -> list[Any]:
        rows = lean_rows(Category.objects.filter(pk__in=keys).order_by(), CATEGORY_COLUMNS)
        categories = {category.pk: category for category in rows}
        return [categories.get(key) for key in keys]


def prime_categories(loader: CategoryByIdLoader, categories: Iterable[Category]) -> None:
    """Remember categories fetched another way, so walking the tree up costs no query."""
    for category in categories:
        loader.prime(category.pk, category)


class CategoryChildrenLoader(Loader):
    """Parent category id → its children, by name."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        children: defaultdict[int | None, list[Category]] = defaultdict(list)
        found = lean_rows(Category.objects.filter(parent_id__in=keys), CATEGORY_COLUMNS)
        prime_categories(self.registry.get(CategoryByIdLoader), found)
        for category in found:
            children[category.parent_id].append(category)
        return [children[key] for key in keys]


class ProductByIdLoader(Loader):
    """Product id → the product if the viewer may see it, else None."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        products = Product.objects.visible_to(self.context.user).in_bulk(keys)
        return [products.get(key) for key in keys]


class ReviewByIdLoader(Loader):
    """Review id → the review if the viewer may see it (that of its product), else None."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        reviews = Review.objects.visible_to(self.context.user).order_by().in_bulk(keys)
        return [reviews.get(key) for key in keys]


class ProductImageByIdLoader(Loader):
    """Image id → the image if the viewer may see its product, else None."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        visible = Product.objects.visible_to(self.context.user)
        images = ProductImage.objects.filter(product__in=visible).order_by().in_bulk(keys)
        return [images.get(key) for key in keys]


class ProductImagesLoader(Loader):
    """Product id → its images, primary first."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        images: defaultdict[int, list[ProductImage]] = defaultdict(list)
        # Ordered by the product's id, not by "product" (Meta.ordering): that would join the
        # product table to sort by its own ordering.
        rows = ProductImage.objects.filter(product_id__in=keys).order_by(
            "product_id", "-is_primary", "position", "pk"
        )
        for image in lean_rows(rows, IMAGE_COLUMNS):
            images[image.product_id].append(image)
        return [images[key] for key in keys]


class ReviewStatsLoader(Loader):
    """Product id → (average rating or None, review count), aggregated for these ids only."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        rows = (
            Review.objects.filter(product_id__in=keys)
            .values("product_id")
            .annotate(average=Avg("rating"), count=Count("id"))
            .order_by()
        )
        stats = {row["product_id"]: (row["average"], row["count"]) for row in rows}
        return [stats.get(key, (None, 0)) for key in keys]


class ReviewPageLoader(Loader):
    """(product id, PageRequest, columns, author columns) → that product's page of reviews,
    newest first, with those columns (and their authors with theirs, joined).

    One query for every product of the level asked the same page: ROW_NUMBER() partitioned by
    product, over the rows past the page's cursors. A joined author is
    attached to its review (`review.author`), so `author { ... }` costs neither a query nor
    a wait; with no author columns, nothing is joined.
    """

    def batch_load(self, keys: list[Any]) -> list[Any]:
        ids_by_page: defaultdict[tuple[Any, ...], set[int]] = defaultdict(set)
        for product_id, *page in keys:
            ids_by_page[tuple(page)].add(product_id)
        pages: dict[Any, Any] = {}
        for (request, columns, author_columns), product_ids in ids_by_page.items():
            fetched: defaultdict[int, list[Review]] = defaultdict(list)
            numbered = request.seek(Review.objects.filter(product_id__in=product_ids)).annotate(
                position=Window(
                    RowNumber(), partition_by=[F("product_id")], order_by=request.window_order()
                )
            )
            start = request.offset
            window = numbered.filter(position__gt=start, position__lte=start + request.fetch)
            related = {"author": (User, author_columns)} if author_columns else {}
            for review in lean_rows(window.order_by("product_id", "position"), columns, related):
                fetched[review.product_id].append(review)
            for product_id in product_ids:
                pages[product_id, request, columns, author_columns] = request.page(
                    fetched[product_id]
                )
        return [pages[key] for key in keys]


class FavoritedLoader(Loader):
    """Product id → whether the viewer has favorited it."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        user = self.context.user
        if not is_signed_in(user):
            return [False] * len(keys)
        favorited = set(
            Favorite.objects.filter(user=user, product_id__in=keys).values_list(
                "product_id", flat=True
            )
        )
        return [key in favorited for key in keys]


class RelatedProductsLoader(Loader):
    """(product id, category id, first) → up to `first` visible products of that category."""

    def batch_load(self, keys: list[Any]) -> list[Any]:
        limit_by_category: defaultdict[int, int] = defaultdict(int)
        for _, category_id, first in keys:
            # One extra per category, since each product drops itself from the list.
            limit_by_category[category_id] = max(limit_by_category[category_id], first + 1)
        candidates: defaultdict[int, list[Product]] = defaultdict(list)
        numbered = (
            Product.objects.visible_to(self.context.user)
            .filter(category_id__in=limit_by_category)
            .annotate(
                position=Window(
                    RowNumber(),
                    partition_by=[F("category_id")],
                    order_by=[F("popularity_score").desc(), F("id").desc()],
                )
            )
            .filter(position__lte=max(limit_by_category.values()))
            .order_by("category_id", "position")
        )
        for product in numbered:
            candidates[product.category_id].append(product)
        return [
            [p for p in candidates[category_id] if p.pk != product_id][:first]
            for product_id, category_id, first in keys
        ]
