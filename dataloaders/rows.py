"""Lean rows: model instances built straight from `values_list` tuples, with only the columns
the query selects.

A loader that reads whole rows (`auth_user` with its password hash, a review's body, a
product's description) and lets Django's `Model.from_db` build each instance (`__init__`
over every field, `pre_init`/`post_init` signals) spent more time on that than on the SQL.
Here a loader asks `selected_columns(info, model, ...)` which columns the selection at its
field reads — the concrete model fields it selects by name, the columns its other fields
declare they need, and the primary key — and `lean_rows` builds instances with just those in
their `__dict__`. They are real model instances (methods, properties, `is_type_of` work); a
column that was not fetched loads on access like any deferred field.

The visibility rule is untouched: it is the queryset the loader passes in.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast

from django.db.models import F, Model, QuerySet
from django.db.models.base import ModelState
from graphene.utils.str_converters import to_snake_case
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)

ModelT = TypeVar("ModelT", bound=Model)


def lean_rows(
    queryset: QuerySet[ModelT],
    columns: Iterable[str],
    related: Mapping[str, tuple[type[Model], tuple[str, ...]]] = {},
) -> list[ModelT]:
    """The queryset's rows as instances holding `columns` (attnames).

    `related` joins foreign keys in the same query: {"author": (User, ("username",))} reads
    `author__username` and attaches the User (its primary key from `author_id`, its other
    columns joined) to each row as Django's `select_related` would: `row.author` costs no
    query.
    """
    model = queryset.model
    names = list(dict.fromkeys(columns))
    joined = []
    aliases: dict[str, F] = {}
    for name, (related_model, related_columns) in related.items():
        key = model._meta.get_field(name).attname  # type: ignore[union-attr]
        if key not in names:
            names.append(key)
        pk = related_model._meta.pk.attname
        others = tuple(column for column in related_columns if column != pk)
        # Aliased: a window query is wrapped in an outer SELECT by column name, where the
        # joined table's columns could collide with the row's.
        aliases |= {f"_{name}_{column}": F(f"{name}__{column}") for column in others}
        joined.append((name, related_model, key, (pk, *others)))
    if aliases:
        queryset = queryset.annotate(**aliases)
    width = len(names)
    position = {name: index for index, name in enumerate(names)}
    db = queryset.db
    rows = []
    for values in queryset.values_list(*names, *aliases):
        instance = _instance(model, names, values[:width], db)
        start = width
        for name, related_model, key, related_columns in joined:
            end = start + len(related_columns) - 1
            related_key = values[position[key]]
            if related_key is not None:
                instance._state.fields_cache[name] = _instance(
                    related_model, related_columns, (related_key, *values[start:end]), db
                )
            start = end
        rows.append(instance)
    return rows


def joined(row: Model, relation: str) -> Model | None:
    """The related row `lean_rows` joined to `row`, if it did."""
    return row._state.fields_cache.get(relation)


def _instance(model: type[ModelT], names: Iterable[str], values: Iterable[Any], db: str
              ) -> ModelT:
    instance = Model.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = db
    attributes = instance.__dict__
    attributes.update(zip(names, values, strict=True))
    attributes["_state"] = state
    return instance


def selected_columns(
    info: GraphQLResolveInfo,
    model: type[Model],
    *,
    through: tuple[str, ...] = (),
    needs: Mapping[str, tuple[str, ...]] = {},
    always: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """The attnames of `model` that the selection of this field reads.

    `through` walks down to the objects the rows become (`("edges", "node")` for a
    connection). `needs` maps a selected field that is not a column of its own to the
    columns its resolver reads; `always` (attnames) is read whatever is selected. Worked out
    once per field of a document, as `selected_names`.
    """
    node = info.field_nodes[0]
    key = (id(node), model, through, tuple(needs.items()), always)
    with _lock:
        cached = _memo.get(key)
        if cached is not None and cached[0] is node:
            return cast("tuple[str, ...]", cached[1])
    fields = {field.name: field for field in model._meta.concrete_fields}
    columns = dict.fromkeys((model._meta.pk.attname, *always))
    for name in selected_names(info, through):
        field = fields.get(name)
        if field is not None:
            columns[field.attname] = None
        for needed in needs.get(name, ()):
            columns[needed] = None
    result = tuple(columns)
    _remember(key, node, result)
    return result


def selected_names(info: GraphQLResolveInfo, through: tuple[str, ...] = ()) -> frozenset[str]:
    """Snake-case names of the fields selected below this field (then below `through`).

    Directives are ignored and fragments of every type included: a superset, the same for
    every request of the document, so it is worked out once per field of a document.
    """
    node = info.field_nodes[0]
    key = (id(node), through)
    with _lock:
        cached = _memo.get(key)
        if cached is not None and cached[0] is node:
            return cast("frozenset[str]", cached[1])
    names = frozenset(_selected_names(info.field_nodes, info.fragments, through))
    _remember(key, node, names)
    return names


def _remember(key: tuple[Any, ...], node: FieldNode, value: Any) -> None:
    """Memoized per field node (kept, so that its id stays its own) and bounded."""
    with _lock:
        _memo[key] = (node, value)
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)


_MEMO_SIZE = 2000
_memo: OrderedDict[tuple[Any, ...], tuple[FieldNode, Any]] = OrderedDict()
_lock = threading.Lock()


def _selected_names(field_nodes: list[FieldNode], fragments: Mapping[str, Any],
                    through: tuple[str, ...]) -> set[str]:
    """Snake-case names of the fields selected below `field_nodes`, then below `through`."""
    nodes: list[FieldNode] = list(field_nodes)
    for step in through:
        nodes = [
            child for node in nodes for child in _children(node.selection_set, fragments)
            if to_snake_case(child.name.value) == step
        ]
    return {
        to_snake_case(child.name.value)
        for node in nodes for child in _children(node.selection_set, fragments)
    }


def _children(selection_set: SelectionSetNode | None, fragments: Mapping[str, Any],
              seen: frozenset[str] = frozenset()) -> list[FieldNode]:
    if selection_set is None:
        return []
    found: list[FieldNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found += _children(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                found += _children(fragments[name].selection_set, fragments, seen | {name})
    return found
