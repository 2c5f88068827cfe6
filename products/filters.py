"""Filters, search and ordering of product lists (django-filter)."""
from __future__ import annotations

import django_filters

from products.models import Category, Product
from schema.node import decode_global_id


class ProductFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="exact")
    name_icontains = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    category = django_filters.CharFilter(
        method="filter_category", help_text="A Category ID; includes its descendants."
    )
    price_gte = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    price_lte = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    is_published = django_filters.BooleanFilter()
    in_stock = django_filters.BooleanFilter(method="filter_in_stock")
    search = django_filters.CharFilter(
        method="filter_search", help_text="Words in the name, description or category name."
    )
    # Keyset cursors (schema/cursors.py) add the primary key as the last tiebreak.
    order_by = django_filters.OrderingFilter(
        # graphene-django turns the client's camelCase value into snake_case first.
        fields=("price", "created_at", "popularity_score", "name"),
        help_text="price, createdAt, popularityScore or name; prefix with - for descending.",
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_category(self, queryset, name, value):
        category_id = decode_global_id(value, "Category", field="category")
        return queryset.filter(category_id__in=Category.objects.descendant_ids(category_id))

    def filter_in_stock(self, queryset, name, value):
        return queryset.in_stock(value)

    def filter_search(self, queryset, name, value):
        return queryset.search(value)
