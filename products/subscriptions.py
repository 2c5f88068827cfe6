"""Live catalog events: productCreated, productUpdated(id), productDeleted.

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
"""
from __future__ import annotations

import graphene

from dataloaders.catalog import ProductByIdLoader
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

    def resolve_product_created(root, info):
        return visible_product(root, info, CREATED)

    def resolve_product_updated(root, info, id=None):
        only_pk = None if id is None else decode_global_id(id, "Product")
        return visible_product(root, info, UPDATED, only_pk)

    def resolve_product_deleted(root, info):
        return deleted_product(root, info)
