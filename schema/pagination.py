"""Relay connections: bounded page sizes, keyset cursors, and COUNT only when asked.

Pages are cut by keyset (schema/cursors.py): each page continues after (or before) the row its
cursor names, so pages neither repeat nor skip rows that were created or deleted in between.
A page fetches one row more than it returns to learn whether another page follows, and
`totalCount` counts only when a client selects it (graphene-django counts every connection
before slicing it).

`hasPreviousPage` when paging forward, and `hasNextPage` when paging backward, answer whether
a cursor was given: the row it names lies on that side (Relay's connection spec lets a server
answer these cheaply).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import graphene
from django.conf import settings
from django.db.models import F, Model, OrderBy, QuerySet
from graphene import relay
from graphene.relay.connection import ConnectionOptions
from graphene_django.fields import DjangoConnectionField
from graphene_django.filter import DjangoFilterConnectionField
from graphene_django.registry import get_global_registry
from graphene_django.utils import maybe_queryset

from dataloaders.rows import lean_rows, selected_columns, selected_names
from schema.cursors import Ordering, decode, encode
from schema.errors import BadUserInput


def page_size_limit() -> int:
    return settings.GRAPHQL_MAX_PAGE_SIZE


def validate_page_args(args: dict[str, Any]) -> None:
    """Refuse `first`/`last` outside 1..limit, a negative `offset`, and `offset` when paging
    backward (it counts from the front).

    Cursors are checked where they are decoded, against the connection's ordering.
    """
    limit = page_size_limit()
    for name in ("first", "last"):
        value = args.get(name)
        if value is not None and not 1 <= value <= limit:
            raise BadUserInput(f"`{name}` must be between 1 and {limit}, got {value}.", field=name)
    if (args.get("offset") or 0) < 0:
        raise BadUserInput("`offset` must not be negative.", field="offset")
    if args.get("offset") and (args.get("before") is not None or args.get("last") is not None):
        raise BadUserInput("`offset` cannot be combined with `before` or `last`.", field="offset")


@dataclass(frozen=True)
class PageRequest:
    """What a client asked of one connection, with its cursors decoded. Hashable, so pages
    asked alike for many parents batch into one query (dataloaders/catalog.py)."""

    ordering: Ordering
    first: int | None
    last: int | None
    after: tuple[Any, ...] | None
    before: tuple[Any, ...] | None
    offset: int

    @classmethod
    def from_args(cls, args: dict[str, Any], ordering: Ordering, model: type[Model]
                  ) -> PageRequest:
        validate_page_args(args)

        def cursor(name: str) -> tuple[Any, ...] | None:
            value = args.get(name)
            return None if value is None else tuple(decode(value, ordering, model, argument=name))

        return cls(
            ordering=ordering,
            first=args.get("first"),
            last=args.get("last"),
            after=cursor("after"),
            before=cursor("before"),
            offset=args.get("offset") or 0,
        )

    @property
    def backward(self) -> bool:
        return self.last is not None and self.first is None

    @property
    def fetch(self) -> int:
        """Rows to read, in fetch order, after skipping `offset`: the page and one more."""
        size = cast(int, self.last) if self.backward else (self.first or page_size_limit())
        return size + 1

    def seek(self, queryset: QuerySet[Model]) -> QuerySet[Model]:
        """Only the rows between the cursors, in fetch order (reversed when paging backward)."""
        if self.after is not None:
            queryset = queryset.filter(self.ordering.seek(self.after, after=True))
        if self.before is not None:
            queryset = queryset.filter(self.ordering.seek(self.before, after=False))
        return queryset.order_by(*self.ordering.order_by(reverse=self.backward))

    def window_order(self) -> list[OrderBy]:
        """The fetch order as expressions, for ROW_NUMBER() windows."""
        return [
            F(name).desc() if descending != self.backward else F(name).asc()
            for name, descending in self.ordering.columns
        ]

    def page(self, fetched: list[Model]) -> Page:
        """The page of rows read in fetch order (at most `fetch` of them)."""
        more = len(fetched) == self.fetch
        rows = fetched[: self.fetch - 1]
        if self.backward:
            rows.reverse()
            return Page(rows, has_previous=more, has_next=self.before is not None)
        has_previous = self.after is not None or self.offset > 0
        if self.last is not None and len(rows) > self.last:
            rows, has_previous = rows[-self.last:], True
        return Page(rows, has_previous=has_previous, has_next=more)


@dataclass
class Page:
    rows: list[Model]
    has_previous: bool
    has_next: bool


def paginate(queryset: QuerySet[Model], args: dict[str, Any],
             columns: tuple[str, ...] | None = None,
             related: dict[str, tuple[type[Model], tuple[str, ...]]] | None = None,
             ) -> tuple[PageRequest, Page]:
    """One page of `queryset`: whole rows, or lean rows of these `columns` (which must hold
    the ordering's when cursors are selected: `cursor_columns`), with `related` joined."""
    request = PageRequest.from_args(args, Ordering.of(queryset), queryset.model)
    start = request.offset
    rows = request.seek(queryset)[start : start + request.fetch]
    if columns is None:
        return request, request.page(list(rows))
    return request, request.page(lean_rows(rows, columns, related or {}))


def joined_relations(info: graphene.ResolveInfo, model: type[Model], node_type: Any
                     ) -> dict[str, tuple[type[Model], tuple[str, ...]]]:
    """The to-one relations of the node type (`joined_relations`) that the page's selection
    reads, each with the columns its own selection reads: joined into the page's query."""
    selected = selected_names(info, ("edges", "node"))
    related: dict[str, tuple[type[Model], tuple[str, ...]]] = {}
    for name in getattr(node_type, "joined_relations", ()):
        if name in selected:
            # A to-one relation: it has a model.
            target = cast("type[Model]", model._meta.get_field(name).related_model)
            target_type = get_global_registry().get_type_for_model(target)
            related[name] = (target, selected_columns(
                info, target, through=("edges", "node", name),
                needs=getattr(target_type, "column_needs", {}),
            ))
    return related


def cursor_columns(info: graphene.ResolveInfo, ordering: Ordering, model: type[Model]
                   ) -> tuple[str, ...]:
    """The columns a page's rows need for cursors: the ordering's, if a cursor is selected
    (`edges { cursor }`, `pageInfo { startCursor endCursor }`), else none."""
    if "cursor" in selected_names(info, ("edges",)) or CURSOR_FIELDS & selected_names(
        info, ("page_info",)
    ):
        return ordering.attnames(model)
    return ()


CURSOR_FIELDS = frozenset({"start_cursor", "end_cursor"})


class PageInfoType(relay.PageInfo):  # type: ignore[misc]  # graphene is untyped
    """Relay's page info, saying where this server's answers differ from "are there more"."""

    class Meta:
        name = "PageInfo"
        description = "Where a page lies in its list, and the cursors to go on from it."

    has_next_page = graphene.Boolean(
        required=True,
        name="hasNextPage",
        description="Paging forward: whether more items follow this page. Paging backward "
        "(`last`): whether `before` was given.",
    )
    has_previous_page = graphene.Boolean(
        required=True,
        name="hasPreviousPage",
        description="Paging backward (`last`): whether more items precede this page. Paging "
        "forward: whether `after` or `offset` was given.",
    )
    start_cursor = graphene.String(
        name="startCursor",
        description="The cursor of the page's first item, for `before`; null on an empty page.",
    )
    end_cursor = graphene.String(
        name="endCursor",
        description="The cursor of the page's last item, for `after`; null on an empty page.",
    )


class CountableConnection(relay.Connection):  # type: ignore[misc]  # graphene is untyped
    """A connection that also answers how many items match, counted only on request.

    Its connection and edge types say what they hold (graphene's say the same of every list);
    an edge type's description is fixed when it is made, so the edge type is made here.
    """

    class Meta:
        abstract = True

    total_count = graphene.Int(required=True, description="Items matching, over all pages.")

    @classmethod
    def __init_subclass_with_meta__(cls, node: Any = None, name: str | None = None,
                                    _meta: Any = None, **options: Any) -> None:
        base_name = re.sub("Connection$", "", name or cls.__name__) or node._meta.name
        cls.Edge = type(f"{base_name}Edge", (graphene.ObjectType,), {
            "Meta": {"description": f"One `{base_name}` of the page and its cursor."},
            "node": graphene.Field(node, description=f"The `{base_name}`."),
            "cursor": graphene.String(
                required=True,
                description="Opaque; pass it as `after` (or `before`) to continue from here. "
                "Valid only for the ordering and filters it came with.",
            ),
        })
        _meta = _meta or ConnectionOptions(cls)
        _meta.fields = {
            "page_info": graphene.Field(
                PageInfoType,
                name="pageInfo",
                required=True,
                description="Whether more pages follow or precede, and the cursors to get them.",
            ),
            "edges": graphene.Field(
                graphene.NonNull(graphene.List(cls.Edge)),
                description=f"This page's `{base_name}` items, in the list's order, each with "
                "its cursor.",
            ),
        }
        options.setdefault(
            "description",
            f"One page of a list of `{base_name}` items (Relay connection): at most 100 "
            "`edges`, `pageInfo` to page on, `totalCount` for the whole list.",
        )
        super().__init_subclass_with_meta__(node=node, name=name, _meta=_meta, **options)

    def resolve_total_count(self, info: graphene.ResolveInfo) -> Any:
        return self.count()  # a Connection (below)


class Edge:
    """An edge whose cursor is signed only if a client selects it (HMAC and JSON per row)."""

    __slots__ = ("node", "ordering")

    def __init__(self, node: Model, ordering: Ordering) -> None:
        self.node = node
        self.ordering = ordering

    @property
    def cursor(self) -> str:
        return encode(self.ordering, self.node)


class PageInfo:
    """Relay's page info, its cursors made only if selected."""

    __slots__ = ("edges", "has_next_page", "has_previous_page")

    def __init__(self, edges: Sequence[Edge], page: Page) -> None:
        self.edges = edges
        self.has_previous_page = page.has_previous
        self.has_next_page = page.has_next

    @property
    def start_cursor(self) -> str | None:
        return self.edges[0].cursor if self.edges else None

    @property
    def end_cursor(self) -> str | None:
        return self.edges[-1].cursor if self.edges else None


class Connection:
    """One page of a connection: what its graphene type's default resolvers read."""

    __slots__ = ("count", "edges", "page_info")

    def __init__(self, edges: Sequence[Edge], page_info: PageInfo, count: Callable[[], Any]
                 ) -> None:
        self.edges = edges
        self.page_info = page_info
        self.count = count


def build_connection(request: PageRequest, page: Page, count: Callable[[], Any]) -> Connection:
    """The connection of one page; `count` answers `totalCount` (a number or a Deferred)."""
    edges = [Edge(row, request.ordering) for row in page.rows]
    return Connection(edges, PageInfo(edges, page), count)


def page_arguments() -> dict[str, Any]:
    """The page arguments of a connection field, described (graphene's have no descriptions),
    made in graphene-django's order: offset, before, after, first, last."""
    limit = page_size_limit()
    return {
        "offset": graphene.Int(
            description="Skip this many items first (0 or more), counted from `after` or the "
            "start. Not with `before` or `last`."
        ),
        "before": graphene.String(
            description="Continue before this cursor (`edges.cursor`, `pageInfo.startCursor`)."
        ),
        "after": graphene.String(
            description="Continue after this cursor (`edges.cursor`, `pageInfo.endCursor`)."
        ),
        "first": graphene.Int(
            description=f"At most this many items (1 to {limit}), from the start or from "
            f"`after`; {limit} when neither `first` nor `last` is given."
        ),
        "last": graphene.Int(
            description=f"At most this many items (1 to {limit}), the last ones before "
            "`before` (or of the whole list)."
        ),
    }


class KeysetConnection:
    """A connection field's resolver: its queryset (filtered, visible to the viewer), paged by
    keyset, rows holding the columns the selection reads.

    Replaces graphene-django's, whose argument checks are assertions (INTERNAL errors) and
    which counts every list before slicing it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for name, argument in page_arguments().items():
            kwargs.setdefault(name, argument)
        super().__init__(*args, **kwargs)

    @classmethod
    def connection_resolver(cls, resolver: Any, connection: Any, default_manager: Any,
                            queryset_resolver: Any, max_limit: int | None,
                            enforce_first_or_last: bool, root: Any, info: graphene.ResolveInfo,
                            **args: Any) -> Connection:
        validate_page_args(args)
        iterable = resolver(root, info, **args)
        if iterable is None:
            iterable = default_manager
        queryset = maybe_queryset(queryset_resolver(connection, iterable, info, args))
        node_type = connection._meta.node
        columns = selected_columns(
            info, queryset.model, through=("edges", "node"),
            needs=getattr(node_type, "column_needs", {}),
            always=cursor_columns(info, Ordering.of(queryset), queryset.model),
        )
        related = joined_relations(info, queryset.model, node_type)
        request, page = paginate(queryset, args, columns, related)
        return build_connection(request, page, queryset.count)


class BoundedConnectionField(
    KeysetConnection, DjangoConnectionField,  # type: ignore[misc]  # graphene-django is untyped
):
    """A connection with page sizes in 1..100 and keyset cursors."""


class BoundedFilterConnectionField(
    KeysetConnection, DjangoFilterConnectionField,  # type: ignore[misc]  # graphene-django is untyped
):
    """A django-filter connection with page sizes in 1..100 and keyset cursors.

    Each filter argument is described by its filter's `help_text` (graphene-django uses only
    the label), and deprecated as the filter set's `deprecated_arguments` says.
    """

    @property
    def filtering_args(self) -> dict[str, Any]:
        if not self._filtering_args:
            filters = self.filterset_class.base_filters
            deprecated = getattr(self.filterset_class, "deprecated_arguments", {})
            arguments = super().filtering_args
            for name, argument in arguments.items():
                argument.description = filters[name].extra.get("help_text") or argument.description
                argument.deprecation_reason = deprecated.get(name)
        filtering_args: dict[str, Any] = self._filtering_args
        return filtering_args
