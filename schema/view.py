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
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    QueryDict,
)
from django.http.multipartparser import MultiPartParserError
from django.utils.decorators import method_decorator
from django.utils.http import parse_header_parameters
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    ExecutionResult,
    GraphQLSyntaxError,
    OperationType,
    execute,
    get_operation_ast,
    recommended_rules,
    specified_rules,
    validate,
)

from accounts.auth import AuthenticationFailed, authenticate_request
from dataloaders import registry as loader_registry
from schema import (
    document_cache,
    encoding,
    errors,
    persisted_queries,
    request_guard,
    request_log,
    throttle,
)
from schema.cost import check_cost
from schema.errors import RequestRefused
from schema.execution import PromiseExecutionContext
from schema.limits import (
    Limits,
    check_document_shape,
    check_document_size,
    check_introspection,
    check_variables_size,
    parse_bounded,
    too_deep_error,
)
from schema.throttle import client_identity

logger = logging.getLogger("vitrine.requests")

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


def _optional_map(name: str, value: Any, *, json_text: bool) -> dict | None:
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


@method_decorator(csrf_exempt, name="dispatch")
class VitrineGraphQLView(GraphQLView):
    execution_context_class = PromiseExecutionContext
    format_error = staticmethod(errors.format_error)

    # -- HTTP protocol --------------------------------------------------------------------

    def dispatch(self, request, *args, **kwargs):
        try:
            # Once per request, before anything runs (accounts/auth.py).
            authenticate_request(request)
        except AuthenticationFailed as failure:
            return self.authentication_failed(request, failure)
        if request.method == "GET" and self.graphiql and self.can_display_graphiql(
            request, request.GET
        ):
            # graphene-django renders the page (with the settings its template expects).
            return super().dispatch(request, *args, **kwargs)
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
            data = self._read_body(request)
            body, status = self.get_response(request, data, media_type=media_type)
        except HttpError as error:
            response = error.response
            body = self.json_encode(request, {"errors": [self.format_error(error)]})
            response.content = body
            response["Content-Type"] = f"{media_type}; charset=utf-8"
            return response
        return HttpResponse(body, status=status, content_type=f"{media_type}; charset=utf-8")

    def _read_body(self, request) -> dict[str, Any] | QueryDict:
        """parse_body, with Django's own refusals of a body as JSON errors, not HTML pages."""
        try:
            return self.parse_body(request)
        except RequestDataTooBig:
            raise _http_error(413, "The request body is too large.") from None
        except (SuspiciousOperation, MultiPartParserError) as error:
            raise _bad_request(f"The request body was refused: {error}") from None

    def parse_body(self, request) -> dict[str, Any] | QueryDict:
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

    def get_graphql_params(self, request, data) -> tuple[str, dict | None, str | None, None]:
        """query, variables, operationName (and graphene's unused batch id), type-checked."""
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
        # Checked here; `persistedQuery` is read by execute_graphql_request.
        _optional_map("extensions", data.get("extensions"), json_text=from_query_string)
        return query, variables, operation_name, None

    def get_response(self, request, data, show_graphiql=False, *, media_type=APPLICATION_JSON):
        query, variables, operation_name, _ = self.get_graphql_params(request, data)
        result = self.execute_graphql_request(request, data, query, variables, operation_name)

        response, request_error = errors.result_payload(result)
        status = 400 if request_error and media_type == GRAPHQL_RESPONSE_JSON else 200
        return self.json_encode(request, response), status

    def authentication_failed(self, request, failure: AuthenticationFailed) -> HttpResponse:
        """A credential was sent but is not valid: 401 with an UNAUTHENTICATED error."""
        media_type = negotiate(request.headers.get("Accept")) or APPLICATION_JSON
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
    def can_display_graphiql(cls, request, data):
        if "raw" in request.GET or "raw" in data:
            return False
        accept = request.headers.get("Accept")
        return negotiate(accept, (TEXT_HTML, GRAPHQL_RESPONSE_JSON, APPLICATION_JSON)) == TEXT_HTML

    # -- GraphQL execution ----------------------------------------------------------------

    def execute_graphql_request(
        self, request, data, query, variables, operation_name, show_graphiql=False
    ):
        """Guards, then parse → limits → validate (cached) → cost → throttle → execute.

        Everything before `execute` runs no resolver and, up to the cost check, no SQL.
        """
        record = request_log.RequestRecord(operation_name=operation_name)
        try:
            result = self._execute_guarded(
                request, data, query, variables, operation_name, show_graphiql, record
            )
        except RequestRefused as refused:
            result = self._refused(request, refused, record)
        except RecursionError:
            result = self._refused(request, too_deep_error(), record)
        finally:
            loader_registry.release(request)
            request_log.emit(record)
        return result

    def _refused(self, request, refused: RequestRefused, record) -> ExecutionResult:
        record.codes.append(refused.code)
        if refused.http_status:
            raise request_guard.http_error(refused) from None
        return ExecutionResult(errors=[refused], extensions=self._extensions(request))

    def _execute_guarded(
        self, request, data, query, variables, operation_name, show_graphiql, record
    ):
        # No user yet (that may need SQL): a hashed API key or the IP address.
        record.client = client_identity(request)
        request_guard.check_csrf(request)
        sha256 = persisted_queries.requested_hash(persisted_queries.extensions_of(data))
        record.persisted_query = sha256
        query, register = persisted_queries.resolve(query, sha256)
        if not query:
            if show_graphiql:
                return None
            raise HttpError(HttpResponseBadRequest("Must provide query string."))
        limits = Limits.from_settings()
        check_variables_size(variables, limits)
        schema = self.schema.graphql_schema
        entry, failure = self._document(schema, query, limits)
        if failure is not None:
            record.add_codes(failure.errors)
            return failure
        if register:
            persisted_queries.register(sha256, query)
        document = entry.document

        operation = get_operation_ast(document, operation_name)
        if request.method == "GET" and operation and operation.operation != OperationType.QUERY:
            if show_graphiql:
                return None
            raise HttpError(
                HttpResponseNotAllowed(
                    ["POST"], f"Can only perform a {operation.operation.value} from a POST request."
                )
            )
        if operation is not None and operation.operation == OperationType.SUBSCRIPTION:
            raise RequestRefused(
                errors.SUBSCRIPTION_TRANSPORT_REQUIRED,
                "Subscriptions are served over websockets at this URL (graphql-transport-ws, "
                "as graphql-ws, Apollo's GraphQLWsLink and GraphiQL speak it, or the legacy "
                "graphql-ws subprotocol), not over a plain HTTP request.",
                transports=["graphql-transport-ws", "graphql-ws"],
            )
        if entry.uses_introspection:
            check_introspection()  # "off" refuses before anything else runs
        plan = requested = None
        if operation is not None:
            record.operation_type = operation.operation.value
            record.operation_name = operation_name or (
                operation.name.value if operation.name else None
            )
            plan = entry.plan(schema, operation)
            requested, nodes = plan.evaluate(variables)
            # Every request costs at least one point.
            requested = max(requested, 1)
            record.requested_cost = requested
            self._set_cost(request, requested, 0)
            check_cost(requested, nodes)

        context = self.get_context(request)
        user = getattr(context, "user", None) or getattr(request, "user", None)
        if entry.uses_introspection:
            check_introspection(user)
        identity = record.client = client_identity(request, user)
        bucket = self._take_points(request, identity, requested)

        # Each mutation field is its own transaction (schema/mutations.py): a response never
        # reports as done a write that was rolled back.
        result = execute(
            schema,
            document,
            root_value=self.get_root_value(request),
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            middleware=self.get_middleware(request),
            execution_context_class=self.execution_context_class,
        )

        if plan is not None:
            actual = min(requested, max(plan.actual_cost(result.data, variables), 1))
            record.actual_cost = actual
            status = None
            if bucket is not None:
                try:
                    status = bucket.refund(identity, requested - actual)
                except Exception:
                    logger.warning("Throttle refund failed; the bucket keeps the points.",
                                   exc_info=True)
            self._set_cost(request, requested, actual, status)
            result.extensions = {**(result.extensions or {}), **self._extensions(request)}
        errors.tag_variable_errors(result.errors)
        record.add_codes(result.errors)
        return result

    def _take_points(self, request, identity: str, requested: int | None):
        """Take the requested cost from the client's bucket; the bucket, or None if unused.

        If the cache is unreachable the request goes through unthrottled (logged): an outage
        of Redis must not take the API down with it.
        """
        taken = None if requested is None else throttle.take_points(identity, requested)
        if taken is None:
            return None
        bucket, decision = taken
        self._set_cost(request, requested, 0, decision.status)
        if not decision.allowed:
            raise throttle.refusal(requested, decision)
        return bucket

    def _document(self, schema, query: str, limits: Limits):
        """(cached entry, None) or (None, a failed ExecutionResult) for this document.

        The limits run before graphql-core's validation: some of its rules are quadratic in
        the width of a selection set.
        """
        cache = document_cache.get_cache()
        check_document_size(query, limits)
        key = document_cache.document_hash(query)
        entry = cache.get(schema, key)
        if entry is not None:
            return entry, None
        try:
            document = parse_bounded(query, limits)
        except GraphQLSyntaxError as error:
            return None, ExecutionResult(
                errors=[errors.phase_error(error, errors.GRAPHQL_PARSE_FAILED)]
            )
        uses_introspection = check_document_shape(document, limits)
        validation_errors = validate(schema, document, self.get_validation_rules())
        if validation_errors:
            return None, ExecutionResult(
                errors=[
                    errors.phase_error(error, errors.GRAPHQL_VALIDATION_FAILED)
                    for error in validation_errors
                ]
            )
        entry = document_cache.DocumentEntry(document, uses_introspection)
        cache.put(schema, key, entry)
        return entry, None

    @staticmethod
    def _set_cost(request, requested: int, actual: int, status=None) -> None:
        cost: dict[str, Any] = {"requestedQueryCost": requested, "actualQueryCost": actual}
        if status is not None:
            cost["throttleStatus"] = status.as_dict()
        request.graphql_extensions = {"cost": cost}

    @staticmethod
    def _extensions(request) -> dict[str, Any] | None:
        return getattr(request, "graphql_extensions", None)

    def json_encode(self, request, d, pretty=False):
        # Responses refused at the HTTP level (THROTTLED) still report the cost.
        extensions = self._extensions(request)
        if extensions and isinstance(d, dict) and "extensions" not in d:
            d = {**d, "extensions": extensions}
        return encoding.dumps(d, pretty=pretty or self.pretty or bool(request.GET.get("pretty")))

    def get_validation_rules(self):
        # Passing rules replaces graphql-core's own: keep them, or invalid documents validate.
        # recommended_rules bounds nested `fields`/`interfaces`/`possibleTypes` in introspection.
        return (*specified_rules, *recommended_rules, *(self.validation_rules or ()))

