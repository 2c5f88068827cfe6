"""HTTP caching of GraphQL responses: `Cache-Control`, `ETag` and 304 for GET queries.

A GET query whose response may be cached (OperationResult.cache_policy, schema/cache_control.py)
gets a weak `ETag` of its `data` (its `extensions` report the client's throttle status, which
changes every time: the same data is the same representation for a cache) and
`Cache-Control`:

- PUBLIC: `public, max-age=<policy>, stale-while-revalidate=<GRAPHQL_CACHE_STALE_WHILE_REVALIDATE>`
  (CDNs and browsers may keep it; a persisted query by hash makes a short, cacheable URL);
- PRIVATE (a signed-in viewer, or a per-viewer field): `private, no-cache` (the browser may
  keep it but must revalidate: the ETag makes that a 304).

`If-None-Match` with a matching ETag answers 304 without a body. Everything else (mutations,
errors, refusals, POST requests) is `no-store`. `Vary` names what changes the answer: the
media type negotiated from `Accept`, and the credentials (`Authorization`, `X-API-Key`, the
cookies of a session or a JWT). GRAPHQL_CACHE_CONTROL=0 turns all of it off.
"""
from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags

from schema import encoding
from schema.cache_control import PUBLIC

VARY = ("Accept", "Authorization", "X-API-Key", "Cookie")


def etag(result: Any) -> str:
    data_json = result.data_json if result.data_json is not None else encoding.dumps(result.data)
    return 'W/"%s"' % hashlib.sha256(data_json).hexdigest()[:32]


def cache_control(policy: Any) -> str:
    if policy.scope == PUBLIC:
        return (f"public, max-age={policy.max_age}, "
                f"stale-while-revalidate={settings.GRAPHQL_CACHE_STALE_WHILE_REVALIDATE}")
    return "private, no-cache"


def _matches(request: Any, tag: str) -> bool:
    wanted = parse_etags(request.headers.get("If-None-Match", ""))
    weak = tag.removeprefix("W/")
    return "*" in wanted or any(candidate.removeprefix("W/") == weak for candidate in wanted)


def apply(request: Any, response: HttpResponse, result: Any) -> HttpResponse:
    """Add the caching headers to `response`, or answer 304 instead."""
    if not settings.GRAPHQL_CACHE_CONTROL:
        return response
    policy = result.cache_policy
    if request.method != "GET" or policy is None or response.status_code != 200:
        response["Cache-Control"] = "no-store"
        return response
    tag = etag(result)
    if _matches(request, tag):
        response = HttpResponseNotModified()
    response["ETag"] = tag
    response["Cache-Control"] = cache_control(policy)
    patch_vary_headers(response, VARY)
    return response
