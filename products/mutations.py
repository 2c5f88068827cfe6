"""Catalog mutations: thin wrappers decoding IDs and calling products.services."""
from __future__ import annotations

import graphene

from products import services
from products.types import ProductImageType, ProductType, ReviewType
from schema.errors import BadUserInput
from schema.mutations import Mutation, invalid
from schema.node import decode_global_id
from schema.uploads import Upload


def _given(input: dict, *names: str) -> dict:
    """The input fields the client sent (an explicit null counts as sent)."""
    return {name: input[name] for name in names if name in input}


def _category_pk(values: dict) -> dict:
    """The category's primary key; a malformed ID is a field error like a missing one."""
    if "category" in values and values["category"] is not None:
        try:
            values["category"] = decode_global_id(values["category"], "Category", "category")
        except BadUserInput as error:
            raise invalid("category", error.message) from None
    return values


class CreateProduct(Mutation):
    """Needs the `products.add_product` permission (or staff). With `images`, the product and
    its images are created together (a GraphQL multipart request): if any field or image is
    refused, nothing is created."""

    product = graphene.Field(ProductType, description="The new product.")

    class Input:
        name = graphene.String(
            required=True, description="Up to 200 characters; surrounding spaces are trimmed."
        )
        description = graphene.String(description="Long description, plain text; empty if omitted.")
        price = graphene.Decimal(
            required=True,
            description="Price in the store's currency: greater than 0, at most 2 decimals, "
            "below 100000000.",
        )
        stock = graphene.Int(
            default_value=0, description="Units in stock, 0 or more; 0 by default."
        )
        category = graphene.ID(required=True, description="The Category ID to file it under.")
        is_published = graphene.Boolean(
            default_value=False,
            description="Whether everyone sees it at once; by default a draft, seen only by you "
            "and staff until published.",
        )
        images = graphene.List(
            graphene.NonNull(Upload),
            description=(
                "Image files (file parts of a multipart request), in display order; the first "
                "is the primary image. At most UPLOAD_MAX_IMAGES_PER_PRODUCT (10) of at most "
                "UPLOAD_MAX_IMAGE_BYTES (5 MiB) each. Errors name the file: `images.1` "
                "(INVALID_IMAGE, TOO_LARGE), or `images` for too many (MAX_LENGTH). Alt texts "
                "and another primary: `setProductImages` afterwards."
            ),
        )

    @classmethod
    def perform(cls, info, images=None, **input):
        values = _category_pk(_given(input, *services.PRODUCT_FIELDS))
        return cls(
            product=services.create_product(info.context.user, images=images, **values)
        )


class UpdateProduct(Mutation):
    """Change any of the fields; the creator, staff or `products.change_product`. Fields
    left out keep their value; null is refused where the field is required (REQUIRED)."""

    product = graphene.Field(ProductType, description="The product as saved.")

    class Input:
        id = graphene.ID(required=True, description="The Product ID.")
        name = graphene.String(description="New name, up to 200 characters.")
        description = graphene.String(description="New long description, plain text.")
        price = graphene.Decimal(
            description="New price in the store's currency: greater than 0, at most 2 decimals."
        )
        stock = graphene.Int(
            description="New number of units in stock, 0 or more: an absolute number that "
            "replaces the stock as it is when the change is made, under the lock orders take, "
            "so units ordered since you read it become available again. To count a delivery "
            "or a loss, use `adjustStock`, which adds to what is left."
        )
        category = graphene.ID(description="The Category ID to file it under instead.")
        is_published = graphene.Boolean(
            description="Publish (true) or withdraw to a draft seen only by its creator and "
            "staff (false)."
        )

    @classmethod
    def perform(cls, info, id, **input):
        product_id = decode_global_id(id, "Product")
        values = _category_pk(_given(input, *services.PRODUCT_FIELDS))
        return cls(product=services.update_product(info.context.user, product_id, **values))


class AdjustStock(Mutation):
    """Add units to a product's stock (a delivery) or remove them (breakage, a recount);
    whoever may `updateProduct` it. The change applies to the stock as it is then, under the
    lock orders take, so it never undoes an order placed meanwhile."""

    product = graphene.Field(ProductType, description="The product with its new stock.")

    class Input:
        product = graphene.ID(required=True, description="The Product ID.")
        delta = graphene.Int(
            required=True,
            description="Units to add, or to remove when negative. The stock cannot go below "
            "0 (OUT_OF_STOCK) nor beyond 2147483647 (MAX_VALUE).",
        )

    @classmethod
    def perform(cls, info, product, delta):
        product_id = decode_global_id(product, "Product", "product")
        return cls(product=services.adjust_stock(info.context.user, product_id, delta))


class DeleteProduct(Mutation):
    """Delete a product, with its images and reviews; the creator, staff or
    `products.delete_product`. A product that was ordered cannot be deleted (PROTECTED on
    `id`): unpublish it instead."""

    deleted_id = graphene.ID(description="The ID of the deleted product.")

    class Input:
        id = graphene.ID(required=True, description="The Product ID.")

    @classmethod
    def perform(cls, info, id):
        services.delete_product(info.context.user, decode_global_id(id, "Product"))
        return cls(deleted_id=id)


class ProductImageInput(graphene.InputObjectType):
    """One image for `setProductImages`."""

    file = Upload(required=True, description="A file part of the multipart request.")
    alt_text = graphene.String(
        description="Text for screen readers, up to 200 characters; empty if omitted."
    )
    is_primary = graphene.Boolean(
        default_value=False,
        description="Make this the primary image (mark at most one); without one, the first "
        "image is primary.",
    )


class SetProductImages(Mutation):
    """Replace a product's images (GraphQL multipart request); the first is primary unless
    another is marked. The creator, staff or `products.change_product`."""

    product = graphene.Field(ProductType, description="The product with its new images.")
    images = graphene.List(
        graphene.NonNull(ProductImageType),
        description="The product's images now, the primary one first, then in the order sent.",
    )

    class Input:
        product = graphene.ID(required=True, description="The Product ID.")
        images = graphene.List(
            graphene.NonNull(ProductImageInput),
            required=True,
            description="The new images in display order, replacing all current ones (an empty "
            "list removes them): at most 10, of at most 5 MiB each (the server's defaults). "
            "Errors name the image: `images.1.file` (INVALID_IMAGE, TOO_LARGE).",
        )

    @classmethod
    def perform(cls, info, product, images):
        product_id = decode_global_id(product, "Product", "product")
        saved = services.set_product_images(
            info.context.user, product_id, [dict(image) for image in images]
        )
        return cls(product=saved, images=list(saved.images.all()))


class AddReview(Mutation):
    """Review a product you may see; signed in. One review per product and author
    (ALREADY_REVIEWED on `product`): change yours with `updateReview`."""

    review = graphene.Field(ReviewType, description="The new review.")

    class Input:
        product = graphene.ID(required=True, description="The Product ID to review.")
        rating = graphene.Int(required=True, description="Stars, 1 (worst) to 5 (best).")
        title = graphene.String(required=True, description="Headline, up to 200 characters.")
        body = graphene.String(description="The review's text, plain; empty if omitted.")

    @classmethod
    def perform(cls, info, product, **input):
        product_id = decode_global_id(product, "Product", "product")
        values = _given(input, *services.REVIEW_FIELDS)
        return cls(review=services.add_review(info.context.user, product_id, **values))


class UpdateReview(Mutation):
    """Change your review; only its author may. Fields left out keep their value."""

    review = graphene.Field(ReviewType, description="The review as saved.")

    class Input:
        id = graphene.ID(required=True, description="The Review ID.")
        rating = graphene.Int(description="New stars, 1 (worst) to 5 (best).")
        title = graphene.String(description="New headline, up to 200 characters.")
        body = graphene.String(description="New text, plain.")

    @classmethod
    def perform(cls, info, id, **input):
        review_id = decode_global_id(id, "Review")
        values = _given(input, *services.REVIEW_FIELDS)
        return cls(review=services.update_review(info.context.user, review_id, **values))


class DeleteReview(Mutation):
    """Delete a review: its author, or staff moderating."""

    deleted_id = graphene.ID(description="The ID of the deleted review.")

    class Input:
        id = graphene.ID(required=True, description="The Review ID.")

    @classmethod
    def perform(cls, info, id):
        services.delete_review(info.context.user, decode_global_id(id, "Review"))
        return cls(deleted_id=id)


class ToggleFavorite(Mutation):
    """Favorite a product you may see, or unfavorite it if it is one already; signed in."""

    product = graphene.Field(ProductType, description="The product (`isFavorited` as now).")
    favorited = graphene.Boolean(description="Whether the product is now a favorite.")

    class Input:
        product = graphene.ID(required=True, description="The Product ID.")

    @classmethod
    def perform(cls, info, product):
        product_id = decode_global_id(product, "Product", "product")
        found, favorited = services.toggle_favorite(info.context.user, product_id)
        return cls(product=found, favorited=favorited)


class Mutations(graphene.ObjectType):
    create_product = CreateProduct.Field()
    update_product = UpdateProduct.Field()
    adjust_stock = AdjustStock.Field()
    delete_product = DeleteProduct.Field()
    set_product_images = SetProductImages.Field()
    add_review = AddReview.Field()
    update_review = UpdateReview.Field()
    delete_review = DeleteReview.Field()
    toggle_favorite = ToggleFavorite.Field()
