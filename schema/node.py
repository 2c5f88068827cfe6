"""The Relay `Node` interface with coded errors for bad and unknown global IDs."""
from __future__ import annotations

from typing import Any

import graphene
from django.conf import settings
from graphene import relay
from graphql_relay import from_global_id

from dataloaders.deferred import then
from schema.errors import BadUserInput, NotFound

# Primary keys are 32-bit AutoFields (project/settings.py): a larger number names no row, and
# SQLite would overflow converting it.
MAX_PK = 2**31 - 1


def decode_global_id(global_id: str, expected_type: str | None = None, field: str = "id") -> int:
    """The primary key in `global_id`, refusing malformed IDs and IDs of another type."""
    try:
        type_name, raw_pk = from_global_id(global_id)
        pk = int(raw_pk)
    except (TypeError, ValueError, UnicodeDecodeError):
        raise BadUserInput(f"`{field}` is not a valid ID.", field=field) from None
    if not type_name or not 1 <= pk <= MAX_PK:
        raise BadUserInput(f"`{field}` is not a valid ID.", field=field)
    if expected_type is not None and type_name != expected_type:
        raise BadUserInput(f"`{field}` must be the ID of a {expected_type}.", field=field)
    return pk


def ensure_found(value: Any, what: str = "Object") -> Any:
    if value is None:
        raise NotFound(f"{what} not found.")
    return value


ID_DESCRIPTION = (
    "Global ID (Relay): opaque, stable and unique across all types, for `node(id:)`, "
    "`nodes(ids:)` and mutations' ID arguments."
)


class Node(relay.Node):  # type: ignore[misc]  # graphene is untyped
    """Every object type implements this; `node(id:)` fetches any of them."""

    class Meta:
        name = "Node"

    @classmethod
    def Field(cls, *args: Any, **kwargs: Any) -> graphene.Field:
        """`node(id:)`, described."""
        kwargs.setdefault(
            "description",
            "Any object by its global ID: NOT_FOUND when there is none or you may not see it.",
        )
        field = super().Field(*args, **kwargs)
        field.args["id"].description = (
            "The object's `id`, of any type; BAD_USER_INPUT when it is not a valid ID."
        )
        return field

    @classmethod
    def get_node_from_global_id(cls, info: graphene.ResolveInfo, global_id: str,
                                only_type: Any = None) -> Any:
        graphene_type, pk = cls.node_type_and_pk(info, global_id)
        if only_type and graphene_type is not only_type:
            raise BadUserInput(f"`id` must be the ID of a {only_type._meta.name}.", field="id")
        type_name = graphene_type._meta.name
        return then(graphene_type.get_node(info, pk), lambda node: ensure_found(node, type_name))

    @classmethod
    def node_type_and_pk(cls, info: graphene.ResolveInfo, global_id: str, field: str = "id",
                         name: str | None = None) -> tuple[Any, int]:
        """The object type a global ID names and its primary key; BAD_USER_INPUT (for the
        argument `field`, called `name` in the message) when it names no node type."""
        name = name or field
        try:
            type_name, _ = from_global_id(global_id)
        except (TypeError, ValueError, UnicodeDecodeError):
            type_name = ""
        graphene_type = info.schema.get_type(type_name) if type_name else None
        graphene_type = getattr(graphene_type, "graphene_type", None)
        # Input types and scalars have no interfaces: not a node either.
        if graphene_type is None or cls not in getattr(graphene_type._meta, "interfaces", ()):
            raise BadUserInput(f"`{name}` is not a valid ID.", field=field)
        try:
            pk = decode_global_id(global_id, type_name, field)
        except BadUserInput:
            raise BadUserInput(f"`{name}` is not a valid ID.", field=field) from None
        return graphene_type, pk


# Every type implementing Node shares this field object (graphene copies interface fields).
Node._meta.fields["id"].description = ID_DESCRIPTION


def resolve_nodes(root: Any, info: graphene.ResolveInfo, ids: list[str]) -> list[Any]:
    """Each ID's object as `node(id:)` finds it (the same `get_node`, so the same visibility
    rule and the same loaders: ids of one type batch into one query), or None."""
    limit = settings.GRAPHQL_MAX_PAGE_SIZE
    if len(ids) > limit:
        raise BadUserInput(f"`ids` holds {len(ids)} IDs; the limit is {limit}.", field="ids")
    targets = [
        Node.node_type_and_pk(info, global_id, "ids", f"ids.{index}")
        for index, global_id in enumerate(ids)
    ]
    return [graphene_type.get_node(info, pk) for graphene_type, pk in targets]


def nodes_field() -> graphene.Field:
    """`nodes(ids:)`: the plural of `node(id:)`."""
    return graphene.Field(
        graphene.NonNull(graphene.List(Node)),
        ids=graphene.Argument(
            graphene.NonNull(graphene.List(graphene.NonNull(graphene.ID))),
            description=(
                "Global IDs of any node types, at most 100 (more is BAD_USER_INPUT, as is an "
                "ID that is malformed or names no node type: `extensions.field` is `ids`)."
            ),
        ),
        resolver=resolve_nodes,
        description=(
            "The objects with these global IDs, in the order of `ids` (repeats included): "
            "the plural of `node(id:)`, under the same rules of who sees what. An ID whose "
            "object does not exist or that you may not see gives null at its position, "
            "without an error. Costs like a list of `ids`' length."
        ),
    )
