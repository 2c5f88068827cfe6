"""Compiled execution plans: what graphql-core decides for every field of every object on
every request, decided once per (document, operation).

graphql-core's executor, for each field of each object it completes, looks the field up in
the schema, collects the sub-selection, picks the resolver, builds a `ResolveInfo` and a
`Path`, computes the arguments and walks the `NonNull`/`List` wrappers of the return type.
On a catalog page that is thousands of times the same decisions. A plan makes them once:

- `FieldPlan`: the response key, the field definition, how its value is read (a graphene
  default resolver becomes a plain attribute or dict read, with no resolver call and no
  `ResolveInfo`; `__typename` is a constant; anything else is called with `ResolveInfo`) and
  its arguments when they do not depend on variables;
- `Shape`: how a value of the field's type is completed: a leaf (and the Python type its
  serializer returns unchanged), an object type with its collected sub-fields, a
  list of a shape, or an abstract type whose sub-fields are collected per runtime type; each
  with its nullability.

Sub-fields are collected lazily, the first time an object of that type is completed there,
so abstract fields only plan the types that really occur. `@skip`/`@include` decide
collection, so a plan is cached per operation *and* per the values of the variables that
those directives read (usually none). Plans live in a bounded cache keyed by the document
object, which schema/document_cache.py keeps alive and shares across requests.

schema/execution.py runs the plans.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from graphene.types.resolver import dict_or_attr_resolver
from graphene_django.types import DjangoObjectType
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
    visit,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values
from graphql.language import Visitor
from graphql.type.introspection import TypeNameMetaFieldDef

# Field kinds: how a field's value is obtained.
TYPENAME, ATTRIBUTE, RESOLVER = range(3)
# Shape kinds: how a value is completed.
LEAF, OBJECT, LIST, ABSTRACT = range(4)

# Leaf types whose serializer returns values of this Python type unchanged.
_IDENTITY_TYPES = {GraphQLString.name: str, GraphQLID.name: str, GraphQLBoolean.name: bool}
_DJANGO_IS_TYPE_OF = DjangoObjectType.is_type_of.__func__


class Shape:
    """How a value of one output type, at one position of the document, is completed."""

    __slots__ = (
        "_fields",
        "builder",
        "field_nodes",
        "identity",
        "item",
        "kind",
        "non_null",
        "output_type",
        "type",
        "type_of_by_class",
    )

    def __init__(self, builder: PlanBuilder, output_type: GraphQLOutputType,
                 field_nodes: list[FieldNode]) -> None:
        self.builder = builder
        self.output_type = output_type
        self.field_nodes = field_nodes
        self.non_null = isinstance(output_type, GraphQLNonNull)
        # By `kind`: the GraphQLList, the leaf type, the GraphQLObjectType or the abstract
        # type (Any: the executor reads it by kind, without narrowing, on its hot path).
        named: Any = (
            output_type.of_type if self.non_null else output_type  # type: ignore[union-attr]
        )
        self.type = named
        self.item: Shape | None = None
        # The Python type a leaf's serializer returns unchanged (no call needed).
        self.identity: type | None = None
        # For graphene-django types: is_type_of depends on the value's class only.
        self.type_of_by_class: dict[type, bool] | None = None
        self._fields: Any = None
        if isinstance(named, GraphQLList):
            self.kind = LIST
            self.item = Shape(builder, named.of_type, field_nodes)
        elif is_leaf_type(named):
            self.kind = LEAF
            self.identity = _IDENTITY_TYPES.get(named.name)
        elif is_abstract_type(named):
            self.kind = ABSTRACT
            self._fields = {}
        else:
            self.kind = OBJECT
            if getattr(named.is_type_of, "__func__", None) is _DJANGO_IS_TYPE_OF:
                self.type_of_by_class = {}

    def fields(self, object_type: GraphQLObjectType) -> tuple[FieldPlan, ...]:
        """The planned sub-fields of this position for values of `object_type`."""
        if self.kind == OBJECT:
            if self._fields is None:
                self._fields = self.builder.sub_fields(object_type, self.field_nodes)
            fields: tuple[FieldPlan, ...] = self._fields
            return fields
        planned: tuple[FieldPlan, ...] | None = self._fields.get(object_type.name)
        if planned is None:
            planned = self._fields[object_type.name] = self.builder.sub_fields(
                object_type, self.field_nodes
            )
        return planned


class FieldPlan:
    """One response key of one selection set, on one object type."""

    __slots__ = (
        "attname",
        "default",
        "field_def",
        "field_nodes",
        "info_head",
        "key",
        "kind",
        "name",
        "parent_name",
        "parent_type",
        "resolve",
        "return_type",
        "shape",
        "static_args",
        "takes_args",
    )

    def __init__(self, builder: PlanBuilder, parent_type: GraphQLObjectType, key: str,
                 field_nodes: list[FieldNode], field_def: GraphQLField) -> None:
        self.key = key
        self.field_nodes = field_nodes
        self.field_def = field_def
        self.name = field_nodes[0].name.value
        self.parent_type = parent_type
        self.parent_name = parent_type.name
        self.return_type = field_def.type
        # What a ResolveInfo of this field starts with (schema/execution.py adds the rest).
        self.info_head = (self.name, field_nodes, field_def.type, parent_type)
        self.shape = Shape(builder, field_def.type, field_nodes)
        self.takes_args = bool(field_def.args)
        # Arguments without variables are the same on every call: computed once. Resolvers
        # get a copy, since graphene-django's connection resolvers change theirs.
        self.static_args = (
            _static_arguments(field_def, field_nodes[0])
            if self.takes_args and not _uses_variables(field_nodes[0])
            else None
        )
        resolve = field_def.resolve or builder.field_resolver
        self.resolve = resolve
        self.attname = ""  # ATTRIBUTE fields only
        self.default: Any = None
        if builder.middleware:
            self.kind = RESOLVER
        elif field_def is TypeNameMetaFieldDef:
            self.kind = TYPENAME
        elif isinstance(resolve, partial) and resolve.func is dict_or_attr_resolver:
            self.kind = ATTRIBUTE
            self.attname, self.default = resolve.args
        else:
            self.kind = RESOLVER


class PlanBuilder:
    """Collects and plans the selection sets of one operation."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 directive_values: dict[str, Any], field_resolver: Callable[..., Any],
                 middleware: bool) -> None:
        self.schema = schema
        self.fragments = fragments
        # Only the variables @skip/@include read: nothing else decides collection.
        self.directive_values = directive_values
        self.field_resolver = field_resolver
        self.middleware = middleware

    def root_fields(self, root_type: GraphQLObjectType,
                    selection_set: SelectionSetNode) -> tuple[FieldPlan, ...]:
        fields = collect_fields(
            self.schema, self.fragments, self.directive_values, root_type, selection_set
        )
        return self.plan(root_type, fields)

    def sub_fields(self, object_type: GraphQLObjectType,
                   field_nodes: list[FieldNode]) -> tuple[FieldPlan, ...]:
        fields = collect_sub_fields(
            self.schema, self.fragments, self.directive_values, object_type, field_nodes
        )
        return self.plan(object_type, fields)

    def plan(self, object_type: GraphQLObjectType,
             fields: dict[str, list[FieldNode]]) -> tuple[FieldPlan, ...]:
        planned = []
        for key, field_nodes in fields.items():
            field_def = get_field_def(self.schema, object_type, field_nodes[0])
            if field_def is not None:  # unknown fields are skipped, as graphql-core does
                planned.append(FieldPlan(self, object_type, key, field_nodes, field_def))
        return tuple(planned)


def _static_arguments(field_def: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
    """The arguments, or None when they do not coerce: each execution then computes them
    again and reports the error as that field's (documents need not be validated)."""
    try:
        return get_argument_values(field_def, node, {})
    except GraphQLError:
        return None


def _uses_variables(node: FieldNode) -> bool:
    found = False

    class FindVariable(Visitor):
        def enter_variable(self, *_args: Any) -> None:
            nonlocal found
            found = True

    for argument in node.arguments:
        visit(argument.value, FindVariable())
    return found


def directive_variables(nodes: list[Any]) -> tuple[str, ...]:
    """Names of the variables that `@skip`/`@include` arguments read, in document order."""
    names: dict[str, None] = {}

    class FindDirectiveVariables(Visitor):
        def enter_directive(self, node: Any, *_args: Any) -> None:
            if node.name.value in ("skip", "include"):
                for argument in node.arguments:
                    if isinstance(argument.value, VariableNode):
                        names[argument.value.name.value] = None

    for node in nodes:
        visit(node, FindDirectiveVariables())
    return tuple(names)


class _OperationPlans:
    """The plans of one operation, per directive-variable values (and schema, resolver)."""

    __slots__ = ("directive_variables", "operation", "variants")

    def __init__(self, operation: OperationDefinitionNode,
                 fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.operation = operation  # kept alive, so that its id() stays its own
        self.directive_variables = directive_variables([operation, *fragments.values()])
        self.variants: dict[tuple[Any, ...], tuple[FieldPlan, ...]] = {}


_plans: OrderedDict[int, _OperationPlans] = OrderedDict()
_lock = threading.Lock()


def _operation_plans(operation: OperationDefinitionNode,
                     fragments: dict[str, FragmentDefinitionNode]) -> _OperationPlans:
    with _lock:
        plans = _plans.get(id(operation))
        if plans is not None and plans.operation is operation:
            _plans.move_to_end(id(operation))
            return plans
        plans = _plans[id(operation)] = _OperationPlans(operation, fragments)
        while len(_plans) > settings.GRAPHQL_DOCUMENT_CACHE_SIZE:
            _plans.popitem(last=False)
        return plans


def operation_plan(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    root_type: GraphQLObjectType,
    fragments: dict[str, FragmentDefinitionNode],
    variable_values: dict[str, Any],
    field_resolver: Callable[..., Any],
    middleware: bool,
) -> tuple[FieldPlan, ...]:
    """The root fields of `operation`, planned; cached per operation node (parsed documents
    are shared across requests by schema/document_cache.py), unless middleware wraps the
    resolvers."""
    plans = _operation_plans(operation, fragments)
    values = {name: variable_values.get(name) for name in plans.directive_variables}
    builder = PlanBuilder(schema, fragments, values, field_resolver, middleware)
    if middleware:
        return builder.root_fields(root_type, operation.selection_set)
    key = (schema, field_resolver, *values.values())
    planned = plans.variants.get(key)
    if planned is None:
        planned = plans.variants[key] = builder.root_fields(root_type, operation.selection_set)
    return planned
__all__ = [
    "ABSTRACT",
    "ATTRIBUTE",
    "LEAF",
    "LIST",
    "OBJECT",
    "RESOLVER",
    "TYPENAME",
    "FieldPlan",
    "Shape",
    "operation_plan",
]
