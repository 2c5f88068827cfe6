"""Cache hints declared beside the types and fields they describe, and a response's policy.

In the spirit of Apollo's `@cacheControl`: a type or a field says for how long its value may
be cached (`max_age`, seconds) and by whom (`PUBLIC`: shared caches and CDNs too; `PRIVATE`:
the viewer's own cache only):

    @cache_hint(max_age=60)
    class ProductType(DjangoObjectType): ...

    stock = cache_hint(graphene.Int(...), max_age=10)

A response's policy is the most restrictive of what it selected: the smallest `max_age` of
every hinted type and field it reaches, and PRIVATE if any of them is, or if it selects a
field declared per-viewer (schema/per_viewer.py). Types and fields without a hint add no
constraint (connections, edges, scalars take their parent's), but a response that reaches no
hint at all is not cacheable (`max_age` 0): caching is something a type opts into.

The pipeline (schema/pipeline.py) applies it: only a query answered without errors to an
anonymous viewer is PUBLIC, whatever its hints say (a signed-in viewer sees their own drafts,
staff see every draft); the HTTP transport turns the policy into `Cache-Control`, and the
server-side response cache (schema/response_cache.py) stores PUBLIC responses only.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import graphene
from graphene.types.unmountedtype import UnmountedType
from graphql import (
    DocumentNode,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)

from schema.per_viewer import field_markers, per_viewer_fields, selected_fields

PUBLIC = "public"
PRIVATE = "private"
MARKER = "vitrine_cache_hint"


@dataclass(frozen=True)
class CachePolicy:
    max_age: int
    scope: str = PUBLIC

    @property
    def cacheable(self) -> bool:
        return self.max_age > 0

    def restrict(self, other: CachePolicy) -> CachePolicy:
        scope = PRIVATE if PRIVATE in (self.scope, other.scope) else PUBLIC
        return CachePolicy(min(self.max_age, other.max_age), scope)


NOT_CACHEABLE = CachePolicy(0, PRIVATE)


def cache_hint(target: Any = None, /, *, max_age: int, scope: str = PUBLIC) -> Any:
    """Declare a hint on a field (`cache_hint(field, max_age=…)`) or, as a class decorator
    (`@cache_hint(max_age=…)`), on a graphene type."""
    if target is None:
        return lambda cls: cache_hint(cls, max_age=max_age, scope=scope)
    if isinstance(target, UnmountedType):
        target = graphene.Field.mounted(target)
    setattr(target, MARKER, CachePolicy(max_age, scope))
    return target


@lru_cache(maxsize=4)
def _hints(schema: GraphQLSchema) -> tuple[dict[str, CachePolicy],
                                           dict[tuple[str, str], CachePolicy]]:
    """(hints by type name, hints by (type name, field name)), collected once."""
    types: dict[str, CachePolicy] = {}
    for type_name, graphql_type in schema.type_map.items():
        graphene_type = getattr(graphql_type, "graphene_type", None)
        hint = graphene_type.__dict__.get(MARKER) if graphene_type is not None else None
        if hint is not None:
            types[type_name] = hint
    return types, field_markers(schema, MARKER)


def _listed_type(field_type: Any) -> str | None:
    """The object type a list or a Relay connection field returns many of, if any."""
    while isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    if isinstance(field_type, GraphQLList):
        named = get_named_type(field_type)
        return named.name if isinstance(named, GraphQLObjectType) else None
    if isinstance(field_type, GraphQLObjectType) and "edges" in field_type.fields:
        edge = get_named_type(field_type.fields["edges"].type)
        if isinstance(edge, GraphQLObjectType) and "node" in edge.fields:
            node_type: GraphQLNamedType = get_named_type(edge.fields["node"].type)
            return node_type.name
    return None


@dataclass(frozen=True)
class DocumentPolicy:
    """What a document's selection says about caching its responses."""

    policy: CachePolicy
    lists: frozenset[str]
    """The object types it lists (their list tags: any write to one invalidates)."""


def document_policy(schema: GraphQLSchema, document: DocumentNode) -> DocumentPolicy:
    types, fields = _hints(schema)
    per_viewer = per_viewer_fields(schema)
    policy: CachePolicy | None = None
    private = False
    lists = set()
    for key in selected_fields(schema, document):
        parent = schema.get_type(key[0])
        field_def = getattr(parent, "fields", {}).get(key[1])
        if field_def is None:  # __typename, __schema, __type: no hint, no list
            continue
        private = private or key in per_viewer
        for hint in (fields.get(key), types.get(get_named_type(field_def.type).name)):
            if hint is not None:
                policy = hint if policy is None else policy.restrict(hint)
        listed = _listed_type(field_def.type)
        if listed is not None:
            lists.add(listed)
    policy = policy or NOT_CACHEABLE
    if private:
        policy = CachePolicy(policy.max_age, PRIVATE)
    return DocumentPolicy(policy, frozenset(lists))
