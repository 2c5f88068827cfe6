"""The one pipeline every GraphQL operation passes, whatever transport carried it.

HTTP (schema/view.py), both websocket subprotocols (subscriptions/consumer.py) and Server-Sent
Events (subscriptions/sse.py) translate their wire format into an `OperationRequest` and write
the `OperationResult` back; nothing between those two ends knows which transport it serves.
The steps, in order:

1. persisted query: the document named by its hash, or the allow-list's refusal;
2. limits on the variables, then the document's size, tokens and shape (schema/limits.py);
3. the parsed and validated document, cached by hash (schema/document_cache.py);
4. the operation: one the transport carries (`OperationRequest.refuse`), else a coded
   refusal naming the transports that do; then its arguments' text (schema/inputs.py: no
   lone surrogates or control characters, BAD_USER_INPUT naming the argument);
5. the introspection policy, for this viewer;
6. the requested cost and node count (schema/cost.py);
7. the throttle takes the requested cost from the client's bucket (schema/throttle.py);
8. execution (schema/execution.py): a query or mutation once (a public query of an anonymous
   viewer answered from the response cache when it holds it, schema/response_cache.py); a
   subscription's root fields once without an event, so bad arguments fail at subscribe
   time, then once per event;
9. the actual cost, and the difference refunded to the bucket;
10. error codes (variables' errors are the client's input), and one log line
    (schema/request_log.py).

Any exception that is not a GraphQL error becomes `INTERNAL` here (errors.unexpected: logged
once with its traceback), or `SERVICE_UNAVAILABLE` when the database is unreachable, for
every transport alike. Up to the throttle no resolver runs and no SQL either.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from graphql import (
    DocumentNode,
    ExecutionContext,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
)

from accounts.viewer import is_signed_in
from dataloaders import registry as loader_registry
from products.media import request_origin
from schema import (
    document_cache,
    encoding,
    errors,
    inputs,
    persisted_queries,
    request_log,
    response_cache,
    throttle,
)
from schema.cache_control import PRIVATE, PUBLIC, CachePolicy
from schema.client import Client
from schema.cost import CostPlan, check_cost
from schema.errors import RequestRefused
from schema.execution import PromiseExecutionContext
from schema.limits import Limits, check_introspection, check_variables_size, too_deep_error
from schema.throttle import LeakyBucket, ThrottleStatus

logger = logging.getLogger("vitrine.requests")

Refusal = Callable[[OperationType], RequestRefused | None]


def carries_everything(operation_type: OperationType) -> RequestRefused | None:
    return None


@dataclass
class OperationContext:
    """The GraphQL context of an operation that did not come as an HTTP request (websockets,
    SSE). Over HTTP the Django request is the context, with the same attributes.

    `loaders` is attached by dataloaders.registry on first use.
    """

    user: Any
    client: Client
    auth_method: str = "session"


@dataclass
class OperationRequest:
    """One operation as a transport received it, before anything was checked."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    context: Any
    """The GraphQL context: `user`, `auth_method` and `client` (an HttpRequest or an
    OperationContext)."""
    transport: str
    extensions: dict[str, Any] | None = None
    refuse: Refusal = carries_everything
    """The transport's rule for operation types it cannot carry (HTTP GET: mutations)."""


@dataclass
class OperationResult:
    """What comes back, ready for any wire format.

    `has_data` is false for request errors (nothing executed: no `data` entry, per GraphQL
    over HTTP); `http_status` and `headers` are the HTTP transport's, for refusals that have
    them (THROTTLED: 429 with Retry-After).
    """

    data: Any = None
    errors: list[GraphQLError] = field(default_factory=list)
    extensions: dict[str, Any] | None = None
    has_data: bool = True
    http_status: int | None = None
    headers: dict[str, str] | None = None
    cache_policy: CachePolicy | None = None
    """How long, and by whom, the response may be cached; None: not at all (no-store)."""
    data_json: bytes | None = None
    """`data` already encoded, when the response cache had it (or just stored it)."""

    @classmethod
    def refusal(cls, refused: RequestRefused) -> OperationResult:
        return cls(
            errors=[refused],
            extensions=refused.response_extensions,
            has_data=False,
            http_status=refused.http_status,
            headers=refused.headers,
        )

    @classmethod
    def of(cls, result: ExecutionResult) -> OperationResult:
        """An execution's result; errors without a path stopped it before execution (the
        variables: the client's input, BAD_USER_INPUT). A resolver that could not reach the
        database makes it HTTP 503 with Retry-After (its error is SERVICE_UNAVAILABLE)."""
        errors.tag_variable_errors(result.errors)
        found = [errors.coded(error) for error in result.errors or ()]
        outcome = cls(result.data, found, result.extensions, all(error.path for error in found))
        if errors.any_database_unavailable(result.errors):  # their causes, before coding
            outcome.http_status, outcome.headers = 503, dict(errors.RETRY_HEADERS)
        return outcome

    @classmethod
    def failure(cls, error: Exception) -> OperationResult:
        """An exception that is not a GraphQL error: INTERNAL or SERVICE_UNAVAILABLE."""
        return cls.refusal(errors.unexpected(error))

    def payload(self) -> dict[str, Any]:
        """The GraphQL response map (`errors`, `data`, `extensions`)."""
        body: dict[str, Any] = {}
        if self.errors:
            body["errors"] = [errors.format_error(error) for error in self.errors]
        if self.has_data:
            body["data"] = self.data
        if self.extensions:
            body["extensions"] = self.extensions
        return body


@dataclass
class PreparedOperation:
    """An operation that passed steps 1 to 7, ready to execute (a subscription, many times)."""

    request: OperationRequest
    query: str
    """The document's text (a persisted query's, when it came by hash)."""
    entry: document_cache.DocumentEntry
    operation: OperationDefinitionNode
    record: request_log.RequestRecord
    plan: CostPlan
    requested: int
    bucket: LeakyBucket | None = None
    status: ThrottleStatus | None = None

    @property
    def document(self) -> DocumentNode:
        return self.entry.document

    @property
    def operation_type(self) -> OperationType:
        return self.operation.operation

    @property
    def per_viewer(self) -> bool:
        """Whether the result depends on who exactly asks (schema/per_viewer.py)."""
        return self.entry.selects_per_viewer(graphql_schema())

    def cost(self, actual: int) -> dict[str, Any]:
        cost: dict[str, Any] = {"requestedQueryCost": self.requested, "actualQueryCost": actual}
        if self.status is not None:
            cost["throttleStatus"] = self.status.as_dict()
        return {"cost": cost}


def graphql_schema() -> GraphQLSchema:
    from schema.schema import schema

    graphql: GraphQLSchema = schema.graphql_schema  # graphene is untyped
    return graphql


# -- Steps 1 to 7 ------------------------------------------------------------------------------


def prepare(request: OperationRequest) -> PreparedOperation | OperationResult:
    """Steps 1 to 7; a refusal comes back as an OperationResult, already logged."""
    record = request_log.RequestRecord(
        operation_name=request.operation_name,
        transport=request.transport,
        client=request.context.client.bucket(request.context.user),
    )
    try:
        prepared = _prepare(request, record)
        if isinstance(prepared, OperationResult):  # the document did not parse or validate
            return _finish(prepared, record, request)
        return prepared
    except RequestRefused as refused:
        return _finish(OperationResult.refusal(refused), record, request)
    except RecursionError:
        return _finish(OperationResult.refusal(too_deep_error()), record, request)
    except Exception as error:
        return _finish(OperationResult.failure(error), record, request)


def _prepare(request: OperationRequest, record: request_log.RequestRecord
             ) -> PreparedOperation | OperationResult:
    sha256 = persisted_queries.requested_hash(request.extensions)
    record.persisted_query = sha256
    query, register = _resolve_persisted(request.query, sha256)
    if not query:
        raise RequestRefused(errors.BAD_REQUEST, "Must provide query string.").with_http_status(400)
    limits = Limits.from_settings()
    check_variables_size(request.variables, limits)
    schema = graphql_schema()
    entry, failures = document_cache.load(schema, query, limits)
    if failures:
        return OperationResult(errors=failures, has_data=False)
    if register:  # only ever with a hash
        _register_persisted(cast(str, sha256), query)
    operation = get_operation_ast(entry.document, request.operation_name)
    if operation is None:  # validation lets an unknown operationName through
        raise RequestRefused(
            errors.GRAPHQL_VALIDATION_FAILED,
            f"Unknown operation named '{request.operation_name}'.",
        )
    record.operation_type = operation.operation.value
    record.operation_name = request.operation_name or (
        operation.name.value if operation.name else None
    )
    refusal = request.refuse(operation.operation)
    if refusal is not None:
        raise refusal
    inputs.check_arguments(schema, entry.document, operation, request.variables)
    if entry.uses_introspection:
        check_introspection(request.context.user)
    plan = entry.plan(schema, operation)
    requested, nodes = plan.evaluate(request.variables)
    requested = record.requested_cost = max(requested, 1)  # every operation costs a point
    prepared = PreparedOperation(request, query, entry, operation, record, plan, requested)
    try:
        check_cost(requested, nodes)
    except RequestRefused as refused:
        raise refused.with_extensions(prepared.cost(0)) from None
    _take_points(prepared)
    return prepared


_apq_outage = errors.DependencyOutage(
    logger,
    "Persisted queries unavailable (the cache failed: %s): hashes alone are not found, and "
    "clients send their queries in full until it is back.",
    "Persisted queries restored: the cache answers again.",
)


def _resolve_persisted(query: str | None, sha256: str | None) -> tuple[str | None, bool]:
    """Step 1. While the APQ cache is unreachable, a hash alone is PERSISTED_QUERY_NOT_FOUND,
    so the client sends the query with it (Apollo's APQ does), which runs."""
    try:
        resolved = persisted_queries.resolve(query, sha256)
    except RequestRefused:
        raise
    except Exception as error:
        if sha256 is None or query is not None:  # no cache was asked: not an outage
            raise
        _apq_outage.failed(error)
        raise RequestRefused(errors.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound") from None
    if sha256 is not None and query is None:
        _apq_outage.recovered()
    return resolved


def _register_persisted(sha256: str, query: str) -> None:
    """Remembering a query is an optimisation: a failing cache does not fail the request (and
    is not tried again for every request while it fails)."""
    if _apq_outage.skip():
        return
    try:
        persisted_queries.register(sha256, query)
    except Exception as error:
        _apq_outage.failed(error)
        return
    _apq_outage.recovered()


def _take_points(prepared: PreparedOperation) -> None:
    """Step 7. If the cache is unreachable the operation goes through unthrottled (logged by
    the throttle): an outage of Redis must not take the API down with it."""
    # The record's client is the throttle's identity (set by prepare()).
    taken = throttle.take_points(cast(str, prepared.record.client), prepared.requested)
    if taken is None:
        return
    bucket, decision = taken
    prepared.status = decision.status
    if not decision.allowed:
        raise throttle.refusal(prepared.requested, decision).with_extensions(prepared.cost(0))
    prepared.bucket = bucket


# -- Steps 8 to 10 -----------------------------------------------------------------------------


def run(request: OperationRequest) -> OperationResult:
    """A query or mutation, start to finish."""
    prepared = prepare(request)
    if isinstance(prepared, OperationResult):
        return prepared
    return execute_prepared(prepared)


def execute_prepared(prepared: PreparedOperation) -> OperationResult:
    """Steps 8 to 10 for a query or mutation.

    Each mutation field is its own transaction (its service function's): a response never
    reports as done a write that was rolled back.
    """
    request, record = prepared.request, prepared.record
    try:
        key = _response_cache_key(prepared)
        entry = _cached(key) if key is not None else None
        if entry is not None:
            record.cache = "hit"
            outcome, actual = OperationResult(
                orjson.Fragment(entry.data_json), data_json=entry.data_json
            ), entry.actual_cost
        else:
            outcome, actual = _run(prepared, key)
        _refund(prepared, prepared.requested - actual)
        record.actual_cost = actual
        outcome.extensions = {**(outcome.extensions or {}), **prepared.cost(actual)}
        outcome.cache_policy = _response_policy(prepared, outcome)
    except Exception as error:
        outcome = OperationResult.failure(error)
    return _finish(outcome, record, request)


def _run(prepared: PreparedOperation, key: str | None) -> tuple[OperationResult, int]:
    """Execute; store a public response when `key` says it may be."""
    request = prepared.request
    context = request.context
    if key is None:
        result = _execute(prepared, context)
    else:
        context.cache_tags = set()
        epoch = response_cache.epoch()
        result = _execute(prepared, context,
                          execution_context_class=response_cache.TaggingExecutionContext)
    actual = min(prepared.requested,
                 max(prepared.plan.actual_cost(result.data, request.variables), 1))
    outcome = OperationResult.of(result)
    if key is not None and not outcome.errors:
        outcome.data_json = encoding.dumps(outcome.data)
        document_policy = prepared.entry.cache_policy(graphql_schema())
        tags = tuple(context.cache_tags) + tuple(f"list:{name}" for name in document_policy.lists)
        _store(key, response_cache.Entry(outcome.data_json, actual, document_policy.policy,
                                         epoch, tags))
        prepared.record.cache = "miss"
    return outcome, actual


def _anonymous(context: Any) -> bool:
    return not is_signed_in(context.user) and context.client.api_key is None


def _response_cache_key(prepared: PreparedOperation) -> str | None:
    """The response cache's key for this operation, or None when it may not be shared."""
    if not response_cache.enabled() or prepared.operation_type != OperationType.QUERY:
        return None
    request = prepared.request
    policy = prepared.entry.cache_policy(graphql_schema()).policy
    if policy.scope != PUBLIC or not policy.cacheable or not _anonymous(request.context):
        return None
    return response_cache.key_for(prepared.entry.hash, request.operation_name,
                                  request.variables, "anonymous", _origin(request.context))


def _origin(context: Any) -> str:
    """The origin an HTTP response's absolute URLs (images) are built on: part of what it
    says, so of its cache key; none for other transports (their URLs are relative)."""
    return request_origin(context) or ""


_response_cache_outage = errors.DependencyOutage(
    logger,
    "Response cache unavailable (the cache failed: %s): queries are executed until it is back.",
    "Response cache restored: the cache answers again.",
)


def _cached(key: str) -> response_cache.Entry | None:
    """The cached entry; an unreachable cache (Redis down) is a miss, logged once."""
    if _response_cache_outage.skip():
        return None
    try:
        entry = response_cache.lookup(key)
    except Exception as error:
        _response_cache_outage.failed(error)
        return None
    _response_cache_outage.recovered()
    return entry


def _store(key: str, entry: response_cache.Entry) -> None:
    if _response_cache_outage.skip():
        return
    try:
        response_cache.store(key, entry)
    except Exception as error:
        _response_cache_outage.failed(error)


def _response_policy(prepared: PreparedOperation, outcome: OperationResult) -> CachePolicy | None:
    """Queries answered without errors: their document's policy, private unless the viewer
    is anonymous (a signed-in viewer sees their drafts, staff all of them). Else None."""
    if prepared.operation_type != OperationType.QUERY or outcome.errors:
        return None
    policy = prepared.entry.cache_policy(graphql_schema()).policy
    if not policy.cacheable:
        return None
    return policy if _anonymous(prepared.request.context) else CachePolicy(policy.max_age,
                                                                           PRIVATE)


def subscribe(prepared: PreparedOperation) -> OperationResult | None:
    """Steps 8 to 10 for a subscription: its root fields run once without an event; None when
    it may go on, else the errors that refuse it.

    A subscription keeps its requested cost (each event executes it again): no refund.
    """
    from subscriptions.events import SkipEvent

    request, record = prepared.request, prepared.record
    try:
        result = _execute(prepared, request.context, root_value={"event": None})
        result.errors = [error for error in result.errors or ()
                         if not isinstance(error.original_error, SkipEvent)]
        record.actual_cost = prepared.requested
        outcome = OperationResult.of(result) if result.errors else None
    except Exception as error:
        outcome = OperationResult.failure(error)
    _finish(outcome or OperationResult(), record, request)
    return outcome


def execute_event(prepared: PreparedOperation, context: OperationContext,
                  event: dict[str, Any]) -> OperationResult | None:
    """One subscription event for one viewer: None when it is not for them.

    Never raises: a failure becomes this viewer group's error result only.
    """
    from subscriptions.events import SkipEvent

    try:
        result = _execute(prepared, context, root_value=event)
    except Exception as error:
        return OperationResult.failure(error)
    finally:
        loader_registry.release(context)
    if any(isinstance(error.original_error, SkipEvent) for error in result.errors or ()):
        return None
    return OperationResult.of(result)


def _execute(prepared: PreparedOperation, context: Any, root_value: Any = None,
             execution_context_class: type[ExecutionContext] = PromiseExecutionContext
             ) -> ExecutionResult:
    # Our execution contexts never return an awaitable (schema/execution.py).
    return cast(ExecutionResult, execute(
        graphql_schema(),
        prepared.document,
        root_value=root_value,
        context_value=context,
        variable_values=prepared.request.variables,
        operation_name=prepared.request.operation_name,
        execution_context_class=execution_context_class,
    ))


def _refund(prepared: PreparedOperation, points: int) -> None:
    if prepared.bucket is None:
        return
    try:
        prepared.status = prepared.bucket.refund(cast(str, prepared.record.client), points)
    except Exception:
        logger.warning("Throttle refund failed; the bucket keeps the points.", exc_info=True)


# -- Results --------------------------------------------------------------------------------


def _finish(outcome: OperationResult, record: request_log.RequestRecord,
            request: OperationRequest) -> OperationResult:
    loader_registry.release(request.context)
    record.add_codes(outcome.errors)
    request_log.emit(record)
    return outcome
