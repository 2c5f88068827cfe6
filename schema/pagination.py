"""Relay connections with a `totalCount`, bounded page sizes, and no needless COUNT.

graphene-django counts every connection before slicing it (REFERENCE.md §9). Forward pages
here fetch one extra row to learn `hasNextPage` instead, and `totalCount` counts only when a
client asks for it.
"""
from __future__ import annotations

from functools import partial
from typing import Any

import graphene
from django.conf import settings
from graphene import relay
from graphene_django.fields import DjangoConnectionField, connection_adapter, page_info_adapter
from graphene_django.filter import DjangoFilterConnectionField
from graphene_django.utils import maybe_queryset
from graphql_relay import connection_from_array_slice, cursor_to_offset, offset_to_cursor

from schema.errors import BadUserInput


def page_size_limit() -> int:
    return settings.GRAPHQL_MAX_PAGE_SIZE


def validate_page_args(args: dict[str, Any]) -> None:
    """Refuse `first`/`last` outside 1..limit and cursors that are not ours."""
    limit = page_size_limit()
    for name in ("first", "last"):
        value = args.get(name)
        if value is not None and not 1 <= value <= limit:
            raise BadUserInput(f"`{name}` must be between 1 and {limit}, got {value}.", field=name)
    for name in ("after", "before"):
        cursor = args.get(name)
        offset = None if cursor is None else cursor_to_offset(cursor)
        if cursor is not None and (offset is None or offset < 0):
            raise BadUserInput(f"`{name}` is not a valid cursor.", field=name)
    if (args.get("offset") or 0) < 0:
        raise BadUserInput("`offset` must not be negative.", field="offset")


def cursor_offset(cursor: str | None, default: int) -> int:
    offset = cursor_to_offset(cursor) if cursor else None
    return default if offset is None else offset


class CountableConnection(relay.Connection):
    """A connection that also answers how many items match, counted only on request."""

    class Meta:
        abstract = True

    total_count = graphene.Int(required=True, description="Items matching, over all pages.")

    def resolve_total_count(self, info: graphene.ResolveInfo) -> int:
        if getattr(self, "length", None) is None:
            self.length = self.iterable.count()
        return self.length


def slice_bounds(args: dict[str, Any], total: int) -> tuple[int, int]:
    """The [start, end) offsets a first/after/last/before request selects from `total` items.

    A plain forward page (`first`/`after`) is not clamped to `total`, so the pages of many
    parents share one window and batch into one query.
    """
    start = cursor_offset(args.get("after"), -1) + 1
    if args.get("before") is None and args.get("last") is None:
        return start, start + (args.get("first") or page_size_limit())
    end = min(cursor_offset(args.get("before"), total), total)
    start = min(start, end)
    if args.get("first") is not None:
        end = min(end, start + args["first"])
    if args.get("last") is not None:
        start = max(start, end - args["last"])
    return start, end


def connection_from_slice(
    connection_type: type[relay.Connection],
    rows: list,
    start: int,
    total: int,
    args: dict[str, Any],
) -> relay.Connection:
    """Build a connection from rows already fetched for offsets [start, start + len(rows))."""
    connection = connection_from_array_slice(
        rows,
        args,
        slice_start=start,
        array_length=total,
        array_slice_length=len(rows),
        connection_type=partial(connection_adapter, connection_type),
        edge_type=connection_type.Edge,
        page_info_type=page_info_adapter,
    )
    connection.length = total
    return connection


class PageArgsValidation:
    """Refuses bad `first`/`last`/cursors with coded errors before graphene-django sees them.

    graphene-django's own checks are assertions, which would surface as INTERNAL errors.
    """

    @classmethod
    def connection_resolver(cls, resolver, connection, default_manager, queryset_resolver,
                            max_limit, enforce_first_or_last, root, info, **args):
        validate_page_args(args)
        return super().connection_resolver(
            resolver, connection, default_manager, queryset_resolver,
            max_limit, enforce_first_or_last, root, info, **args,
        )


class BoundedConnectionField(PageArgsValidation, DjangoConnectionField):
    """A connection with page sizes in 1..100 and valid cursors."""


class BoundedFilterConnectionField(PageArgsValidation, DjangoFilterConnectionField):
    """A django-filter connection with page sizes in 1..100 and COUNT only when needed."""

    @classmethod
    def resolve_connection(cls, connection, args, iterable, max_limit=None):
        if args.get("last") is not None or args.get("before") is not None:
            return super().resolve_connection(connection, args, iterable, max_limit)
        queryset = maybe_queryset(iterable)
        start = cursor_offset(args.get("after"), -1) + 1 + (args.get("offset") or 0)
        first = args.get("first") or page_size_limit()
        rows = list(queryset[start : start + first + 1])
        has_next_page = len(rows) > first
        rows = rows[:first]
        edges = [
            connection.Edge(node=row, cursor=offset_to_cursor(start + index))
            for index, row in enumerate(rows)
        ]
        result = connection(
            edges=edges,
            page_info=relay.PageInfo(
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
                has_previous_page=start > 0,
                has_next_page=has_next_page,
            ),
        )
        result.iterable = queryset
        result.length = None
        return result
