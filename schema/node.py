"""The Relay `Node` interface with coded errors for bad and unknown global IDs."""
from __future__ import annotations

from typing import Any

import graphene
from graphene import relay
from graphql_relay import from_global_id
from promise import Promise

from schema.errors import BadUserInput, NotFound


def decode_global_id(global_id: str, expected_type: str | None = None, field: str = "id") -> int:
    """The primary key in `global_id`, refusing malformed IDs and IDs of another type."""
    try:
        type_name, raw_pk = from_global_id(global_id)
        pk = int(raw_pk)
    except (TypeError, ValueError, UnicodeDecodeError):
        raise BadUserInput(f"`{field}` is not a valid ID.", field=field) from None
    if not type_name or pk < 1:
        raise BadUserInput(f"`{field}` is not a valid ID.", field=field)
    if expected_type is not None and type_name != expected_type:
        raise BadUserInput(f"`{field}` must be the ID of a {expected_type}.", field=field)
    return pk


def ensure_found(value: Any, what: str = "Object") -> Any:
    if value is None:
        raise NotFound(f"{what} not found.")
    return value


class Node(relay.Node):
    """Every object type implements this; `node(id:)` fetches any of them."""

    class Meta:
        name = "Node"

    @classmethod
    def get_node_from_global_id(cls, info: graphene.ResolveInfo, global_id: str, only_type=None):
        try:
            type_name, _ = from_global_id(global_id)
        except (TypeError, ValueError, UnicodeDecodeError):
            type_name = ""
        graphene_type = info.schema.get_type(type_name) if type_name else None
        graphene_type = getattr(graphene_type, "graphene_type", None)
        # Input types and scalars have no interfaces: not a node either.
        if graphene_type is None or cls not in getattr(graphene_type._meta, "interfaces", ()):
            raise BadUserInput("`id` is not a valid ID.", field="id")
        if only_type and graphene_type is not only_type:
            raise BadUserInput(f"`id` must be the ID of a {only_type._meta.name}.", field="id")
        pk = decode_global_id(global_id, type_name)
        return Promise.resolve(graphene_type.get_node(info, pk)).then(
            lambda node: ensure_found(node, type_name)
        )
