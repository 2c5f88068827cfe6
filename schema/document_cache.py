"""Parsed and validated documents, keyed by the SHA-256 of their text, in a bounded LRU.

`load` is the pipeline's document step: the size, token and shape limits, parsing and
validation (graphql-core's specified rules plus its recommended ones, which bound nested
`fields`/`interfaces`/`possibleTypes` in introspection), each failure tagged with its code.

A repeated document (the catalog page, a persisted query) skips parsing, the limit checks and
validation; its cost plan per operation (schema/cost.py) is compiled once and kept with it.
Only documents that passed every check are stored, so a refused document is checked again
each time it comes back.

The cache is per process (GRAPHQL_DOCUMENT_CACHE_SIZE entries, default 500; 0 turns it off);
a worker's entries go with it. It is keyed by the schema too and emptied whenever a setting
changes (tests), because the limits and cost rules are settings.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    recommended_rules,
    specified_rules,
    validate,
)

from schema import errors
from schema.cache_control import DocumentPolicy, document_policy
from schema.cost import CostPlan, compile_plan
from schema.limits import Limits, check_document_shape, check_document_size, parse_bounded
from schema.per_viewer import selects_per_viewer

VALIDATION_RULES = (*specified_rules, *recommended_rules)


def document_hash(query: str) -> str:
    """The lowercase hex SHA-256 of a document: the APQ hash too."""
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class DocumentEntry:
    document: DocumentNode
    uses_introspection: bool
    hash: str = ""
    """The document's SHA-256 (its cache key, the APQ hash)."""
    plans: dict[int, CostPlan] = field(default_factory=dict)
    _per_viewer: bool | None = None
    _cache_policy: DocumentPolicy | None = None

    def cache_policy(self, schema: GraphQLSchema) -> DocumentPolicy:
        """What its selection says about caching (schema/cache_control.py), computed once."""
        if self._cache_policy is None:
            self._cache_policy = document_policy(schema, self.document)
        return self._cache_policy

    def selects_per_viewer(self, schema: GraphQLSchema) -> bool:
        """Whether the document selects a field marked per-viewer (schema/per_viewer.py)."""
        if self._per_viewer is None:
            self._per_viewer = selects_per_viewer(schema, self.document)
        return self._per_viewer

    def plan(
        self, schema: GraphQLSchema, operation: OperationDefinitionNode
    ) -> CostPlan:
        key = id(operation)
        plan = self.plans.get(key)
        if plan is None:
            # Two threads may compile the same plan at once: equal results, last one kept.
            plan = self.plans[key] = compile_plan(schema, self.document, operation)
        return plan


class DocumentCache:
    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._entries: OrderedDict[tuple[int, str], DocumentEntry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, schema: Any, key: str) -> DocumentEntry | None:
        if self.max_size <= 0:
            return None
        with self._lock:
            entry = self._entries.get((id(schema), key))
            if entry is not None:
                self._entries.move_to_end((id(schema), key))
            return entry

    def put(self, schema: Any, key: str, entry: DocumentEntry) -> None:
        if self.max_size <= 0:
            return
        with self._lock:
            self._entries[(id(schema), key)] = entry
            self._entries.move_to_end((id(schema), key))
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def load(schema: GraphQLSchema, query: str,
         limits: Limits) -> tuple[DocumentEntry, list[GraphQLError]]:
    """The checked document of `query` (from the cache when it is there), or its errors.

    The limits run before graphql-core's validation: some of its rules are quadratic in the
    width of a selection set. Raises the limits' RequestRefused.
    """
    cache = get_cache()
    check_document_size(query, limits)
    key = document_hash(query)
    entry = cache.get(schema, key)
    if entry is not None:
        return entry, []
    try:
        document = parse_bounded(query, limits)
    except GraphQLSyntaxError as error:
        return None, [errors.phase_error(error, errors.GRAPHQL_PARSE_FAILED)]  # type: ignore[return-value]
    uses_introspection = check_document_shape(document, limits)
    failures = validate(schema, document, VALIDATION_RULES)
    if failures:
        return None, [  # type: ignore[return-value]
            errors.phase_error(error, errors.GRAPHQL_VALIDATION_FAILED) for error in failures
        ]
    entry = DocumentEntry(document, uses_introspection, key)
    cache.put(schema, key, entry)
    return entry, []


_cache: DocumentCache | None = None


def get_cache() -> DocumentCache:
    global _cache
    if _cache is None:
        _cache = DocumentCache(settings.GRAPHQL_DOCUMENT_CACHE_SIZE)
    return _cache


def _reset(**kwargs: Any) -> None:
    global _cache
    _cache = None


setting_changed.connect(_reset, dispatch_uid="vitrine.document_cache.reset")
