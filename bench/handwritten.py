"""The practical ceiling: the catalog page as a hand-written view, in three queries.

Returns exactly the JSON the GraphQL catalog page query returns for an anonymous viewer.
"""
from __future__ import annotations

from collections import defaultdict

import orjson
from django.core.files.storage import default_storage
from django.db.models import Avg, Count, F, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse

from products.models import Product, ProductImage, Review


def catalog_page(request: HttpRequest) -> HttpResponse:
    first = int(request.GET.get("first", 50))
    products = list(
        Product.objects.visible_to(request.user).values_list(
            "id", "name", "slug", "price", "stock", "is_published",
            "category__name", "category__slug",
        )[:first]
    )
    ids = [row[0] for row in products]

    images = defaultdict(list)
    for product_id, name, alt_text in ProductImage.objects.filter(
        product_id__in=ids
    ).values_list("product_id", "image", "alt_text"):
        images[product_id].append({"url": default_storage.url(name), "altText": alt_text})

    by_product = Window(Avg("rating"), partition_by=[F("product_id")])
    reviews, stats = defaultdict(list), {}
    for product_id, rating, title, username, average, count in (
        Review.objects.filter(product_id__in=ids)
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("product_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            ),
            average=by_product,
            count=Window(Count("id"), partition_by=[F("product_id")]),
        )
        .filter(position__lte=5)
        .values_list("product_id", "rating", "title", "author__username", "average", "count")
        .order_by("product_id", "position")
    ):
        stats[product_id] = (average, count)
        reviews[product_id].append(
            {"node": {"rating": rating, "title": title, "author": {"username": username}}}
        )

    edges = []
    for product_id, name, slug, price, stock, published, category, category_slug in products:
        average, count = stats.get(product_id, (None, 0))
        edges.append({"node": {
            "name": name, "slug": slug, "price": str(price),
            "isAvailable": published and stock > 0,
            "avgRating": average, "reviewCount": count,
            "category": {"name": category, "slug": category_slug},
            "images": images[product_id],
            "reviews": {"edges": reviews[product_id]},
        }})
    body = orjson.dumps({"data": {"products": {"edges": edges}}})
    return HttpResponse(body, content_type="application/json")
