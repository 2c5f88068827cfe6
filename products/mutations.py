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

    product = graphene.Field(ProductType)

    class Input:
        name = graphene.String(required=True)
        description = graphene.String()
        price = graphene.Decimal(required=True, description="Greater than 0, 2 decimals.")
        stock = graphene.Int(default_value=0)
        category = graphene.ID(required=True, description="A Category ID.")
        is_published = graphene.Boolean(default_value=False)
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
    """Change any of the fields; the creator, staff or `products.change_product`."""

    product = graphene.Field(ProductType)

    class Input:
        id = graphene.ID(required=True)
        name = graphene.String()
        description = graphene.String()
        price = graphene.Decimal()
        stock = graphene.Int()
        category = graphene.ID()
        is_published = graphene.Boolean()

    @classmethod
    def perform(cls, info, id, **input):
        product_id = decode_global_id(id, "Product")
        values = _category_pk(_given(input, *services.PRODUCT_FIELDS))
        return cls(product=services.update_product(info.context.user, product_id, **values))


class DeleteProduct(Mutation):
    deleted_id = graphene.ID(description="The ID of the deleted product.")

    class Input:
        id = graphene.ID(required=True)

    @classmethod
    def perform(cls, info, id):
        services.delete_product(info.context.user, decode_global_id(id, "Product"))
        return cls(deleted_id=id)


class ProductImageInput(graphene.InputObjectType):
    file = Upload(required=True, description="A file part of the multipart request.")
    alt_text = graphene.String()
    is_primary = graphene.Boolean(default_value=False)


class SetProductImages(Mutation):
    """Replace a product's images (GraphQL multipart request); the first is primary unless
    another is marked."""

    product = graphene.Field(ProductType)
    images = graphene.List(graphene.NonNull(ProductImageType))

    class Input:
        product = graphene.ID(required=True)
        images = graphene.List(graphene.NonNull(ProductImageInput), required=True)

    @classmethod
    def perform(cls, info, product, images):
        product_id = decode_global_id(product, "Product", "product")
        saved = services.set_product_images(
            info.context.user, product_id, [dict(image) for image in images]
        )
        return cls(product=saved, images=list(saved.images.all()))


class AddReview(Mutation):
    """One review per product and author."""

    review = graphene.Field(ReviewType)

    class Input:
        product = graphene.ID(required=True)
        rating = graphene.Int(required=True, description="1 to 5.")
        title = graphene.String(required=True)
        body = graphene.String()

    @classmethod
    def perform(cls, info, product, **input):
        product_id = decode_global_id(product, "Product", "product")
        values = _given(input, *services.REVIEW_FIELDS)
        return cls(review=services.add_review(info.context.user, product_id, **values))


class UpdateReview(Mutation):
    review = graphene.Field(ReviewType)

    class Input:
        id = graphene.ID(required=True)
        rating = graphene.Int()
        title = graphene.String()
        body = graphene.String()

    @classmethod
    def perform(cls, info, id, **input):
        review_id = decode_global_id(id, "Review")
        values = _given(input, *services.REVIEW_FIELDS)
        return cls(review=services.update_review(info.context.user, review_id, **values))


class DeleteReview(Mutation):
    deleted_id = graphene.ID()

    class Input:
        id = graphene.ID(required=True)

    @classmethod
    def perform(cls, info, id):
        services.delete_review(info.context.user, decode_global_id(id, "Review"))
        return cls(deleted_id=id)


class ToggleFavorite(Mutation):
    product = graphene.Field(ProductType)
    favorited = graphene.Boolean(description="Whether the product is now a favorite.")

    class Input:
        product = graphene.ID(required=True)

    @classmethod
    def perform(cls, info, product):
        product_id = decode_global_id(product, "Product", "product")
        found, favorited = services.toggle_favorite(info.context.user, product_id)
        return cls(product=found, favorited=favorited)


class Mutations(graphene.ObjectType):
    create_product = CreateProduct.Field()
    update_product = UpdateProduct.Field()
    delete_product = DeleteProduct.Field()
    set_product_images = SetProductImages.Field()
    add_review = AddReview.Field()
    update_review = UpdateReview.Field()
    delete_review = DeleteReview.Field()
    toggle_favorite = ToggleFavorite.Field()
