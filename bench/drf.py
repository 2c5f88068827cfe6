"""The Django REST framework baseline: the catalog page as a DRF user writes it.

Nested `ModelSerializer`s over one product queryset: the category joined
(`select_related`), the review aggregates annotated, the images and the five newest reviews
(with their authors joined) prefetched — a sliced `Prefetch`, which Django (4.2+) runs as one
query with a ROW_NUMBER() window. Three queries per page, DRF's own `JSONRenderer`,
anonymous (no authentication, no throttle). `?first=N` (1 to 100, default 50) takes the first
N visible products in the catalog's default order, as `products(first: N)` does.

DRF names fields in snake_case and has no connections; `bench.run` maps the JSON to the
GraphQL query's shape (`as_graphql_data`) and checks it equals the other scenarios' data.
"""
from __future__ import annotations

from django.db.models import Avg, Count, Prefetch
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import BasePagination
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from products.models import Category, Product, ProductImage, Review


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["name", "slug"]


class ImageSerializer(serializers.ModelSerializer):
    # Absolute: the storage's URL (MEDIA_BASE_URL) or else resolved against the request.
    url = serializers.ImageField(source="image", read_only=True)

    class Meta:
        model = ProductImage
        fields = ["url", "alt_text"]


class AuthorSerializer(serializers.Serializer):
    username = serializers.CharField(read_only=True)


class ReviewSerializer(serializers.ModelSerializer):
    author = AuthorSerializer(read_only=True)

    class Meta:
        model = Review
        fields = ["rating", "title", "author"]


class ProductSerializer(serializers.ModelSerializer):
    # Declared: the one DRF derives warns that the model's MinValueValidator(0.01) is a float.
    price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    is_available = serializers.BooleanField(read_only=True)
    avg_rating = serializers.FloatField(read_only=True, allow_null=True)
    review_count = serializers.IntegerField(read_only=True)
    category = CategorySerializer(read_only=True)
    images = ImageSerializer(many=True, read_only=True)
    reviews = ReviewSerializer(many=True, read_only=True, source="latest_reviews")

    class Meta:
        model = Product
        fields = [
            "name", "slug", "price", "is_available", "avg_rating", "review_count",
            "category", "images", "reviews",
        ]


class FirstPagination(BasePagination):
    """`?first=N`: the first N rows, as a plain list (no count query, no envelope)."""

    default, maximum = 50, 100

    def paginate_queryset(self, queryset, request, view=None):
        try:
            first = int(request.query_params.get("first", self.default))
        except ValueError:
            first = self.default
        return list(queryset[: max(1, min(first, self.maximum))])

    def get_paginated_response(self, data):
        return Response(data)


class CatalogPage(ListAPIView):
    serializer_class = ProductSerializer
    pagination_class = FirstPagination
    renderer_classes = [JSONRenderer]
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get_queryset(self):
        newest_reviews = Review.objects.select_related("author").order_by("-created_at", "-pk")
        return (
            Product.objects.visible_to(self.request.user)
            .select_related("category")
            # distinct: a second to-many join (images, say) would multiply a plain count.
            .annotate(avg_rating=Avg("reviews__rating"),
                      review_count=Count("reviews", distinct=True))
            .prefetch_related(
                Prefetch("images"),
                Prefetch("reviews", queryset=newest_reviews[:5], to_attr="latest_reviews"),
            )
            # Meta.ordering, spelled out: Django leaves it out of queries that GROUP BY.
            .order_by("-created_at", "-pk")
        )


catalog_page = CatalogPage.as_view()


def as_graphql_data(products: list[dict]) -> dict:
    """DRF's JSON in the shape of the GraphQL catalog page's `data`."""
    return {"products": {"edges": [{"node": {
        "name": product["name"],
        "slug": product["slug"],
        "price": product["price"],
        "isAvailable": product["is_available"],
        "avgRating": product["avg_rating"],
        "reviewCount": product["review_count"],
        "category": product["category"],
        "images": [{"url": image["url"], "altText": image["alt_text"]}
                   for image in product["images"]],
        "reviews": {"edges": [{"node": review} for review in product["reviews"]]},
    }} for product in products]}}
