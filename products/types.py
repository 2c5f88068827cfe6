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
    ProductImageByIdLoader,
    ProductImagesLoader,
    RelatedProductsLoader,
    ReviewByIdLoader,
    ReviewPageLoader,
    ReviewStatsLoader,
)
from dataloaders.registry import get_loader
from dataloaders.rows import joined, selected_columns, selected_names
from products.filters import ProductFilter
from products.media import file_url
from products.models import Category, Product, ProductImage, Review
from schema.cache_control import cache_hint
from schema.cursors import Ordering
from schema.descriptions import describe_fields
from schema.node import Node
from schema.pagination import (
    BoundedFilterConnectionField,
    CountableConnection,
    PageRequest,
    build_connection,
    cursor_columns,
    validate_page_args,
)
from schema.per_viewer import per_viewer


def load_optional(info, loader_class, key):
    return None if key is None else get_loader(info, loader_class).load(key)


# Images change rarely (a new upload is a new image).
@cache_hint(max_age=300)
@describe_fields(
    alt_text="Text for screen readers and for when the image cannot load, up to 200 characters; "
    "empty when none was given.",
    is_primary="The product's main image, for lists and previews; at most one per product.",
    position="Place in the product's gallery, from 0; the primary image comes first anyway.",
)
class ProductImageType(DjangoObjectType):
    """An image of a product; a product's `images` come primary first, then by `position`."""

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
        return get_loader(info, ProductImageByIdLoader).load(id)

    def resolve_url(self, info) -> str:
        return file_url(self, "image", info.context)


REVIEW_ORDERING = Ordering.of(Review.objects.all())
# ReviewStatsLoader's (average, count).
AVERAGE, COUNT = itemgetter(0), itemgetter(1)
User = get_user_model()


@cache_hint(max_age=60)
@describe_fields(
    product="The reviewed product.",
    author="Who wrote the review (their public profile).",
    rating="Stars, 1 (worst) to 5 (best).",
    title="The review's headline, up to 200 characters.",
    body="The review's text, plain text; empty when the author wrote only a title.",
    created_at="When the review was written.",
)
class ReviewType(DjangoObjectType):
    """A user's review of a product, one per product and author. Anyone who may see the
    product sees its reviews."""

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
        return get_loader(info, ReviewByIdLoader).load(id)


@cache_hint(max_age=300)
@describe_fields(
    name="Display name, up to 120 characters.",
    slug="Unique URL-safe name, for links: `category(slug:)` finds the category.",
    parent="The category directly above; null for a root (see `categories`).",
)
class CategoryType(DjangoObjectType):
    """A node of the category tree. Every product is filed under one category; categories
    are public."""

    children = graphene.List(
        graphene.NonNull(lambda: CategoryType),
        required=True,
        description="The categories directly below this one, by name; empty for a leaf.",
    )
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


# Stock and prices move: a minute, and every write invalidates the server-side cache.
@cache_hint(max_age=60)
@describe_fields(
    name="Display name, up to 200 characters.",
    slug="Unique URL-safe name, made from the name when the product is created and never "
    "changed afterwards, so links stay valid after a rename: `product(slug:)` finds it.",
    description="Long description, plain text; empty when there is none.",
    price="Price in the store's currency, a decimal string with 2 decimals (`\"19.99\"`), "
    "greater than 0.",
    stock="Units in stock, 0 or more; placing an order takes its quantities from here.",
    is_published="Whether everyone sees the product. Drafts (false) are seen only by their "
    "creator and staff.",
    popularity_score="How popular the product is, 0 to 100 (higher is more popular); orders "
    "`popularProducts` and `relatedProducts`.",
    category="The category the product is filed under.",
    created_by="Who created the product; null when that account no longer exists.",
    created_at="When the product was created.",
    updated_at="When the product was last changed (any field, stock included).",
)
class ProductType(DjangoObjectType):
    """An item of the catalog. Everyone sees published products; drafts (`isPublished:
    false`) only their creator and staff. A product you may not see is reported exactly
    like one that does not exist (null, or NOT_FOUND)."""

    is_available = graphene.Boolean(required=True, description="Published and in stock.")
    avg_rating = graphene.Float(description="Average review rating, 1 to 5; null without reviews.")
    review_count = graphene.Int(required=True, description="How many reviews it has, 0 or more.")
    is_favorited = per_viewer(graphene.Boolean(
        required=True,
        description="Whether you favorited it (`toggleFavorite`); false when anonymous.",
    ))
    images = graphene.List(
        graphene.NonNull(ProductImageType),
        required=True,
        description="Its images, the primary one first, then by `position`; empty for none.",
    )
    # A plain Field: graphene's ConnectionField would turn our Promise into a coroutine.
    reviews = graphene.Field(
        graphene.NonNull(ReviewType._meta.connection),
        first=graphene.Int(
            description="At most this many reviews (1 to 100), from the newest or from "
            "`after`; 100 when neither `first` nor `last` is given."
        ),
        after=graphene.String(description="Continue after this cursor (`edges.cursor`)."),
        last=graphene.Int(
            description="At most this many reviews (1 to 100), the last ones before `before` "
            "(the oldest without it)."
        ),
        before=graphene.String(description="Continue before this cursor (`edges.cursor`)."),
        description="Its reviews, newest first, in pages of at most 100.",
    )
    related_products = graphene.List(
        graphene.NonNull(lambda: ProductType),
        required=True,
        first=graphene.Int(default_value=5, description="How many, 1 to 100; 5 by default."),
        description="Other products of the same category that you may see, most popular "
        "first.",
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
