"""HTTP-level guards of the GraphQL endpoint: CSRF for cookie sessions, oversized bodies.

CSRF: the view is exempt from Django's CSRF middleware because token clients (API keys,
`Authorization: Bearer`) and anonymous clients need no CSRF token. A request that carries a
session (or JWT) cookie and neither an `Authorization` nor an `X-API-Key` header is one a
browser may send on its own, so it must pass Django's CSRF check (the `X-CSRFToken` header
with the `csrftoken` cookie, and the Origin/Referer checks): otherwise CSRF_FAILED, HTTP 403.

Bodies: a body over DATA_UPLOAD_MAX_MEMORY_SIZE answers REQUEST_TOO_LARGE with HTTP 413
before it is read (RequestGuardMiddleware), never Django's HTML 400 page.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from schema import errors
from schema.errors import RequestRefused

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def _jwt_cookie_name() -> str | None:
    return getattr(settings, "GRAPHQL_JWT", {}).get("JWT_COOKIE_NAME")


def needs_csrf_check(request: Any) -> bool:
    if request.method in SAFE_METHODS:
        return False
    if request.headers.get("Authorization") or request.headers.get("X-API-Key"):
        return False
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME in cookies or (_jwt_cookie_name() or "\0") in cookies


def _protected_view(request: HttpRequest) -> HttpResponse:  # a view that is not csrf_exempt
    return HttpResponse()  # never called: the CSRF check only looks at the view


def check_csrf(request: Any) -> None:
    """Enforce Django's CSRF check on cookie-authenticated unsafe requests."""
    if not needs_csrf_check(request):
        return
    rejection = CsrfViewMiddleware(_protected_view).process_view(
        request, _protected_view, (), {}
    )
    if rejection is not None:
        raise RequestRefused(
            errors.CSRF_FAILED,
            "CSRF verification failed: cookie-authenticated requests must send the "
            "X-CSRFToken header (or use a bearer token or API key).",
        ).with_http_status(403)


def _is_graphql_view(view_func: Any) -> bool:
    """Whether the view is one whose body errors this middleware answers: its class says
    `guarded = True` (schema/view.py's VitrineGraphQLView)."""
    return getattr(getattr(view_func, "view_class", None), "guarded", False) is True


def _json_error(status: int, code: str, message: str, **extensions: Any) -> HttpResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def _too_large() -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _json_error(
        413, errors.REQUEST_TOO_LARGE, f"The request body exceeds {limit} bytes.", limit=limit
    )


class RequestGuardMiddleware:
    """Answers oversized and undecodable GraphQL requests with coded JSON errors."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any],
                     view_args: tuple[Any, ...], view_kwargs: dict[str, Any]
                     ) -> HttpResponse | None:
        if not _is_graphql_view(view_func):
            return None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return _too_large()
        return None

    def process_exception(self, request: HttpRequest, exception: Exception
                          ) -> HttpResponse | None:
        match = getattr(request, "resolver_match", None)
        if match is None or not _is_graphql_view(match.func):
            return None
        if isinstance(exception, RequestDataTooBig):
            return _too_large()
        if isinstance(exception, (TooManyFieldsSent, UnicodeDecodeError)):
            return _json_error(400, errors.BAD_REQUEST, "The request could not be decoded.")
        return None
