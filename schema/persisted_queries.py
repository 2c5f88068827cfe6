"""Automatic persisted queries (Apollo's APQ protocol) and an allow-list mode.

APQ: a client sends `extensions.persistedQuery = {version: 1, sha256Hash}` without the query;
an unknown hash answers PERSISTED_QUERY_NOT_FOUND (message `PersistedQueryNotFound`, which
Apollo's link looks for) and the client sends the hash again with the query, which registers it
(after it parsed and validated) in Django's cache (GRAPHQL_APQ_CACHE, for GRAPHQL_APQ_TTL
seconds). A query whose SHA-256 differs from the hash answers PERSISTED_QUERY_HASH_MISMATCH
(HTTP 400). GET works too: `?extensions={"persistedQuery":...}` (queries only).

Allow-list mode (GRAPHQL_PERSISTED_QUERIES_ONLY): only documents of the allow-list file
(GRAPHQL_PERSISTED_QUERIES_FILE) run, by hash or by full text; anything else answers
PERSISTED_QUERY_NOT_ALLOWED and clients cannot register documents. The file is JSON: either
`{"<sha256>": "<query>", ...}`, a list of query strings, or an Apollo persisted-query manifest
(`{"operations": [{"id": "<sha256>", "body": "<query>"}, ...]}`); every hash is checked
against its query when the file is loaded.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from schema import errors
from schema.document_cache import document_hash
from schema.errors import RequestRefused

HASH_PATTERN = re.compile(r"^[0-9a-fA-F]{64}$")
CACHE_PREFIX = "vitrine:apq:"


def extensions_of(data: Any) -> dict[str, Any] | None:
    """The request's `extensions` map (a JSON string in GET parameters)."""
    value = data.get("extensions") if hasattr(data, "get") else None
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except (ValueError, RecursionError):
            return None  # the view's parameter checks answer this one
    return value if isinstance(value, dict) else None


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The APQ hash the request names, or None when it uses no persisted query."""
    if not extensions or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise RequestRefused(
            errors.PERSISTED_QUERY_NOT_SUPPORTED,
            "Only persisted query version 1 is supported.",
        ).with_http_status(400)
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not HASH_PATTERN.match(sha256):
        raise RequestRefused(
            errors.BAD_REQUEST, "`persistedQuery.sha256Hash` must be a hex SHA-256."
        ).with_http_status(400)
    return sha256.lower()


def in_request(data: Any) -> bool:
    """Whether the request names a persisted query (then `query` may be absent)."""
    extensions = extensions_of(data)
    return bool(extensions and extensions.get("persistedQuery") is not None)


def allow_list_only() -> bool:
    return settings.GRAPHQL_PERSISTED_QUERIES_ONLY


def resolve(query: str | None, sha256: str | None) -> tuple[str | None, bool]:
    """(the document to run, whether to register it once it validates).

    Raises the APQ and allow-list refusals.
    """
    allowed = allow_list()
    if sha256 is None:
        if allow_list_only() and query is not None and document_hash(query) not in allowed:
            raise _not_allowed()
        return query, False
    if query is not None:
        if document_hash(query) != sha256:
            raise RequestRefused(
                errors.PERSISTED_QUERY_HASH_MISMATCH,
                "The query's SHA-256 does not match `persistedQuery.sha256Hash`.",
            ).with_http_status(400)
        if allow_list_only():
            if sha256 not in allowed:
                raise _not_allowed()
            return query, False
        return query, settings.GRAPHQL_APQ_ENABLED
    if sha256 in allowed:
        return allowed[sha256], False
    if allow_list_only():
        raise _not_allowed()
    stored = _cache().get(CACHE_PREFIX + sha256) if settings.GRAPHQL_APQ_ENABLED else None
    if stored is None:
        raise RequestRefused(errors.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
    return stored, False


def register(sha256: str, query: str) -> None:
    _cache().set(CACHE_PREFIX + sha256, query, settings.GRAPHQL_APQ_TTL)


def _cache() -> BaseCache:
    return caches[settings.GRAPHQL_APQ_CACHE]


def _not_allowed() -> RequestRefused:
    return RequestRefused(
        errors.PERSISTED_QUERY_NOT_ALLOWED,
        "Only persisted queries from the allow-list may run on this server.",
    )


def allow_list() -> dict[str, str]:
    path = settings.GRAPHQL_PERSISTED_QUERIES_FILE
    return _load_allow_list(str(path)) if path else {}


@lru_cache(maxsize=4)
def _load_allow_list(path: str) -> dict[str, str]:
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(f"GRAPHQL_PERSISTED_QUERIES_FILE {path!r}: {error}") from None
    if isinstance(content, dict) and isinstance(content.get("operations"), list):
        pairs = [(item.get("id"), item.get("body")) for item in content["operations"]]
    elif isinstance(content, dict):
        pairs = list(content.items())
    elif isinstance(content, list):
        pairs = [(None, query) for query in content]
    else:
        raise ImproperlyConfigured(f"GRAPHQL_PERSISTED_QUERIES_FILE {path!r}: not a map or list")
    documents = {}
    for sha256, query in pairs:
        if not isinstance(query, str):
            raise ImproperlyConfigured(f"{path}: every persisted query must be a string")
        actual = document_hash(query)
        if sha256 is not None and str(sha256).lower() != actual:
            raise ImproperlyConfigured(f"{path}: hash {sha256} does not match its query")
        documents[actual] = query
    return documents


def _reset(**kwargs: Any) -> None:
    _load_allow_list.cache_clear()


setting_changed.connect(_reset, dispatch_uid="vitrine.persisted_queries.reset")
