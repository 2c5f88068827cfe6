"""Live catalog events: productCreated, productUpdated(id), productDeleted, productRemoved.

The websocket transport (subscriptions/) executes these root fields once per event with the
event as root value — `{"event": "created" | "updated" | "deleted" | None, "id": pk,
"snapshot": {...} | None}` — and sends nothing when a resolver raises `SkipEvent`: the event
is of another kind, about another product, or hidden from this viewer right now.

Visibility is the catalog's one rule, applied when the event arrives: created and updated
products are loaded through `ProductByIdLoader` (`Product.objects.visible_to(viewer)`), so
publishing a draft makes its next update reach anonymous subscribers and unpublishing hides
later updates from them; a deleted product is rebuilt from its snapshot and checked with
`is_visible_to` as it was when deleted. Payloads are full `Product` objects: every field
resolves with the same types and loaders as queries.

`productRemoved` tells a subscriber that a product they could see has left their view (it
was unpublished, or its creator's draft rights went): only its ID, so a client drops it from
what it shows, and nothing of what it can no longer see.
"""
from __future__ import annotations

import graphene
from graphql_relay import to_global_id

from dataloaders.catalog import ProductByIdLoader
from dataloaders.deferred import Deferred
from dataloaders.registry import get_loader
from products.models import Product
from products.types import ProductType
from schema.node import decode_global_id
from subscriptions.events import CREATED, DELETED, UPDATED, SkipEvent


def visible_product(root: dict, info, kind: str, only_pk: int | None = None):
    if root.get("event") != kind or (only_pk is not None and root.get("id") != only_pk):
        raise SkipEvent(kind)

    def found(product):
        if product is None:
            raise SkipEvent(kind)
        return product

    return get_loader(info, ProductByIdLoader).load(root["id"]).then(found)


def deleted_product(root: dict, info) -> Product:
    if root.get("event") != DELETED or not root.get("snapshot"):
        raise SkipEvent(DELETED)
    saved = root["snapshot"]
    values = {
        model_field.attname: model_field.to_python(saved[model_field.attname])
        for model_field in Product._meta.concrete_fields
        if model_field.attname in saved
    }
    product = Product(**values)
    if not Product.objects.is_visible_to(info.context.user, product):
        raise SkipEvent(DELETED)
    return product


class ProductRemoval(graphene.ObjectType):
    """A product you could see is no longer visible to you (it was unpublished): drop it."""

    id = graphene.ID(required=True, description="The global ID of the product to drop.")


def removed_product(root: dict, info) -> Deferred:  # of a ProductRemoval
    if root.get("event") != UPDATED or root.get("was_published") is None:
        raise SkipEvent(UPDATED)
    before = Product(pk=root["id"], is_published=root["was_published"],
                     created_by_id=root.get("created_by_id"))
    if not Product.objects.is_visible_to(info.context.user, before):
        raise SkipEvent(UPDATED)  # they never saw it

    def gone(product):
        if product is not None:
            raise SkipEvent(UPDATED)  # still visible: productUpdated tells them the rest
        return ProductRemoval(id=to_global_id("Product", root["id"]))

    return get_loader(info, ProductByIdLoader).load(root["id"]).then(gone)


class Subscription(graphene.ObjectType):
    product_created = graphene.Field(
        graphene.NonNull(ProductType),
        description="A product was created, sent to those who may see it.",
    )
    product_updated = graphene.Field(
        graphene.NonNull(ProductType),
        id=graphene.ID(description="Only this product's updates."),
        description="A product was saved; its state after the save, if the viewer may see it.",
    )
    product_deleted = graphene.Field(
        graphene.NonNull(ProductType),
        description="A product was deleted; its last state, to those who could see it.",
    )

    product_removed = graphene.Field(
        graphene.NonNull(ProductRemoval),
        description="A product you could see left your view (unpublished): only its ID.",
    )

    def resolve_product_created(root, info):
        return visible_product(root, info, CREATED)

    def resolve_product_updated(root, info, id=None):
        only_pk = None if id is None else decode_global_id(id, "Product")
        return visible_product(root, info, UPDATED, only_pk)

    def resolve_product_deleted(root, info):
        return deleted_product(root, info)

    def resolve_product_removed(root, info):
        return removed_product(root, info)
