"""Running the schema for websocket operations: synchronous code, called in a worker thread.

The consumer is async; the schema touches the database and our DataLoaders are
`threading.local` (promise 2.3), so every function here runs inside ONE
`database_sync_to_async` call: the context, its loaders and the execution are created and
used on the same thread, and thrown away before the call returns.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import AnonymousUser
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    visit,
)
from graphql.language import FieldNode, Visitor

from dataloaders import registry as loader_registry
from products.querysets import is_staff
from schema import errors
from schema.errors import RequestRefused
from schema.execution import PromiseExecutionContext
from subscriptions.events import SkipEvent

logger = logging.getLogger("vitrine.subscriptions")

# Fields whose value depends on who exactly is asking, not only on the viewer class.
# A staff subscription selecting one of them is grouped per user instead of with all staff.
VIEWER_DEPENDENT_FIELDS = frozenset({"isFavorited", "email"})


@dataclass
class WebsocketContext:
    """The GraphQL context of one websocket execution (the HTTP view passes the request).

    `loaders` is attached by dataloaders.registry on first use.
    """

    user: Any
    auth_method: str = "session"
    META: dict = field(default_factory=dict)
    COOKIES: dict = field(default_factory=dict)
    method: str = "POST"


@dataclass
class PreparedOperation:
    """A parsed and validated operation, ready to execute (possibly many times)."""

    document: DocumentNode
    operation_type: OperationType
    query: str
    variables: dict | None
    operation_name: str | None
    field_names: frozenset[str]


class OperationRejected(Exception):
    """The operation cannot run; `errors` are formatted GraphQL errors for the client."""

    def __init__(self, error_list: list[dict]) -> None:
        super().__init__(error_list[0]["message"] if error_list else "Operation rejected")
        self.errors = error_list


def schema():
    from schema.schema import schema as vitrine_schema

    return vitrine_schema.graphql_schema


class _FieldNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_field(self, node: FieldNode, *_args) -> None:
        self.names.add(node.name.value)


def _rejected(error: GraphQLError, code: str | None = None) -> OperationRejected:
    if code is not None:
        errors.phase_error(error, code)
    return OperationRejected([errors.format_error(error)])


def prepare(query: str, variables: dict | None, operation_name: str | None,
            user=None, identity: str | None = None) -> PreparedOperation:
    """The HTTP view's guards, then the operation: raises OperationRejected (coded errors).

    Same allow-list, document limits (size, tokens, depth, aliases, fields), cached
    validation, introspection policy, static cost limit and, for the client `identity`,
    throttle as over HTTP (schema/view.py); no SQL.
    """
    from schema import persisted_queries, throttle
    from schema.cost import check_cost
    from schema.limits import Limits, check_introspection, check_variables_size, too_deep_error
    from schema.view import VitrineGraphQLView

    graphql_schema = schema()
    try:
        query, _ = persisted_queries.resolve(query, None)  # the allow-list, when it is on
        limits = Limits.from_settings()
        check_variables_size(variables, limits)
        entry, failure = VitrineGraphQLView()._document(graphql_schema, query, limits)
        if failure is not None:
            raise OperationRejected([errors.format_error(error) for error in failure.errors])
        operation = get_operation_ast(entry.document, operation_name)
        if operation is None:  # validation lets an unknown operationName through
            raise _rejected(
                GraphQLError(f"Unknown operation named '{operation_name}'."),
                errors.GRAPHQL_VALIDATION_FAILED,
            )
        if entry.uses_introspection:
            check_introspection(user)
        requested, nodes = entry.plan(graphql_schema, operation).evaluate(variables)
        requested = max(requested, 1)
        check_cost(requested, nodes)
        taken = None if identity is None else throttle.take_points(identity, requested)
        if taken is not None and not taken[1].allowed:
            raise throttle.refusal(requested, taken[1])
    except RequestRefused as refused:
        raise _rejected(refused) from None
    except RecursionError:
        raise _rejected(too_deep_error()) from None
    names = _FieldNames()
    visit(entry.document, names)
    return PreparedOperation(
        document=entry.document,
        operation_type=operation.operation,
        query=query,
        variables=variables,
        operation_name=operation_name,
        field_names=frozenset(names.names),
    )


def scope_identity(scope: dict, user) -> str:
    """Whose throttle bucket a websocket operation draws from: the signed-in user, else the
    client's IP address, found as the HTTP view finds it (schema/throttle.py)."""
    from django.http import HttpHeaders

    from schema.throttle import client_identity

    headers = {
        "HTTP_" + name.decode("latin1").upper().replace("-", "_"): value.decode("latin1")
        for name, value in scope.get("headers", ())
    }
    headers["REMOTE_ADDR"] = (scope.get("client") or ("",))[0]
    # The API key travelled in connection_init, not a header: the owner's bucket is used.
    headers.pop("HTTP_X_API_KEY", None)
    request = SimpleNamespace(META=headers, headers=HttpHeaders(headers))
    return client_identity(request, user)


def viewer_class(user, prepared: PreparedOperation) -> str:
    """Who the result may be shared with: "anonymous", "staff" or "user:<id>".

    Non-staff users each have their own class, since drafts are visible to their creator
    only; staff share one class unless the operation selects a viewer-dependent field.
    """
    if user is None or not user.is_authenticated:
        return "anonymous"
    if is_staff(user) and not (prepared.field_names & VIEWER_DEPENDENT_FIELDS):
        return "staff"
    return f"user:{user.pk}"


def _execute(prepared: PreparedOperation, user, root_value: Any = None,
             auth_method: str = "session") -> ExecutionResult:
    # auth_method matters to permissions: an API key may not manage API keys.
    context = WebsocketContext(user=user or AnonymousUser(), auth_method=auth_method)
    try:
        return execute(
            schema(),
            prepared.document,
            root_value=root_value,
            context_value=context,
            variable_values=prepared.variables,
            operation_name=prepared.operation_name,
            execution_context_class=PromiseExecutionContext,
        )
    finally:
        loader_registry.release(context)


def execute_single(prepared: PreparedOperation, user, auth_method: str) -> dict[str, Any]:
    """A query or mutation over the socket: one result payload (as the HTTP view would)."""
    # Each mutation field is its own transaction (schema/mutations.py).
    result = _execute(prepared, user, auth_method=auth_method)
    errors.tag_variable_errors(result.errors)
    return errors.result_payload(result)[0]


def _skipped(result: ExecutionResult) -> bool:
    return any(isinstance(error.original_error, SkipEvent) for error in result.errors or ())


def check_subscription(prepared: PreparedOperation, user) -> None:
    """Run the root resolver once without an event, so bad arguments fail at subscribe time.

    Resolvers validate their arguments first and skip an event of no kind; any other error
    (an invalid `id`, variables that do not coerce) is raised as OperationRejected.
    """
    result = _execute(prepared, user, root_value={"event": None})
    problems = [e for e in result.errors or () if not isinstance(e.original_error, SkipEvent)]
    if problems:
        errors.tag_variable_errors(problems)
        raise OperationRejected([errors.format_error(error) for error in problems])


def execute_event(prepared: PreparedOperation, user, event: dict) -> dict[str, Any] | None:
    """The payload of one subscription for one event, or None when it is not for this viewer.

    Never raises: an unexpected failure becomes an INTERNAL error payload for this group
    only, so one subscriber's resolution cannot affect another's.
    """
    try:
        result = _execute(prepared, user, root_value=event)
    except Exception as error:  # pragma: no cover - execute() collects resolver errors
        logger.exception("Subscription execution failed")
        return {"data": None, "errors": [errors.format_error(GraphQLError(str(error)))]}
    if _skipped(result):
        return None
    return errors.result_payload(result)[0]
