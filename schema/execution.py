"""Synchronous, Promise-aware GraphQL execution with batched DataLoader dispatch.

graphql-core 3 only knows about awaitables. ``promise.Promise`` defines
``__await__``, so the stock ``ExecutionContext`` either wraps it in coroutines
(``graphql.execute``) or, with ``graphql_sync``/graphene's ``schema.execute``,
treats it as a plain value and fails to serialize it. Neither dispatches
DataLoader queues.

``PromiseExecutionContext`` chains Promises with ``.then``/``Promise.all``
instead. Execution stays synchronous:

1. The first pass walks the query; fields that ``load()`` get pending Promises
   and their keys wait in the loaders' queues.
2. While the root result is pending, the request's ``LoaderRegistry`` dispatches
   every pending queue: one ``batch_load`` per loader for the whole level. The
   resolved values complete the waiting fields, which queue the next level.
3. When the root Promise settles, a plain ``ExecutionResult`` is returned.

Usage::

    GraphQLView.as_view(schema=schema, execution_context_class=PromiseExecutionContext)
    schema.execute(query, context_value=ctx, execution_context_class=PromiseExecutionContext)
    graphql.execute(schema, document, context_value=ctx,
                    execution_context_class=PromiseExecutionContext)

Async resolvers are not supported: Promises are the only deferred values and
``is_awaitable`` is always false. A resolver returning a coroutine gets a field
error instead of a hanging or half-serialized value.
"""

from __future__ import annotations

from collections.abc import Iterable
from inspect import iscoroutine
from typing import Any, cast

from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    is_non_null_type,
    located_error,
)
from graphql.execution.execute import get_field_def, invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable
from promise import Promise

from dataloaders.registry import find_registry

__all__ = ["PromiseExecutionContext", "PromiseStalledError", "is_promise"]


class PromiseStalledError(RuntimeError):
    """The result is still pending but no loader has anything left to dispatch.

    Some resolver returned a Promise that nothing will ever settle (for example
    one built by hand, or a loader whose registry is not on the context). Raised
    instead of looping forever.
    """


def is_promise(value: Any) -> bool:
    """Whether ``value`` is a ``promise.Promise`` (the only deferred value we chain)."""
    return isinstance(value, Promise)


def settled_value(promise: Promise) -> Any:
    """Value of a settled Promise; raises its reason if it was rejected.

    Unlike ``Promise.get()`` this never blocks: ``get()`` on a pending Promise
    waits on a ``threading.Event`` forever, since nothing else runs our loaders.
    """
    if promise.is_pending:
        raise PromiseStalledError(f"{promise!r} is still pending.")
    if promise.is_rejected:
        raise promise.reason
    return promise.value


def never_awaitable(_value: Any) -> bool:
    """``is_awaitable`` predicate: nothing is awaitable in this synchronous executor.

    The default predicate looks for ``__await__``, which ``Promise`` has; that
    would send Promises down graphql-core's coroutine paths.
    """
    return False


def _gather_dict(results: dict[str, Any]) -> Promise:
    """Promise of ``results`` with every Promise value replaced by its value."""
    keys = list(results)
    return Promise.all(list(results.values())).then(
        lambda values: dict(zip(keys, values, strict=True))
    )


class PromiseExecutionContext(ExecutionContext):
    """graphql-core ``ExecutionContext`` that chains ``promise.Promise`` results.

    Overrides only what deals with deferred values; null handling, error
    collection (``handle_field_error``/``located_error``) and type checks are
    those of graphql-core, so non-Promise execution behaves identically.
    """

    is_awaitable = staticmethod(never_awaitable)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Build as usual, but ignore any ``is_awaitable`` passed by the caller.

        ``graphql.execute`` passes the default predicate (true for Promises) and
        ``graphql_sync`` passes its own; ours must win in both cases.
        """
        super().__init__(*args, **kwargs)
        self.is_awaitable = never_awaitable  # type: ignore[method-assign]

    # -- Driving the dispatch loop -------------------------------------------

    def execute_operation(self, operation: OperationDefinitionNode, root_value: Any) -> Any:
        """Execute the operation and wait for its data, so ``execute`` gets a dict.

        A rejection here is a located ``GraphQLError`` that propagated through
        non-null fields up to the root; ``execute`` records it and returns
        ``data: null``, as graphql-core does for awaited results.
        """
        return self.wait_for(super().execute_operation(operation, root_value))

    def wait_for(self, value: Any) -> Any:
        """Return ``value``, or the settled value of a Promise (raising a rejection).

        Pending Promises are settled by dispatching DataLoader queues, level by
        level, until nothing is pending any more.
        """
        if not is_promise(value):
            return value
        while value.is_pending:
            self.dispatch_loaders()
        return settled_value(value)

    def dispatch_loaders(self) -> None:
        """Dispatch one level of pending loader queues, or fail if there are none."""
        registry = find_registry(self.context_value)
        if registry is None or not registry.dispatch_pending():
            raise PromiseStalledError(
                "GraphQL execution is stuck: the result is still a pending Promise "
                "but no DataLoader on context.loaders has queued keys. Resolvers must "
                "only return Promises from dataloaders.Loader instances of this request."
            )

    # -- Executing fields ----------------------------------------------------

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> dict[str, Any] | Promise:
        """Execute sibling fields; return a dict, or a Promise of one if any is pending.

        All siblings are resolved before anything is dispatched, which is what
        puts their loads into one batch.
        """
        results = {}
        has_promise = False
        for response_name, field_nodes in fields.items():
            field_path = Path(path, response_name, parent_type.name)
            result = self.execute_field(parent_type, source_value, field_nodes, field_path)
            if result is not Undefined:
                results[response_name] = result
                has_promise = has_promise or is_promise(result)
        return _gather_dict(results) if has_promise else results

    def execute_fields_serially(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> dict[str, Any]:
        """Execute top-level mutation fields one after the other.

        The spec requires each mutation to finish before the next starts, so each
        field's Promises are fully settled (dispatch loop included) before the next
        resolver runs. A rejection (non-null mutation field failing) stops the
        remaining mutations, as in graphql-core.
        """
        results = {}
        for response_name, field_nodes in fields.items():
            field_path = Path(path, response_name, parent_type.name)
            result = self.execute_field(parent_type, source_value, field_nodes, field_path)
            if result is not Undefined:
                results[response_name] = self.wait_for(result)
        return results

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_nodes: list[FieldNode],
        path: Path,
    ) -> Any:
        """Resolve one field and complete its value (see graphql-core's version).

        Errors, raised now or rejected later, are located on this field and go
        through ``handle_field_error``: nullable fields become null, non-null ones
        re-raise (or reject) so the parent is nulled instead.
        """
        field_def = get_field_def(self.schema, parent_type, field_nodes[0])
        if not field_def:
            return Undefined

        return_type = field_def.type
        resolve_fn = field_def.resolve or self.field_resolver
        if self.middleware_manager:
            resolve_fn = self.middleware_manager.get_field_resolver(resolve_fn)
        info = self.build_resolve_info(field_def, field_nodes, parent_type, path)

        try:
            args = get_argument_values(field_def, field_nodes[0], self.variable_values)
            result = self.reject_coroutine(resolve_fn(source, info, **args), info)
            completed = self.complete_value(return_type, field_nodes, info, path, result)
        except Exception as raw_error:
            return self.handle_raw_error(raw_error, field_nodes, return_type, path)
        return self.catch_field_error(completed, field_nodes, return_type, path)

    @staticmethod
    def reject_coroutine(result: Any, info: GraphQLResolveInfo) -> Any:
        """Fail clearly on async resolvers, which this executor cannot run."""
        if iscoroutine(result):
            result.close()  # avoid "coroutine was never awaited" warnings
            raise TypeError(
                f"Resolver of {info.parent_type.name}.{info.field_name} returned a "
                "coroutine; async resolvers are not supported by "
                "PromiseExecutionContext, return a Promise (e.g. loader.load()) instead."
            )
        return result

    def catch_field_error(
        self,
        completed: Any,
        field_nodes: list[FieldNode],
        return_type: GraphQLOutputType,
        path: Path,
    ) -> Any:
        """Attach field error handling to a pending completion; pass values through."""
        if not is_promise(completed):
            return completed
        return completed.catch(
            lambda raw_error: self.handle_raw_error(raw_error, field_nodes, return_type, path)
        )

    def handle_raw_error(
        self,
        raw_error: Exception,
        field_nodes: list[FieldNode],
        return_type: GraphQLOutputType,
        path: Path,
    ) -> None:
        """Locate ``raw_error`` on the field and let ``handle_field_error`` decide.

        Returns (None is the field's value) or raises for non-null types; inside a
        ``.catch`` callback, raising rejects the parent's Promise, which is how
        null propagation works across Promises.
        """
        error = located_error(raw_error, field_nodes, path.as_list())
        self.handle_field_error(error, return_type, path)

    # -- Completing values ---------------------------------------------------

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        """Complete ``result``, waiting for it first if it is a Promise.

        Non-null is handled here because graphql-core's null check would see a
        Promise, not None. Everything else is delegated to graphql-core, which
        calls back into our list/abstract/object overrides.
        """
        if is_promise(result):
            if result.is_pending:
                return result.then(
                    lambda resolved: self.complete_value(
                        return_type, field_nodes, info, path, resolved
                    )
                )
            # Already settled (e.g. a cache hit): skip the callback machinery.
            result = settled_value(result)
        if is_non_null_type(return_type):
            return self.complete_non_null_value(
                cast(GraphQLNonNull, return_type), field_nodes, info, path, result
            )
        return super().complete_value(return_type, field_nodes, info, path, result)

    def complete_non_null_value(
        self,
        return_type: GraphQLNonNull,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        """Complete the inner type, then reject null as graphql-core does."""
        if isinstance(result, Exception):
            raise result
        completed = self.complete_value(return_type.of_type, field_nodes, info, path, result)
        if is_promise(completed):
            return completed.then(lambda value: self.ensure_not_null(value, info))
        return self.ensure_not_null(completed, info)

    @staticmethod
    def ensure_not_null(completed: Any, info: GraphQLResolveInfo) -> Any:
        """Raise graphql-core's error for a null non-null field, else pass through."""
        if completed is None:
            raise TypeError(
                "Cannot return null for non-nullable field"
                f" {info.parent_type.name}.{info.field_name}."
            )
        return completed

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Iterable[Any],
    ) -> list[Any] | Promise:
        """Complete each item; a Promise of the list if any item is pending.

        Item errors are handled per item (null item, or propagation to the list
        for non-null items). Async iterables are not supported.
        """
        if not is_iterable(result):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{info.parent_type.name}.{info.field_name}'."
            )
        item_type = return_type.of_type
        completed_results = []
        has_promise = False
        for index, item in enumerate(result):
            item_path = path.add_key(index, None)
            completed = self.complete_list_item(item_type, field_nodes, info, item_path, item)
            has_promise = has_promise or is_promise(completed)
            completed_results.append(completed)
        return Promise.all(completed_results) if has_promise else completed_results

    def complete_list_item(
        self,
        item_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        item_path: Path,
        item: Any,
    ) -> Any:
        """Complete one list item with the same error handling as a field."""
        try:
            completed = self.complete_value(item_type, field_nodes, info, item_path, item)
        except Exception as raw_error:
            return self.handle_raw_error(raw_error, field_nodes, item_type, item_path)
        return self.catch_field_error(completed, field_nodes, item_type, item_path)

    def complete_abstract_value(
        self,
        return_type: GraphQLAbstractType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        """Resolve the runtime type (possibly via a Promise), then complete as object."""
        resolve_type_fn = return_type.resolve_type or self.type_resolver
        runtime_type = resolve_type_fn(result, info, return_type)
        if is_promise(runtime_type):
            return runtime_type.then(
                lambda name: self.complete_runtime_object(
                    name, return_type, field_nodes, info, path, result
                )
            )
        return self.complete_runtime_object(
            runtime_type, return_type, field_nodes, info, path, result
        )

    def complete_runtime_object(
        self,
        runtime_type_name: Any,
        return_type: GraphQLAbstractType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        """Validate the resolved runtime type name and complete the object."""
        runtime_type = self.ensure_valid_runtime_type(
            runtime_type_name, return_type, field_nodes, info, result
        )
        return self.complete_object_value(runtime_type, field_nodes, info, path, result)

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        """Check ``is_type_of`` (possibly via a Promise), then execute sub-fields."""
        sub_field_nodes = self.collect_subfields(return_type, field_nodes)
        if not return_type.is_type_of:
            return self.execute_fields(return_type, result, path, sub_field_nodes)

        def execute_if_type_matches(is_type_of: Any) -> Any:
            if not is_type_of:
                raise invalid_return_type_error(return_type, result, field_nodes)
            return self.execute_fields(return_type, result, path, sub_field_nodes)

        is_type_of = return_type.is_type_of(result, info)
        if is_promise(is_type_of):
            return is_type_of.then(execute_if_type_matches)
        return execute_if_type_matches(is_type_of)
