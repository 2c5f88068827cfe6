"""The one Vitrine schema, composed from each app's GraphQL modules.

Adding an app to the API means adding its modules to the lists below.
"""
from typing import Any

import graphene
from django.utils.module_loading import import_string

from schema.contract import document
from schema.node import Node, nodes_field

QUERIES = [
    "accounts.queries.Query",
    "products.queries.Query",
    "orders.queries.Query",
    "webhooks.queries.Query",
]
MUTATIONS = [
    "accounts.mutations.Mutations",
    "products.mutations.Mutations",
    "orders.mutations.Mutations",
    "webhooks.mutations.Mutations",
]
SUBSCRIPTIONS: list[str] = [
    "products.subscriptions.Subscription",
]


ROOT_DESCRIPTIONS = {
    "Query": (
        "Reads: the catalog (`products`, `categories`, `product`, `category`), your account "
        "(`me`, `myOrders`, `myApiKeys`) and any object by its ID (`node`, `nodes`)."
    ),
    "Mutation": (
        "Writes, each its own transaction. Problems with the input come back in the payload's "
        "`errors`; problems with who asks (UNAUTHENTICATED, FORBIDDEN) or with the target "
        "(NOT_FOUND) as top-level errors."
    ),
    "Subscription": (
        "Live catalog events over websockets (graphql-transport-ws, or the legacy "
        "subscriptions-transport-ws protocol), each sent only to those who may see the product."
    ),
}


def compose(name: str, dotted_paths: list[str], **fields: Any
            ) -> type[graphene.ObjectType] | None:
    """One root type inheriting every app's fields for that operation."""
    if not dotted_paths and not fields:
        return None
    bases = tuple(import_string(path) for path in dotted_paths)
    meta = {"description": ROOT_DESCRIPTIONS[name]}
    return type(name, (*bases, graphene.ObjectType), {"Meta": meta, **fields})


schema = graphene.Schema(
    query=compose("Query", QUERIES, node=Node.Field(), nodes=nodes_field()),
    mutation=compose("Mutation", MUTATIONS),
    subscription=compose("Subscription", SUBSCRIPTIONS),
)
# The schema's description and the scalars' @specifiedBy, which graphene cannot declare.
document(schema.graphql_schema)
