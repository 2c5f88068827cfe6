"""Fields whose value depends on exactly who is asking, declared where the field is defined.

Most of the schema depends only on the viewer's *class* (anonymous, staff, or one signed-in
non-staff user, who sees their own drafts): results can be shared within a class. A few
fields depend on the viewer's identity even among staff (`Product.isFavorited`,
`User.email`, `Query.me`, …). They are declared with `per_viewer(...)` beside their
definition:

    is_favorited = per_viewer(graphene.Boolean(required=True, description="..."))

The schema is walked once (`per_viewer_fields`) and a document knows whether it selects one
(`selects_per_viewer`). Subscriber grouping (subscriptions/grouping.py) relies on it: a
staff subscription selecting a per-viewer field runs for its user alone.
tests/test_per_viewer_fields.py fails when a resolver reads the viewer's identity and its field
is not declared.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import graphene
from graphene.types.unmountedtype import UnmountedType
from graphene.utils.str_converters import to_camel_case
from graphql import DocumentNode, GraphQLSchema, TypeInfo, TypeInfoVisitor, Visitor, visit
from graphql.language import FieldNode

MARKER = "vitrine_per_viewer"


def per_viewer(field: graphene.Field | UnmountedType) -> graphene.Field:
    """Mark a field as depending on who exactly is asking (see the module docstring)."""
    if isinstance(field, UnmountedType):
        field = graphene.Field.mounted(field)
    setattr(field, MARKER, True)
    return field


def field_markers(schema: GraphQLSchema, marker: str) -> dict[tuple[str, str], Any]:
    """{(type name, field name): the field's `marker` attribute} for every graphene field of
    `schema` that carries one, in GraphQL names (per-viewer here, cache hints too)."""
    found = {}
    for type_name, graphql_type in schema.type_map.items():
        graphene_type = getattr(graphql_type, "graphene_type", None)
        fields = getattr(getattr(graphene_type, "_meta", None), "fields", None) or {}
        for attname, field in fields.items():
            value = getattr(field, marker, None)
            if value is not None:
                found[(type_name, getattr(field, "name", None) or to_camel_case(attname))] = value
    return found


@lru_cache(maxsize=4)
def per_viewer_fields(schema: GraphQLSchema) -> frozenset[tuple[str, str]]:
    """(type name, field name) of every marked field of `schema`, in GraphQL names."""
    return frozenset(field_markers(schema, MARKER))


class _SelectedFields(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.selected: set[tuple[str, str]] = set()

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        parent = self.type_info.get_parent_type()
        if parent is not None:
            self.selected.add((parent.name, node.name.value))


def selected_fields(schema: GraphQLSchema, document: DocumentNode) -> frozenset[tuple[str, str]]:
    """(parent type, field) of every field the (valid) document selects."""
    type_info = TypeInfo(schema)
    collector = _SelectedFields(type_info)
    visit(document, TypeInfoVisitor(type_info, collector))
    return frozenset(collector.selected)


def selects_per_viewer(schema: GraphQLSchema, document: DocumentNode) -> bool:
    return not selected_fields(schema, document).isdisjoint(per_viewer_fields(schema))
