"""Read entry points of the catalog."""
from __future__ import annotations

import graphene

from dataloaders.catalog import CategoryByIdLoader, ProductByIdLoader, prime_categories
from dataloaders.registry import get_loader
from products.filters import ProductFilter
from products.models import Category, Product
from products.types import CategoryType, ProductType
from schema.errors import BadUserInput
from schema.node import decode_global_id, ensure_found
from schema.pagination import BoundedFilterConnectionField, validate_page_args


def one_lookup(id: str | None, slug: str | None) -> None:
    if (id is None) == (slug is None):
        raise BadUserInput("Give exactly one of `id` or `slug`.", field="id")


class Query(graphene.ObjectType):
    product = graphene.Field(
        ProductType,
        id=graphene.ID(description="A Product ID. Give `id` or `slug`, not both."),
        slug=graphene.String(description="A product's `slug`. Give `id` or `slug`, not both."),
        description="One product by ID or slug; NOT_FOUND when there is none or you may not "
        "see it (a draft of someone else's).",
    )
    category = graphene.Field(
        CategoryType,
        id=graphene.ID(description="A Category ID. Give `id` or `slug`, not both."),
        slug=graphene.String(description="A category's `slug`. Give `id` or `slug`, not both."),
        description="One category by ID or slug; NOT_FOUND when there is none.",
    )
    categories = graphene.List(
        graphene.NonNull(CategoryType),
        required=True,
        description="The roots of the category tree, by name; walk down with `children`.",
    )
    products = BoundedFilterConnectionField(
        ProductType,
        filterset_class=ProductFilter,
        description="The products you may see (published ones and your own drafts; all of "
        "them for staff), newest first unless `sortBy` says otherwise, in pages of at most "
        "100. A product must match every filter given.",
    )
    popular_products = graphene.List(
        graphene.NonNull(ProductType),
        required=True,
        first=graphene.Int(default_value=10, description="How many, 1 to 100; 10 by default."),
        description="The products you may see, most popular first (`popularityScore`).",
    )

    def resolve_product(self, info, id=None, slug=None):
        one_lookup(id, slug)
        if id is not None:
            product = get_loader(info, ProductByIdLoader).load(decode_global_id(id, "Product"))
            return product.then(lambda found: ensure_found(found, "Product"))
        product = Product.objects.visible_to(info.context.user).filter(slug=slug).first()
        return ensure_found(product, "Product")

    def resolve_category(self, info, id=None, slug=None):
        one_lookup(id, slug)
        if id is not None:
            category = get_loader(info, CategoryByIdLoader).load(decode_global_id(id, "Category"))
            return category.then(lambda found: ensure_found(found, "Category"))
        return ensure_found(Category.objects.filter(slug=slug).first(), "Category")

    def resolve_categories(self, info):
        roots = list(Category.objects.roots())
        prime_categories(get_loader(info, CategoryByIdLoader), roots)
        return roots

    def resolve_popular_products(self, info, first: int):
        validate_page_args({"first": first})
        visible = Product.objects.visible_to(info.context.user)
        return visible.order_by("-popularity_score", "-pk")[:first]
