"""Filters, search and ordering of product lists (django-filter).

Their `help_text` is the argument's description in the schema (schema/pagination.py), and
`deprecated_arguments` marks the arguments that newer ones replace: `orderBy: String` by the
typed `sortBy: [ProductOrder!]`, `category: String` by `categoryId: ID`.
"""
from __future__ import annotations

import django_filters
import graphene
from graphene.utils.str_converters import to_camel_case
from graphene_django.filter import TypedFilter

from products.models import Category, Product
from schema.errors import BadUserInput
from schema.node import decode_global_id


class OrderDirection(graphene.Enum):
    """Which way a list is sorted."""

    ASC = "asc"
    DESC = "desc"

    @property
    def description(self):
        return {"ASC": "Smallest, oldest or A first.", "DESC": "Largest, newest or Z first."}[
            self.name
        ]


class ProductOrderField(graphene.Enum):
    """What products can be sorted by."""

    PRICE = "price"
    CREATED_AT = "created_at"
    POPULARITY_SCORE = "popularity_score"
    NAME = "name"

    @property
    def description(self):
        return {
            "PRICE": "The price.",
            "CREATED_AT": "When the product was created.",
            "POPULARITY_SCORE": "The popularity score (0-100, higher is more popular).",
            "NAME": "The name, alphabetically.",
        }[self.name]


class ProductOrder(graphene.InputObjectType):
    """One sort key. Ties are broken by the product's ID, so pages are stable."""

    field = ProductOrderField(required=True, description="What to sort by.")
    direction = OrderDirection(
        default_value=OrderDirection.ASC.value,  # type: ignore[attr-defined]
        description="Which way; ascending by default."
    )


class ProductFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(
        lookup_expr="exact", help_text="Exactly this name (case-sensitive)."
    )
    name_icontains = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains",
        help_text="Names containing this text, ignoring case.",
    )
    category = django_filters.CharFilter(
        method="filter_category", help_text="A Category ID; includes its descendants."
    )
    category_id = TypedFilter(
        input_type=graphene.ID, method="filter_category",
        help_text="Products of this category (a Category ID) and of its descendants.",
    )
    price_gte = django_filters.NumberFilter(
        field_name="price", lookup_expr="gte",
        help_text="Price at least this (inclusive), in the store's currency.",
    )
    price_lte = django_filters.NumberFilter(
        field_name="price", lookup_expr="lte",
        help_text="Price at most this (inclusive), in the store's currency.",
    )
    is_published = django_filters.BooleanFilter(
        help_text="Only published products (true) or only drafts (false): your own, or any "
        "for staff."
    )
    in_stock = django_filters.BooleanFilter(
        method="filter_in_stock",
        help_text="Only products in stock (true: `stock` above 0) or sold out (false: 0).",
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text="Words in the name, description or category name."
    )
    # Keyset cursors (schema/cursors.py) add the primary key as the last tiebreak.
    order_by = django_filters.OrderingFilter(
        # graphene-django turns the client's camelCase value into snake_case first.
        fields=("price", "created_at", "popularity_score", "name"),
        help_text="price, createdAt, popularityScore or name; prefix with - for descending.",
    )
    sort_by = TypedFilter(
        input_type=graphene.List(graphene.NonNull(ProductOrder)), method="filter_sort_by",
        help_text="Sort keys, most significant first; newest first when omitted.",
    )

    deprecated_arguments = {
        "order_by": "Use `sortBy` instead.",
        "category": "Use `categoryId` instead.",
    }

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_category(self, queryset, name, value):
        category_id = decode_global_id(value, "Category", field=to_camel_case(name))
        return queryset.filter(category_id__in=Category.objects.descendant_ids(category_id))

    def filter_in_stock(self, queryset, name, value):
        return queryset.in_stock(value)

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_sort_by(self, queryset, name, value):
        if self.data.get("order_by"):
            raise BadUserInput("Give `sortBy` or `orderBy`, not both.", field="sortBy")
        return queryset.order_by(*(
            ("-" if _value(key.direction) == OrderDirection.DESC.value else "")
            + _value(key.field)
            for key in value
        ))


def _value(enum_or_value):
    """graphene hands input enums over as their value or as the member: the value."""
    return getattr(enum_or_value, "value", enum_or_value)

