"""The GraphQL HTTP endpoint: graphene-django's view with our execution and error rules.

Each phase (parse, validate, execute) tags its own errors with a code, so clients can tell a
typo in a query from bad variables from a failure while resolving.

The HTTP side follows the GraphQL-over-HTTP draft (audited by tests/test_http_audit.py):

- The response media type comes from `Accept`: `application/graphql-response+json` when the
  client names it (and prefers it at least as much as `application/json`), otherwise
  `application/json`, which is also the answer to a missing `Accept` or `*/*`. A request that
  accepts neither gets 406. Browsers asking for HTML with GET get GraphiQL.
- With `application/json` every well-formed request answers 200, whatever its GraphQL errors.
  With `application/graphql-response+json` a request error (the document does not parse or
  validate, or the variables do not coerce: no execution, no `data` entry) answers 400, and a
  response with a `data` entry answers 200.
- A malformed HTTP request answers 4xx whatever was accepted: 400 for a body or parameter
  that is not what the spec allows, 405 for other methods and for mutations over GET, 415 for
  a POST body that is not `application/json` (or graphene's legacy `application/graphql`, or
  a multipart upload, schema/uploads.py). Form-encoded POSTs are refused: they are CORS
  "simple requests" and this view is exempt from CSRF checks (uploads must send a preflight
  header for that reason).
"""
from __future__ import annotations

import json
from typing import Any, Protocol

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseNotAllowed,
    QueryDict,
)
from django.http.multipartparser import MultiPartParserError
from django.utils.decorators import method_decorator
from django.utils.http import parse_header_parameters
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView, HttpError
from graphql import OperationType

from accounts import ratelimit
from accounts.auth import AuthenticationFailed, authenticate_request, request_has_credentials
from schema import encoding, errors, http_caching, persisted_queries, pipeline, request_guard
from schema.client import Client
from schema.errors import RequestRefused

HTTP_TRANSPORT = "http"
# What serves subscriptions (subscriptions/): named by refusals of one sent over plain HTTP.
STREAMING_TRANSPORTS = ("graphql-sse", "graphql-transport-ws", "graphql-ws")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
TEXT_HTML = "text/html"
# Request bodies we read: JSON per the spec, and graphene's legacy raw-query body.
JSON_BODY = "application/json"
GRAPHQL_BODY = "application/graphql"


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    """The (media range, q) pairs of an Accept header; malformed q values count as 0."""
    ranges = []
    for item in accept.split(","):
        media_range, params = parse_header_parameters(item)
        if not media_range:
            continue
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 0.0
        ranges.append((media_range, q))
    return ranges


def _acceptance(media_type: str, ranges: list[tuple[str, float]]) -> tuple[float, int]:
    """(q, specificity) of `media_type` by the most specific range that matches it.

    Specificity: 2 for the exact type, 1 for `type/*`, 0 for `*/*`; (0, -1) when no range
    matches.
    """
    main_type = media_type.split("/", 1)[0]
    best = (0.0, -1)
    for media_range, q in ranges:
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{main_type}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[1]:
            best = (q, specificity)
    return best


def negotiate(accept: str | None, candidates: tuple[str, ...] = (
    GRAPHQL_RESPONSE_JSON, APPLICATION_JSON,
)) -> str | None:
    """The media type to answer with, or None when the client accepts none of `candidates`.

    Highest q wins, then the more specific match. On a tie, a type the client named exactly
    wins in the order of `candidates`; a tie between wildcard matches goes to
    `application/json`, the default while clients migrate (GraphQL-over-HTTP "watershed").
    """
    if not accept or not accept.strip():
        return APPLICATION_JSON if APPLICATION_JSON in candidates else candidates[0]
    ranges = _media_ranges(accept)
    best, best_key = None, None
    for rank, candidate in enumerate(candidates):
        q, specificity = _acceptance(candidate, ranges)
        if q <= 0:
            continue
        if specificity == 2:
            preference = -rank
        else:
            preference = 1 if candidate == APPLICATION_JSON else -rank
        key = (q, specificity, preference)
        if best_key is None or key > best_key:
            best, best_key = candidate, key
    return best


def _bad_request(message: str) -> HttpError:
    return HttpError(HttpResponseBadRequest(message))


def _http_error(status: int, message: str) -> HttpError:
    return HttpError(HttpResponse(message, status=status))


def _optional_map(name: str, value: Any, *, json_text: bool) -> dict[str, Any] | None:
    """A `variables` or `extensions` parameter: a map, or absent/null.

    GET parameters (and, for compatibility, form-style values) carry it as JSON text.
    """
    if json_text and isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise _bad_request(f"`{name}` is not valid JSON.") from None
    if value is None or isinstance(value, dict):
        return value
    raise _bad_request(f"`{name}` must be a map (a JSON object).")


def _error_media_type(request: HttpRequest) -> str:
    """What to answer an error before the body was read in: what the client accepts, or JSON."""
    return negotiate(request.headers.get("Accept")) or APPLICATION_JSON


def _mutations_need_post(operation_type: OperationType) -> RequestRefused | None:
    """GET is safe: a mutation over GET would let a link or an image write."""
    if operation_type != OperationType.MUTATION:
        return None
    return RequestRefused(
        errors.BAD_REQUEST, "Can only perform a mutation from a POST request."
    ).with_http_status(405, Allow="POST")


def _subscriptions_need_a_stream(operation_type: OperationType) -> RequestRefused | None:
    if operation_type != OperationType.SUBSCRIPTION:
        return None
    return RequestRefused(
        errors.SUBSCRIPTION_TRANSPORT_REQUIRED,
        "Subscriptions need a streaming transport: Server-Sent Events at this URL "
        "(graphql-sse: `Accept: text/event-stream`), or a websocket (graphql-transport-ws, as "
        "graphql-ws, Apollo's GraphQLWsLink and GraphiQL speak it, or the legacy graphql-ws "
        "subprotocol), not a plain HTTP request.",
        transports=list(STREAMING_TRANSPORTS),
    )


def _plain_http_over_get(operation_type: OperationType) -> RequestRefused | None:
    return _mutations_need_post(operation_type) or _subscriptions_need_a_stream(operation_type)


def _refusal(method: str | None, *, streaming: bool) -> pipeline.Refusal:
    """What an HTTP request cannot carry: mutations over GET; subscriptions unless it streams."""
    if streaming:
        return _mutations_need_post if method == "GET" else pipeline.carries_everything
    return _plain_http_over_get if method == "GET" else _subscriptions_need_a_stream


class EventStreamTransport(Protocol):
    """What the view hands streaming requests to (subscriptions/sse.py's EventStream)."""

    @property
    def transport(self) -> str: ...

    @property
    def media_type(self) -> str: ...

    def respond(self, request: HttpRequest,
                operation: pipeline.OperationRequest) -> HttpResponseBase: ...


# The parsed parameters of a request: a JSON body's object, or a GET's query string.
RequestData = dict[str, Any] | QueryDict


@method_decorator(csrf_exempt, name="dispatch")
class VitrineGraphQLView(GraphQLView):  # type: ignore[misc]  # graphene-django is untyped
    format_error = staticmethod(errors.format_error)
    guarded = True  # schema/request_guard.py's middleware answers its body errors in JSON
    event_stream: EventStreamTransport | None = None
    """The streaming transport for requests that accept only its media type (Server-Sent
    Events, subscriptions/sse.py), given by the URL configuration: `respond(request,
    operation_request)` returns the streaming response."""

    def __init__(self, *, event_stream: EventStreamTransport | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.event_stream = event_stream

    # -- HTTP protocol --------------------------------------------------------------------

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # `request`: an HttpRequest, given our attributes (`client`, accounts/auth.py's).
        request.client = Client.from_meta(request.META)
        try:
            # Once per request, before anything runs (accounts/auth.py), behind the cheap
            # per-address guard (accounts/ratelimit.py).
            with ratelimit.counting_failures(request.client.address,
                                             has_credentials=request_has_credentials(request)):
                authenticate_request(request)
        except AuthenticationFailed as failure:
            return self.authentication_failed(request, failure)
        except Exception as error:  # RATE_LIMITED before any lookup, or the database is down
            result = (pipeline.OperationResult.refusal(error) if isinstance(error, RequestRefused)
                      else pipeline.OperationResult.failure(error))
            return self.respond(request, result, _error_media_type(request))
        if request.method == "GET" and self.graphiql and self.can_display_graphiql(
            request, request.GET
        ):
            # graphene-django renders the page (with the settings its template expects).
            page: HttpResponseBase = super().dispatch(request, *args, **kwargs)
            return page
        event_stream = self.event_stream
        if event_stream is not None and self._wants_event_stream(request, event_stream):
            return self.stream(request, event_stream)
        media_type = APPLICATION_JSON
        try:
            if request.method not in ("GET", "POST"):
                raise HttpError(
                    HttpResponseNotAllowed(
                        ["GET", "POST"], "GraphQL only supports GET and POST requests."
                    )
                )
            accepted = negotiate(request.headers.get("Accept"))
            if accepted is None:
                raise _http_error(
                    406,
                    f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}.",
                )
            media_type = accepted
            result = self.execute_operation(request, self._read_body(request))
        except HttpError as error:
            return self.http_error_response(request, error, media_type)
        return self.respond(request, result, media_type)

    def _read_body(self, request: HttpRequest) -> RequestData:
        """parse_body, with Django's own refusals of a body as JSON errors, not HTML pages."""
        try:
            return self.parse_body(request)
        except RequestDataTooBig:
            raise _http_error(413, "The request body is too large.") from None
        except (SuspiciousOperation, MultiPartParserError) as error:
            raise _bad_request(f"The request body was refused: {error}") from None

    def parse_body(self, request: HttpRequest) -> RequestData:
        """The request's GraphQL parameters, before their types are checked."""
        if request.method == "GET":
            return request.GET
        raw_content_type = request.META.get("CONTENT_TYPE", "")
        if not raw_content_type.strip():
            raise _http_error(415, f"POST requests need Content-Type: {JSON_BODY}.")
        content_type, params = parse_header_parameters(raw_content_type)
        content_type = content_type.lower()
        if content_type == "multipart/form-data":
            # File uploads: the GraphQL multipart request spec (schema/uploads.py).
            from schema import uploads

            try:
                return uploads.parse_multipart(request)
            except uploads.MultipartError as error:
                raise _bad_request(str(error)) from None
        if content_type not in (JSON_BODY, GRAPHQL_BODY):
            raise _http_error(
                415, f"Unsupported Content-Type {content_type!r}: send {JSON_BODY}."
            )
        charset = params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise _http_error(415, "Request bodies must be UTF-8.")
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad_request("The request body is not valid UTF-8.") from None
        if content_type == GRAPHQL_BODY:
            return {"query": body}
        if not body.strip():
            raise _bad_request("POST body is empty: send a JSON object with `query`.")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise _bad_request("POST body sent invalid JSON.") from None
        if not isinstance(data, dict):
            raise _bad_request("The POST body must be a JSON object.")
        return data

    def get_graphql_params(
        self, request: HttpRequest, data: RequestData
    ) -> tuple[str | None, dict[str, Any] | None, str | None, dict[str, Any] | None]:
        """query, variables, operationName and extensions, type-checked."""
        from_query_string = isinstance(data, QueryDict)
        query = data.get("query")
        if query is None and persisted_queries.in_request(data):
            pass  # APQ: the document comes from its hash (execute_graphql_request).
        elif query is None or (isinstance(query, str) and not query.strip()):
            raise _bad_request("Must provide query string.")
        if query is not None and not isinstance(query, str):
            raise _bad_request("`query` must be a string.")
        operation_name = data.get("operationName")
        if from_query_string and operation_name in ("", "null"):
            operation_name = None
        if operation_name is not None and not isinstance(operation_name, str):
            raise _bad_request("`operationName` must be a string.")
        variables = _optional_map("variables", data.get("variables"), json_text=from_query_string)
        extensions = _optional_map("extensions", data.get("extensions"),
                                   json_text=from_query_string)
        return query, variables, operation_name, extensions

    def respond(self, request: HttpRequest, result: pipeline.OperationResult,
                media_type: str) -> HttpResponse:
        """The result as an HTTP response: a refusal's own status (429, 403, 503, …), else 200,
        or 400 for a request error when the client speaks application/graphql-response+json."""
        status = result.http_status or (
            400 if not result.has_data and media_type == GRAPHQL_RESPONSE_JSON else 200
        )
        response = HttpResponse(
            self.json_encode(request, result.payload()),
            status=status,
            content_type=f"{media_type}; charset=utf-8",
        )
        for name, value in (result.headers or {}).items():
            response[name] = value
        return http_caching.apply(request, response, result)

    def http_error_response(self, request: HttpRequest, error: HttpError,
                            media_type: str) -> HttpResponse:
        """A malformed HTTP request's 4xx, its body a coded JSON error."""
        response: HttpResponse = error.response
        response.content = self.json_encode(request, {"errors": [self.format_error(error)]})
        response["Content-Type"] = f"{media_type}; charset=utf-8"
        return response

    def authentication_failed(self, request: HttpRequest,
                              failure: AuthenticationFailed) -> HttpResponse:
        """A credential was sent but is not valid: 401 with an UNAUTHENTICATED error."""
        media_type = _error_media_type(request)
        error = errors.Unauthenticated(str(failure))
        response = HttpResponse(
            self.json_encode(request, {"errors": [self.format_error(error)]}),
            status=401,
            content_type=f"{media_type}; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        failure.forget_bad_cookie(response)
        return response

    @classmethod
    def can_display_graphiql(cls, request: HttpRequest, data: Any) -> bool:
        if "raw" in request.GET or "raw" in data:
            return False
        accept = request.headers.get("Accept")
        return negotiate(accept, (TEXT_HTML, GRAPHQL_RESPONSE_JSON, APPLICATION_JSON)) == TEXT_HTML

    # -- The operation ---------------------------------------------------------------------

    def operation_request(
        self, request: HttpRequest, data: RequestData, transport: str, refuse: pipeline.Refusal
    ) -> pipeline.OperationRequest | pipeline.OperationResult:
        """The request's parameters and CSRF (an HTTP concern): an OperationRequest, or the
        refusal's OperationResult."""
        query, variables, operation_name, extensions = self.get_graphql_params(request, data)
        try:
            request_guard.check_csrf(request)
        except RequestRefused as refused:
            return pipeline.OperationResult.refusal(refused)
        return pipeline.OperationRequest(
            query, variables, operation_name, request, transport, extensions, refuse=refuse
        )

    def execute_operation(self, request: HttpRequest, data: RequestData
                          ) -> pipeline.OperationResult:
        operation = self.operation_request(
            request, data, HTTP_TRANSPORT, _refusal(request.method, streaming=False)
        )
        if isinstance(operation, pipeline.OperationResult):
            return operation
        return pipeline.run(operation)

    def _wants_event_stream(self, request: HttpRequest,
                            event_stream: EventStreamTransport) -> bool:
        media_type = event_stream.media_type
        accepted = negotiate(request.headers.get("Accept"),
                             (media_type, GRAPHQL_RESPONSE_JSON, APPLICATION_JSON))
        return accepted == media_type and request.method in ("GET", "POST")

    def stream(self, request: HttpRequest,
               event_stream: EventStreamTransport) -> HttpResponseBase:
        """An event stream (subscriptions/sse.py): malformed HTTP requests still get 4xx JSON;
        everything the pipeline says comes as events. Mutations need POST, as over HTTP."""
        try:
            operation = self.operation_request(
                request, self._read_body(request), event_stream.transport,
                _refusal(request.method, streaming=True),
            )
        except HttpError as error:
            return self.http_error_response(request, error, APPLICATION_JSON)
        if isinstance(operation, pipeline.OperationResult):
            return self.respond(request, operation, APPLICATION_JSON)
        return event_stream.respond(request, operation)

    def json_encode(self, request: HttpRequest, d: Any, pretty: bool = False) -> bytes:
        return encoding.dumps(d, pretty=pretty or self.pretty or bool(request.GET.get("pretty")))

