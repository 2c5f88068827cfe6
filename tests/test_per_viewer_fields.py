"""Every field that reads who exactly the viewer is is declared per-viewer (schema/per_viewer.py).

The schema is walked from `Query`: each field reachable without required arguments is
selected alone (under the shortest path to it) and executed as a staff member whose identity
attributes (`pk`, `id`, `username`, `email`) are watched. A field whose execution reads them,
in its resolver or in a loader it calls, must be declared with `per_viewer`, and a declared
field must read them: subscriber grouping and response caching trust the declarations.
Staff see every product whatever their identity, so visibility itself reads none of them.
Nothing is walked below a declared field: everything under it is per-viewer already.
"""
from __future__ import annotations

from collections import deque

import pytest
from django.contrib.auth import get_user_model
from graphql import GraphQLNonNull, GraphQLObjectType, execute, get_named_type, parse

from accounts.models import ApiKey
from dataloaders import registry
from orders.models import Order, OrderItem
from products.models import Favorite
from schema.client import Client
from schema.execution import PromiseExecutionContext
from schema.per_viewer import per_viewer_fields
from schema.pipeline import OperationContext
from schema.schema import schema as graphene_schema

SCHEMA = graphene_schema.graphql_schema
IDENTITY = frozenset({"pk", "id", "username", "email"})
# Fields with their own kind of input: lists of global IDs, or not worth a fixture.
UNWALKED_ROOTS = frozenset({"node", "nodes", "__schema", "__type"})


class WatchedUser(get_user_model()):
    """The viewer, recording reads of its identity while `watching`."""

    class Meta:
        proxy = True
        app_label = "accounts"

    def __getattribute__(self, name):
        if name in IDENTITY and object.__getattribute__(self, "__dict__").get("_watching"):
            object.__getattribute__(self, "__dict__")["_reads"].add(name)
        return super().__getattribute__(name)


def _selection(field_type) -> str:
    """An object's `id` (which reads the viewer's own when it *is* the viewer, as `me`)."""
    named = get_named_type(field_type)
    if not isinstance(named, GraphQLObjectType):
        return ""
    return " { id }" if "id" in named.fields else " { __typename }"


def _query(path: tuple[str, ...], field_type) -> str:
    inner = _selection(field_type)
    for name in reversed(path):
        inner = " { " + name + inner + " }"
    return inner


def _walkable(field) -> bool:
    return not any(isinstance(arg.type, GraphQLNonNull) and arg.default_value is None
                   for arg in field.args.values())


def _arguments(field) -> str:
    return "(first: 2)" if "first" in field.args else ""


def walk(root_arguments: dict[str, str]):
    """(type name, field name, query) for each reachable field, shortest path first.

    `root_arguments`: the arguments of root fields that need some (`product(slug:)`).
    """
    marked = per_viewer_fields(SCHEMA)
    seen_types = {"Query"}
    queue = deque([(SCHEMA.query_type, ())])
    while queue:
        parent, path = queue.popleft()
        for name, field in parent.fields.items():
            if name.startswith("__") or (not path and name in UNWALKED_ROOTS):
                continue
            if not _walkable(field):
                continue
            step = name + (root_arguments.get(name, "") if not path else "") + _arguments(field)
            yield parent.name, name, _query((*path, step), field.type)
            named = get_named_type(field.type)
            if (parent.name, name) in marked or not isinstance(named, GraphQLObjectType):
                continue
            if named.name not in seen_types:
                seen_types.add(named.name)
                queue.append((named, (*path, step)))


@pytest.fixture
def watched_staff(catalog, users):
    staff = WatchedUser.objects.get(pk=users["staff"].pk)
    Favorite.objects.create(user=staff, product=catalog["products"]["cans"])
    order = Order.objects.create(user=staff)
    OrderItem.objects.create(order=order, product=catalog["products"]["amp"], quantity=1,
                             unit_price=catalog["products"]["amp"].price)
    ApiKey.issue(staff, "ci")
    return staff


def reads_identity(viewer, query: str) -> bool:
    context = OperationContext(viewer, Client("198.51.100.7"), "jwt")
    viewer.__dict__.update(_watching=True, _reads=set())
    try:
        result = execute(SCHEMA, parse(query), context_value=context,
                         execution_context_class=PromiseExecutionContext)
    finally:
        viewer.__dict__["_watching"] = False
        registry.release(context)
    assert not result.errors, (query, result.errors)
    return bool(viewer.__dict__["_reads"])


@pytest.mark.django_db
def test_fields_reading_the_viewers_identity_are_exactly_those_declared(watched_staff, catalog):
    marked = per_viewer_fields(SCHEMA)
    walked, reading = set(), set()
    root_arguments = {
        "product": f'(slug: "{catalog["products"]["cans"].slug}")',
        "category": f'(slug: "{catalog["categories"]["audio"].slug}")',
    }
    for type_name, field_name, query in walk(root_arguments):
        walked.add((type_name, field_name))
        if reads_identity(watched_staff, query):
            reading.add((type_name, field_name))
    assert {("Product", "name"), ("User", "username"), ("Review", "author")} <= walked
    undeclared = reading - marked
    assert not undeclared, f"read the viewer's identity without per_viewer(): {undeclared}"
    superfluous = (marked & walked) - reading
    assert not superfluous, f"declared per_viewer() but never read the viewer: {superfluous}"
    assert marked <= walked, f"declared fields the walk did not reach: {marked - walked}"
