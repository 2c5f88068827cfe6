"""The GraphQL HTTP endpoint: graphene-django's view with our execution and error rules.

Each phase (parse, validate, execute) tags its own errors with a code, so clients can tell a
typo in a query from bad variables from a failure while resolving.
"""
from __future__ import annotations

from contextlib import nullcontext

from django.db import transaction
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)

from schema import errors
from schema.execution import PromiseExecutionContext


@method_decorator(csrf_exempt, name="dispatch")
class VitrineGraphQLView(GraphQLView):
    execution_context_class = PromiseExecutionContext
    format_error = staticmethod(errors.format_error)

    def execute_graphql_request(
        self, request, data, query, variables, operation_name, show_graphiql=False
    ):
        if not query:
            if show_graphiql:
                return None
            raise HttpError(HttpResponseBadRequest("Must provide query string."))
        try:
            document = parse(query)
        except GraphQLError as error:
            return ExecutionResult(errors=[errors.phase_error(error, errors.GRAPHQL_PARSE_FAILED)])

        operation = get_operation_ast(document, operation_name)
        if request.method == "GET" and operation and operation.operation != OperationType.QUERY:
            if show_graphiql:
                return None
            raise HttpError(
                HttpResponseNotAllowed(
                    ["POST"], f"Can only perform a {operation.operation.value} from a POST request."
                )
            )

        schema = self.schema.graphql_schema
        validation_errors = validate(schema, document, self.get_validation_rules())
        if validation_errors:
            return ExecutionResult(
                errors=[
                    errors.phase_error(error, errors.GRAPHQL_VALIDATION_FAILED)
                    for error in validation_errors
                ]
            )

        is_mutation = operation is not None and operation.operation == OperationType.MUTATION
        with transaction.atomic() if is_mutation else nullcontext():
            result = execute(
                schema,
                document,
                root_value=self.get_root_value(request),
                context_value=self.get_context(request),
                variable_values=variables,
                operation_name=operation_name,
                middleware=self.get_middleware(request),
                execution_context_class=self.execution_context_class,
            )
            if is_mutation and result.errors:
                # A mutation that failed anywhere leaves no partial write behind.
                transaction.set_rollback(True)
        return _tag_request_errors(result)

    def get_validation_rules(self):
        # Passing rules replaces graphql-core's own: always keep them (REFERENCE.md §9).
        return (*specified_rules, *(self.validation_rules or ()))


def _tag_request_errors(result: ExecutionResult) -> ExecutionResult:
    """Errors from execute() without a path come from coercing the request's variables."""
    for error in result.errors or ():
        if not error.path and not (error.extensions or {}).get("code"):
            errors.phase_error(error, errors.BAD_USER_INPUT)
    return result
