"""Static limits on a GraphQL request, checked before validation and before any resolver.

Cheapest first, each refused with its own code (schema/errors.py):

| check | setting | code |
|---|---|---|
| document size in UTF-8 bytes | GRAPHQL_MAX_DOCUMENT_BYTES | DOCUMENT_TOO_LARGE |
| lexical tokens (graphql-core stops parsing past it) | GRAPHQL_MAX_TOKENS | MAX_TOKENS_EXCEEDED |
| variables size (compact JSON, bytes) | GRAPHQL_MAX_VARIABLES_BYTES | VARIABLES_TOO_LARGE |
| field nesting depth, through fragments | GRAPHQL_MAX_DEPTH | MAX_DEPTH_EXCEEDED |
| aliases in one selection set | GRAPHQL_MAX_ALIASES | MAX_ALIASES_EXCEEDED |
| selections (fields, spreads) in one selection set | GRAPHQL_MAX_FIELDS | MAX_FIELDS_EXCEEDED |

The AST checks run before graphql-core's validation on purpose: some of its rules (overlapping
fields) are quadratic in the width of a selection set, so 10,000 aliases must be refused first.
They are one linear walk of the document; each named fragment is measured once.
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
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)

from schema import errors
from schema.errors import RequestRefused

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


@dataclass(frozen=True)
class Limits:
    max_document_bytes: int
    max_tokens: int
    max_variables_bytes: int
    max_depth: int
    max_aliases: int
    max_fields: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_document_bytes=settings.GRAPHQL_MAX_DOCUMENT_BYTES,
            max_tokens=settings.GRAPHQL_MAX_TOKENS,
            max_variables_bytes=settings.GRAPHQL_MAX_VARIABLES_BYTES,
            max_depth=settings.GRAPHQL_MAX_DEPTH,
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
        self.uses_introspection = False

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        """Fields nested below this selection set (0 for none), fragments included."""
        if selection_set is None:
            return 0
        self.check_width(selection_set)
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in INTROSPECTION_FIELDS:
                    self.uses_introspection = True
                depth = 1 + self.depth(selection.selection_set) if selection.selection_set else 1
            elif isinstance(selection, InlineFragmentNode):
                depth = self.depth(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                depth = self.fragment_depth(selection.name.value)
            else:  # pragma: no cover - no other selection kinds exist
                continue
            deepest = max(deepest, depth)
            if deepest > self.limits.max_depth:
                # Stop early: nothing deeper needs measuring to refuse.
                break
        return deepest

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


def too_deep_error() -> GraphQLError:
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
    if mode == "staff" and getattr(user, "is_staff", False) and user.is_active:
        return
    raise RequestRefused(
        errors.INTROSPECTION_DISABLED,
        "Introspection is disabled" + (" except for staff." if mode == "staff" else "."),
    )
