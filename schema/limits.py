"""Static limits on a GraphQL request, checked before validation and before any resolver.

Cheapest first, each refused with its own code (schema/errors.py):

| check | setting | code |
|---|---|---|
| document size in UTF-8 bytes | GRAPHQL_MAX_DOCUMENT_BYTES | DOCUMENT_TOO_LARGE |
| lexical tokens (graphql-core stops parsing past it) | GRAPHQL_MAX_TOKENS | MAX_TOKENS_EXCEEDED |
| variables size (compact JSON, bytes) | GRAPHQL_MAX_VARIABLES_BYTES | VARIABLES_TOO_LARGE |
| field nesting depth, through fragments | GRAPHQL_MAX_DEPTH | MAX_DEPTH_EXCEEDED |
| depth below `__schema` / `__type` | GRAPHQL_MAX_INTROSPECTION_DEPTH | MAX_DEPTH_EXCEEDED |
| `__schema`, `__type` per query | GRAPHQL_MAX_INTROSPECTION_FIELDS | MAX_INTROSPECTION_EXCEEDED |
| aliases in one selection set | GRAPHQL_MAX_ALIASES | MAX_ALIASES_EXCEEDED |
| selections (fields, spreads) in one selection set | GRAPHQL_MAX_FIELDS | MAX_FIELDS_EXCEEDED |

The AST checks run before graphql-core's validation on purpose: some of its rules (overlapping
fields) are quadratic in the width of a selection set, so 10,000 aliases must be refused first.
They are one linear walk of the document; each named fragment is measured once.

Introspection has its own depth bound. The standard introspection documents (GraphiQL's, that
is graphql-js's `getIntrospectionQuery`, and graphql-core's `get_introspection_query`) nest
`ofType` nine levels deep under `__schema { types { fields { args { type ...` : 14 levels,
deeper than any catalog query needs. So a `__schema` or `__type` field counts as one level of
the operation's depth, and what is below it is measured against GRAPHQL_MAX_INTROSPECTION_DEPTH
(14), which those documents fit exactly and longer `ofType` chains do not. An operation may
select `__schema`/`__type` only a few times (GRAPHQL_MAX_INTROSPECTION_FIELDS, 3): introspection
costs no points, so aliasing `__schema` thirty times would be free work otherwise.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)

from accounts.viewer import is_staff
from schema import errors
from schema.errors import RequestRefused

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


@dataclass(frozen=True)
class Limits:
    max_document_bytes: int
    max_tokens: int
    max_variables_bytes: int
    max_depth: int
    max_introspection_depth: int
    max_introspection_fields: int
    max_aliases: int
    max_fields: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_document_bytes=settings.GRAPHQL_MAX_DOCUMENT_BYTES,
            max_tokens=settings.GRAPHQL_MAX_TOKENS,
            max_variables_bytes=settings.GRAPHQL_MAX_VARIABLES_BYTES,
            max_depth=settings.GRAPHQL_MAX_DEPTH,
            max_introspection_depth=settings.GRAPHQL_MAX_INTROSPECTION_DEPTH,
            max_introspection_fields=settings.GRAPHQL_MAX_INTROSPECTION_FIELDS,
            max_aliases=settings.GRAPHQL_MAX_ALIASES,
            max_fields=settings.GRAPHQL_MAX_FIELDS,
        )


def check_document_size(query: str, limits: Limits) -> None:
    # A character is at least one byte: only encode when the length alone cannot decide.
    size = len(query)
    if size * 4 > limits.max_document_bytes:
        size = len(query.encode("utf-8", "surrogatepass"))
    if size > limits.max_document_bytes:
        raise RequestRefused(
            errors.DOCUMENT_TOO_LARGE,
            f"The document is {size} bytes; the limit is {limits.max_document_bytes}.",
            size=size,
            limit=limits.max_document_bytes,
        )


def parse_bounded(query: str, limits: Limits) -> DocumentNode:
    """Parse, refusing documents over the token limit without lexing them to the end."""
    try:
        return parse(query, max_tokens=limits.max_tokens)
    except GraphQLSyntaxError as error:
        if "more than" in error.message and "tokens" in error.message:
            raise RequestRefused(
                errors.MAX_TOKENS_EXCEEDED,
                f"The document has more than {limits.max_tokens} tokens.",
                limit=limits.max_tokens,
            ) from None
        raise


def _uploaded_file_as_null(value: Any) -> None:
    from django.core.files.uploadedfile import UploadedFile

    if isinstance(value, UploadedFile):
        return None
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def check_variables_size(variables: dict[str, Any] | None, limits: Limits) -> None:
    if not variables:
        return
    try:
        # Uploaded files (multipart requests, schema/uploads.py) count as null here: Django's
        # DATA_UPLOAD_MAX_MEMORY_SIZE and the upload settings bound them.
        size = len(
            json.dumps(variables, separators=(",", ":"), default=_uploaded_file_as_null).encode(
                "utf-8", "surrogatepass"
            )
        )
    except (TypeError, ValueError, RecursionError):
        size = limits.max_variables_bytes + 1
    if size > limits.max_variables_bytes:
        raise RequestRefused(
            errors.VARIABLES_TOO_LARGE,
            f"The variables are {size} bytes; the limit is {limits.max_variables_bytes}.",
            size=size,
            limit=limits.max_variables_bytes,
        )


class _Walker:
    """Depth (memoized per fragment) and per-selection-set width of one document."""

    def __init__(self, document: DocumentNode, limits: Limits) -> None:
        self.limits = limits
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.fragment_depths: dict[str, int] = {}
        self.visiting: set[str] = set()
        self.checked_sets: set[int] = set()
        # Measuring stops once a depth exceeds every bound: that is enough to refuse.
        self.stop_depth = max(limits.max_depth, limits.max_introspection_depth)
        self.uses_introspection = False

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        """Fields nested below this selection set (0 for none), fragments included."""
        if selection_set is None:
            return 0
        self.check_width(selection_set)
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                depth = 1 + self.depth(selection.selection_set) if selection.selection_set else 1
                if selection.name.value in INTROSPECTION_FIELDS:
                    self.check_introspection_depth(depth)
                    depth = 1
            elif isinstance(selection, InlineFragmentNode):
                depth = self.depth(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                depth = self.fragment_depth(selection.name.value)
            else:  # pragma: no cover - no other selection kinds exist
                continue
            deepest = max(deepest, depth)
            if deepest > self.stop_depth:
                break
        return deepest

    def check_introspection_depth(self, depth: int) -> None:
        """`depth` counts the `__schema`/`__type` field itself; its bound is what is below."""
        self.uses_introspection = True
        if depth - 1 > self.limits.max_introspection_depth:
            raise RequestRefused(
                errors.MAX_DEPTH_EXCEEDED,
                "Introspection is nested deeper than "
                f"{self.limits.max_introspection_depth} levels.",
                limit=self.limits.max_introspection_depth,
            )

    def fragment_depth(self, name: str) -> int:
        if name in self.fragment_depths:
            return self.fragment_depths[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            # Unknown fragments and cycles are validation errors, reported by validation.
            return 0
        self.visiting.add(name)
        try:
            depth = self.depth(definition.selection_set)
        finally:
            self.visiting.discard(name)
        self.fragment_depths[name] = depth
        return depth

    def check_width(self, selection_set: SelectionSetNode) -> None:
        if id(selection_set) in self.checked_sets:
            return
        self.checked_sets.add(id(selection_set))
        selections = selection_set.selections
        aliases = sum(
            1 for selection in selections
            if isinstance(selection, FieldNode) and selection.alias is not None
        )
        if aliases > self.limits.max_aliases:
            raise RequestRefused(
                errors.MAX_ALIASES_EXCEEDED,
                f"A selection set has {aliases} aliases; the limit is {self.limits.max_aliases}.",
                count=aliases,
                limit=self.limits.max_aliases,
            )
        if len(selections) > self.limits.max_fields:
            raise RequestRefused(
                errors.MAX_FIELDS_EXCEEDED,
                f"A selection set has {len(selections)} selections; "
                f"the limit is {self.limits.max_fields}.",
                count=len(selections),
                limit=self.limits.max_fields,
            )


def check_document_shape(document: DocumentNode, limits: Limits) -> bool:
    """Depth of every operation, width of every selection set (fragments included).

    Returns whether the document asks for introspection (`__schema` or `__type`).
    """
    walker = _Walker(document, limits)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            check_introspection_fields(walker, definition.selection_set)
            depth = walker.depth(definition.selection_set)
            if depth > limits.max_depth:
                raise RequestRefused(
                    errors.MAX_DEPTH_EXCEEDED,
                    f"The query is nested deeper than {limits.max_depth} levels.",
                    limit=limits.max_depth,
                )
        elif isinstance(definition, FragmentDefinitionNode):
            # Unused fragments are a validation error; measuring their width is still cheap.
            walker.check_width(definition.selection_set)
    return walker.uses_introspection


def count_introspection_fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> int:
    """`__schema`/`__type` fields selected at the root, through fragments.

    They exist only on the query root, so the root selection set (and the fragments spread
    into it) is the only place to look.
    """
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += selection.name.value in INTROSPECTION_FIELDS
        elif isinstance(selection, InlineFragmentNode):
            count += count_introspection_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                count += count_introspection_fields(
                    fragments[name].selection_set, fragments, seen | {name}
                )
    return count


def check_introspection_fields(walker: _Walker, selection_set: SelectionSetNode) -> None:
    count = count_introspection_fields(selection_set, walker.fragments)
    limit = walker.limits.max_introspection_fields
    if count > limit:
        raise RequestRefused(
            errors.MAX_INTROSPECTION_EXCEEDED,
            f"The operation selects __schema or __type {count} times; the limit is {limit}.",
            count=count,
            limit=limit,
        )


def too_deep_error() -> RequestRefused:
    """For documents whose nesting exhausts Python's recursion limit somewhere."""
    return RequestRefused(errors.MAX_DEPTH_EXCEEDED, "The document is nested too deeply.")


_UNKNOWN = object()


def check_introspection(user: Any = _UNKNOWN) -> None:
    """GRAPHQL_INTROSPECTION: "on" (the default with DEBUG), "staff" (otherwise) or "off".

    Called once before the viewer is known (only "off" can refuse then) and once after.
    """
    mode = settings.GRAPHQL_INTROSPECTION
    if mode == "on" or (mode == "staff" and user is _UNKNOWN):
        return
    if mode == "staff" and is_staff(user):
        return
    raise RequestRefused(
        errors.INTROSPECTION_DISABLED,
        "Introspection is disabled" + (" except for staff." if mode == "staff" else "."),
        policy=mode,
    )
