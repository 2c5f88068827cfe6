"""GraphQL types of the catalog. Relations and aggregates resolve through DataLoaders."""
from __future__ import annotations

from functools import partial
from operator import itemgetter

import graphene
from django.contrib.auth import get_user_model
from graphene_django import DjangoObjectType
from graphene_django.utils import bypass_get_queryset

from dataloaders.accounts import UserByIdLoader
from dataloaders.catalog import (
    CategoryByIdLoader,
    CategoryChildrenLoader,
    FavoritedLoader,
    ProductByIdLoader,
    ProductImagesLoader,
    RelatedProductsLoader,
    ReviewPageLoader,
    ReviewStatsLoader,
)
from dataloaders.registry import get_loader
from dataloaders.rows import joined, selected_columns, selected_names
from products.filters import ProductFilter
from products.media import file_url
from products.models import Category, Product, ProductImage, Review
from schema.cursors import Ordering
from schema.node import Node
from schema.pagination import (
    BoundedFilterConnectionField,
    CountableConnection,
    PageRequest,
    build_connection,
    cursor_columns,
    validate_page_args,
)


def load_optional(info, loader_class, key):
    return None if key is None else get_loader(info, loader_class).load(key)


class ProductImageType(DjangoObjectType):
    url = graphene.String(
        required=True,
        description="Absolute URL of the image file (on MEDIA_BASE_URL when one is set).",
    )
    width = graphene.Int(description="Width of the image in pixels; null if not measured.")
    height = graphene.Int(description="Height of the image in pixels; null if not measured.")

    class Meta:
        model = ProductImage
        name = "ProductImage"
        interfaces = (Node,)
        fields = ("id", "alt_text", "is_primary", "position", "width", "height")

    @classmethod
    def get_node(cls, info, id):
        visible = Product.objects.visible_to(info.context.user)
        return ProductImage.objects.filter(pk=id, product__in=visible).first()

    def resolve_url(self, info) -> str:
        return file_url(self, "image", info.context)


REVIEW_ORDERING = Ordering.of(Review.objects.all())
# ReviewStatsLoader's (average, count).
AVERAGE, COUNT = itemgetter(0), itemgetter(1)
User = get_user_model()


class ReviewType(DjangoObjectType):
    class Meta:
        model = Review
        name = "Review"
        interfaces = (Node,)
        fields = ("id", "rating", "title", "body", "created_at", "author", "product")
        connection_class = CountableConnection

    def resolve_author(self, info):
        return joined(self, "author") or get_loader(info, UserByIdLoader).load(self.author_id)

    # The loader applies the visibility rule; graphene-django's own get_node detour for
    # foreign keys would assign the loader's Promise to the model instance.
    @bypass_get_queryset
    def resolve_product(self, info):
        return get_loader(info, ProductByIdLoader).load(self.product_id)

    @classmethod
    def get_node(cls, info, id):
        review = Review.objects.visible_to(info.context.user).filter(pk=id).first()
        return review


class CategoryType(DjangoObjectType):
    children = graphene.List(graphene.NonNull(lambda: CategoryType), required=True)
    ancestors = graphene.List(
        graphene.NonNull(lambda: CategoryType),
        required=True,
        description="From the root down to this category's parent.",
    )
    products = BoundedFilterConnectionField(
        lambda: ProductType,
        filterset_class=ProductFilter,
        description="Visible products of this category and its descendants.",
    )

    column_needs = {"ancestors": ("parent_id",)}

    class Meta:
        model = Category
        name = "Category"
        interfaces = (Node,)
        fields = ("id", "name", "slug", "parent")
        connection_class = CountableConnection

    @classmethod
    def get_node(cls, info, id):
        return get_loader(info, CategoryByIdLoader).load(id)

    def resolve_parent(self, info):
        return load_optional(info, CategoryByIdLoader, self.parent_id)

    def resolve_children(self, info):
        return get_loader(info, CategoryChildrenLoader).load(self.pk)

    def resolve_ancestors(self, info):
        """Walk up one tree level per loader round, so a page of categories batches."""
        loader = get_loader(info, CategoryByIdLoader)

        def climb(category, path):
            if category is None or category.parent_id is None:
                return list(reversed(path))
            return loader.load(category.parent_id).then(
                lambda parent: climb(parent, [*path, parent])
            )

        return climb(self, [])

    def resolve_products(self, info, **kwargs):
        return Product.objects.filter(category_id__in=Category.objects.descendant_ids(self.pk))


class ProductType(DjangoObjectType):
    is_available = graphene.Boolean(required=True, description="Published and in stock.")
    avg_rating = graphene.Float(description="Average review rating; null without reviews.")
    review_count = graphene.Int(required=True)
    is_favorited = graphene.Boolean(required=True, description="Whether the viewer favorited it.")
    images = graphene.List(graphene.NonNull(ProductImageType), required=True)
    # A plain Field: graphene's ConnectionField would turn our Promise into a coroutine.
    reviews = graphene.Field(
        graphene.NonNull(ReviewType._meta.connection),
        first=graphene.Int(),
        after=graphene.String(),
        last=graphene.Int(),
        before=graphene.String(),
        description="Newest first.",
    )
    related_products = graphene.List(
        graphene.NonNull(lambda: ProductType),
        required=True,
        first=graphene.Int(default_value=5),
        description="Other visible products of the same category, most popular first.",
    )

    class Meta:
        model = Product
        name = "Product"
        interfaces = (Node,)
        fields = (
            "id", "name", "slug", "description", "price", "stock", "is_published",
            "popularity_score", "category", "created_by", "created_at", "updated_at",
        )
        filterset_class = ProductFilter
        connection_class = CountableConnection

    # Columns the fields that are not columns themselves read, and the to-one relations a
    # page of products joins when they are selected (dataloaders/rows.py).
    column_needs = {
        "is_available": ("is_published", "stock"),
        "related_products": ("category_id",),
    }
    joined_relations = ("category", "created_by")

    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset.visible_to(info.context.user)

    @classmethod
    def get_node(cls, info, id):
        return get_loader(info, ProductByIdLoader).load(id)

    def resolve_category(self, info):
        return joined(self, "category") or get_loader(info, CategoryByIdLoader).load(
            self.category_id
        )

    def resolve_created_by(self, info):
        return joined(self, "created_by") or load_optional(
            info, UserByIdLoader, self.created_by_id
        )

    def resolve_avg_rating(self, info):
        return get_loader(info, ReviewStatsLoader).load(self.pk).then(AVERAGE)

    def resolve_review_count(self, info):
        return get_loader(info, ReviewStatsLoader).load(self.pk).then(COUNT)

    def resolve_is_favorited(self, info):
        return get_loader(info, FavoritedLoader).load(self.pk)

    def resolve_images(self, info):
        return get_loader(info, ProductImagesLoader).load(self.pk)

    def resolve_reviews(self, info, **args):
        request = PageRequest.from_args(args, REVIEW_ORDERING, Review)
        columns = selected_columns(
            info, Review, through=("edges", "node"),
            # A page's reviews are grouped by product.
            always=("product_id", *cursor_columns(info, REVIEW_ORDERING, Review)),
        )

        author_columns = (
            selected_columns(info, User, through=("edges", "node", "author"))
            if "author" in selected_names(info, ("edges", "node")) else ()
        )
        page = (self.pk, request, columns, author_columns)
        # totalCount, if selected, is the review count of the stats loader.
        count = partial(ProductType.resolve_review_count, self, info)
        return get_loader(info, ReviewPageLoader).load(page).then(
            partial(build_connection, request, count=count)
        )

    def resolve_related_products(self, info, first: int):
        validate_page_args({"first": first})
        return get_loader(info, RelatedProductsLoader).load((self.pk, self.category_id, first))
