"""GraphQL errors a client can cause, and the one formatter every error leaves through.

Every error carries a stable `extensions.code`. Anything we did not raise on purpose is
reported as `INTERNAL` with a generic message: tracebacks and internals never reach clients.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import DataError, InterfaceError, OperationalError
from graphql import GraphQLError, GraphQLFormattedError, GraphQLSyntaxError

from accounts.viewer import NotAuthenticated

logger = logging.getLogger("vitrine.errors")

BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
INTERNAL = "INTERNAL"
BAD_REQUEST = "BAD_REQUEST"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
# Refusals of the API's protections (schema/limits.py, cost.py, throttle.py,
# persisted_queries.py, request_guard.py): all happen before any resolver runs.
DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
MAX_TOKENS_EXCEEDED = "MAX_TOKENS_EXCEEDED"
MAX_DEPTH_EXCEEDED = "MAX_DEPTH_EXCEEDED"
MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
MAX_FIELDS_EXCEEDED = "MAX_FIELDS_EXCEEDED"
VARIABLES_TOO_LARGE = "VARIABLES_TOO_LARGE"
MAX_COST_EXCEEDED = "MAX_COST_EXCEEDED"
MAX_NODES_EXCEEDED = "MAX_NODES_EXCEEDED"
THROTTLED = "THROTTLED"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
MAX_INTROSPECTION_EXCEEDED = "MAX_INTROSPECTION_EXCEEDED"
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
CSRF_FAILED = "CSRF_FAILED"
# A subscription sent as a plain HTTP request: it needs a streaming transport.
SUBSCRIPTION_TRANSPORT_REQUIRED = "SUBSCRIPTION_TRANSPORT_REQUIRED"
# The database is unreachable: retry after `retryAfter` seconds (HTTP 503).
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
RETRY_AFTER_SECONDS = 5
RETRY_HEADERS = {"Retry-After": str(RETRY_AFTER_SECONDS)}


class CodedError(GraphQLError):
    """A GraphQL error whose `extensions.code` is fixed by its class."""

    code = INTERNAL

    def __init__(self, message: str, *, field: str | None = None, **extensions: Any) -> None:
        extensions = {"code": self.code, **extensions}
        if field is not None:
            extensions["field"] = field
        super().__init__(message, extensions=extensions)


class BadUserInput(CodedError):
    code = BAD_USER_INPUT


class NotFound(CodedError):
    code = NOT_FOUND


class Unauthenticated(CodedError):
    code = UNAUTHENTICATED


class Forbidden(CodedError):
    code = FORBIDDEN


class RequestRefused(CodedError):
    """A request refused before execution; its code is given per instance.

    With an HTTP status (and headers) the view answers it as an HTTP error (THROTTLED: 429
    with `Retry-After`); without, as a GraphQL request error.
    """

    http_status: int | None = None
    headers: dict[str, str] | None = None
    response_extensions: dict[str, Any] | None = None
    """The response's own `extensions` (the cost of a throttled operation)."""

    def __init__(self, code: str, message: str, **extensions: Any) -> None:
        self.code = code
        super().__init__(message, **extensions)

    def with_http_status(self, status: int, **headers: str) -> RequestRefused:
        self.http_status = status
        self.headers = headers
        return self

    def with_extensions(self, extensions: dict[str, Any]) -> RequestRefused:
        self.response_extensions = extensions
        return self


def unexpected(cause: BaseException) -> RequestRefused:
    """The error a client gets for an exception we did not raise on purpose; the one place
    it is logged (with its traceback).

    The database being unreachable is SERVICE_UNAVAILABLE (HTTP 503, Retry-After): the
    client should retry. Anything else is INTERNAL, with a generic message.
    """
    if database_unavailable(cause):
        logger.warning("Database unavailable: %s", cause)
        return RequestRefused(
            SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable; retry shortly.",
            retryAfter=RETRY_AFTER_SECONDS,
        ).with_http_status(503, **RETRY_HEADERS)
    logger.error("Unhandled error", exc_info=cause)
    return RequestRefused(INTERNAL, "Internal server error.")


def database_unavailable(cause: BaseException | None) -> bool:
    """Whether `cause` says the database could not be reached (or the connection broke)."""
    return isinstance(cause, (OperationalError, InterfaceError))


def any_database_unavailable(error_list: Iterable[GraphQLError] | None) -> bool:
    """Whether a resolver of this result failed because the database was unreachable: the
    whole response is then SERVICE_UNAVAILABLE for HTTP (503 with Retry-After), so that
    clients and proxies retry, even though other fields may have data."""
    return any(database_unavailable(getattr(error, "original_error", None))
               for error in error_list or ())


class DependencyOutage:
    """A dependency that fails (the cache, Redis), as its callers see it.

    Logged when it starts failing and when it answers again, once each per process, not once
    per request. While it is down, `skip()` lets one call in `probe_seconds` try it and
    answers the others at once (their callers take their fallback without waiting for a
    connection that will fail, or time out). All is well: `skip()` and `recovered()` cost one
    attribute read each.
    """

    probe_seconds = 1.0

    def __init__(self, log: logging.Logger, down_message: str, up_message: str) -> None:
        self.log = log
        self.down_message = down_message
        self.up_message = up_message
        self.down = False
        self._next_probe = 0.0
        self._lock = threading.Lock()

    def skip(self) -> bool:
        """Whether not to call the dependency now (down, and probed a moment ago)."""
        if not self.down:
            return False
        now = time.monotonic()
        with self._lock:
            if now < self._next_probe:
                return True
            self._next_probe = now + self.probe_seconds
            return False

    def failed(self, error: Exception) -> None:
        with self._lock:
            self._next_probe = time.monotonic() + self.probe_seconds
            if self.down:
                return
            self.down = True
        self.log.warning(self.down_message, error)

    def recovered(self) -> None:
        if not self.down:
            return
        with self._lock:
            if not self.down:
                return
            self.down = False
        self.log.warning(self.up_message)


def phase_error(error: GraphQLError, code: str) -> GraphQLError:
    """Tag an error raised before execution (parse, validation, variables) with its code."""
    error.extensions = {**(error.extensions or {}), "code": code}
    return error


def tag_variable_errors(error_list: Iterable[GraphQLError] | None) -> None:
    """Execution errors without a path come from coercing the request's variables (or an
    unknown operation name): the client's input, so BAD_USER_INPUT unless already coded."""
    for error in error_list or ():
        if not error.path and not (error.extensions or {}).get("code"):
            phase_error(error, BAD_USER_INPUT)


def format_error(error: Exception) -> GraphQLFormattedError:
    """Serialize any error for the response; the single exit for errors."""
    if not isinstance(error, GraphQLError):
        # Raised outside GraphQL execution (HTTP method, body parsing).
        extensions = {"code": getattr(error, "code", BAD_REQUEST)}
        extensions.update(getattr(error, "extensions", None) or {})
        return {"message": str(error), "extensions": extensions}
    return coded(error).formatted


def coded(error: GraphQLError) -> GraphQLError:
    """The error with its code, from its cause when it has none (a domain error, Django's
    ValidationError, an unexpected exception): what the client and the request log see."""
    if isinstance(error, GraphQLSyntaxError):
        return phase_error(error, GRAPHQL_PARSE_FAILED)
    if not (error.extensions or {}).get("code"):
        return _with_code_from_cause(error)
    return error


def _with_code_from_cause(error: GraphQLError) -> GraphQLError:
    cause = error.original_error
    if cause is None:
        # graphql-core's own errors without a cause are validation errors.
        return phase_error(error, GRAPHQL_VALIDATION_FAILED)
    if isinstance(cause, GraphQLError) and (cause.extensions or {}).get("code"):
        error.extensions = cause.extensions
        return error
    if isinstance(cause, ValidationError):
        return _copy(error, _validation_message(cause), BAD_USER_INPUT, _validation_field(cause))
    if isinstance(cause, DataError) or _is_lone_surrogate(cause):
        # The database refused a client's value: a NUL character in text (PostgreSQL), or a
        # lone surrogate (`"\ud800"` in JSON), which no database encoding can hold.
        return _copy(error, "A value in the request cannot be stored or searched.", BAD_USER_INPUT)
    if isinstance(cause, ObjectDoesNotExist):
        return _copy(error, _domain_message(cause, "Not found."), NOT_FOUND)
    if isinstance(cause, NotAuthenticated):
        return _copy(error, _domain_message(cause, "Sign in to do this."), UNAUTHENTICATED)
    if isinstance(cause, PermissionDenied):
        return _copy(error, _domain_message(cause, "You do not have permission to do this."),
                     FORBIDDEN)
    coded = unexpected(cause)
    return _copy(error, coded.message, coded.code, extensions=coded.extensions)


def _domain_message(cause: Exception, default: str) -> str:
    """The message a service gave its domain error, or `default` (for Django's own, such as
    "Product matching query does not exist.", which names models, not the problem)."""
    message = cause.args[0] if cause.args and isinstance(cause.args[0], str) else ""
    if not message or message.endswith("matching query does not exist."):
        return default
    return message


def _is_lone_surrogate(cause: BaseException) -> bool:
    return isinstance(cause, UnicodeEncodeError) and cause.reason == "surrogates not allowed"


def _copy(error: GraphQLError, message: str, code: str, field: str | None = None,
          extensions: dict[str, Any] | None = None) -> GraphQLError:
    extensions = {**(extensions or {}), "code": code}
    if field:
        extensions["field"] = field
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def _validation_details(cause: ValidationError) -> list[tuple[str | None, str]]:
    if hasattr(cause, "error_dict"):
        return [
            (field, message)
            for field, errors in cause.message_dict.items()
            for message in errors
        ]
    messages = cause.messages
    # django-filter's invalid filterset arrives as a JSON string of its form errors.
    if len(messages) == 1:
        try:
            form_errors = json.loads(messages[0])
        except ValueError:
            form_errors = None
        if isinstance(form_errors, dict):
            return [
                (field, error["message"])
                for field, errors in form_errors.items()
                for error in errors
            ]
    return [(None, message) for message in messages]


def _validation_field(cause: ValidationError) -> str | None:
    from graphene.utils.str_converters import to_camel_case

    field = _validation_details(cause)[0][0]
    return to_camel_case(field) if field and field != "__all__" else None


def _validation_message(cause: ValidationError) -> str:
    return " ".join(message for _, message in _validation_details(cause))
