"""Synchronous, Promise-aware GraphQL execution with batched DataLoader dispatch.

graphql-core 3 only knows about awaitables. ``promise.Promise`` defines
``__await__``, so the stock ``ExecutionContext`` either wraps it in coroutines
(``graphql.execute``) or, with ``graphql_sync``/graphene's ``schema.execute``,
treats it as a plain value and fails to serialize it. Neither dispatches
DataLoader queues.

``PromiseExecutionContext`` executes synchronously:

1. The first pass walks the query like graphql-core does, building the plain
   result dicts and lists. A field (or list item) whose resolver returns a
   pending Promise gets a placeholder in its container and a *pending slot*
   that remembers where the value goes; its keys wait in the loaders' queues.
2. While anything is pending, the request's ``LoaderRegistry`` dispatches every
   pending queue: one ``batch_load`` per loader for the whole level. Each settled
   Promise calls its slot back, which completes the value (queueing the next
   level's keys) and writes it into the slot's container.
3. When nothing under the root is pending any more, the plain data is returned.

Why slots and not Promise chains: chaining every completion with ``.then`` and
gathering every object with ``Promise.all`` made the promise library's
bookkeeping (and the garbage it creates) cost several times the execution
itself. Here Promises exist only where resolvers return them; the executor
registers one plain callback per pending value and never creates a Promise.

Errors follow graphql-core exactly, including null propagation: every pending
slot knows its container's slot (``_Slot.parent``) and whether its own type is
nullable, so a failing non-null value nulls the nearest nullable ancestor (or
the whole ``data``). Errors are recorded through graphql-core's
``collected_errors``, which ignores errors below an already nulled position.

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

from collections.abc import Callable, Iterable
from types import CoroutineType
from typing import Any

from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLUnionType,
    OperationDefinitionNode,
    located_error,
)
from graphql.execution.execute import get_field_def, invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, inspect, is_iterable
from promise import Promise

from dataloaders.registry import find_registry

__all__ = ["PromiseExecutionContext", "PromiseStalledError", "is_promise"]

# promise 2.3 has no public "add a plain callback" API; see ``_Slot.wait_on``.
_PROMISE_PENDING = -1
_PROMISE_FULFILLED = 1


class PromiseStalledError(RuntimeError):
    """The result is still pending but no loader has anything left to dispatch.

    Some resolver returned a Promise that nothing will ever settle (for example
    one built by hand, or a loader whose registry is not on the context). Raised
    instead of looping forever.
    """


def is_promise(value: Any) -> bool:
    """Whether ``value`` is a ``promise.Promise`` (the only deferred value we handle)."""
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


_LEAF_TYPES = (GraphQLScalarType, GraphQLEnumType)
_ABSTRACT_TYPES = (GraphQLInterfaceType, GraphQLUnionType)


class _Slot:
    """A position of the result whose value is not known yet.

    Either a container (object dict or list) with pending descendants, or a
    value waiting for a Promise. Slots are created unbound, bottom-up, and bound
    (``parent``/``key``/``path``/``nullable``) by whoever puts them into a
    container: ``execute_fields``, ``complete_list_value`` or a settled parent
    wait. ``value`` is what the container holds at ``key`` meanwhile: the dict
    or list itself, or None for a wait.

    ``pending`` counts unsettled child slots (a wait counts itself). A slot is
    ``done`` once settled: completed, nulled by an error, failed into its parent,
    or replaced by the slot its Promise completed to. Done slots ignore late
    news, which is how a subtree that was already nulled stops mattering.
    """

    __slots__ = (
        "context",
        "continue_with",
        "done",
        "error",
        "field_nodes",
        "key",
        "nullable",
        "parent",
        "path",
        "pending",
        "value",
    )

    def __init__(self, value: Any = None, pending: int = 0) -> None:
        self.value = value
        self.pending = pending
        self.done = False
        self.parent: _Slot | None = None
        self.key: Any = None
        self.path: Path | None = None
        self.nullable = False
        # A failure that reached this slot while it was still unbound.
        self.error: GraphQLError | None = None
        # Only for waits: where to report, and what to do with the settled value.
        self.context: PromiseExecutionContext | None = None
        self.field_nodes: list[FieldNode] | None = None
        self.continue_with: Callable[[Any], Any] | None = None

    def wait_on(self, promise: Promise) -> None:
        """Call this slot back when ``promise`` settles, without creating a Promise.

        ``.then`` would allocate a Promise per call and go through the promise
        library's settle machinery twice; ``_add_callbacks`` with no target
        Promise makes the library call our handlers directly. The handlers must
        never raise (see ``PromiseExecutionContext.resume``).
        """
        promise._target()._add_callbacks(self.fulfilled, self.rejected, None)

    def fulfilled(self, value: Any) -> None:
        self.context.resume(self, value, None)  # type: ignore[union-attr]

    def rejected(self, reason: Exception) -> None:
        self.context.resume(self, None, reason)  # type: ignore[union-attr]


class PromiseExecutionContext(ExecutionContext):
    """graphql-core ``ExecutionContext`` that fills pending Promise results in later.

    The completion methods mirror graphql-core's (same checks, same error
    messages, same ``handle_field_error``/``located_error`` handling), except
    that a pending Promise becomes a ``_Slot`` instead of an awaitable. Plain
    values take the same path as in graphql-core, without any Promise cost.
    """

    is_awaitable = staticmethod(never_awaitable)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Build as usual, but ignore any ``is_awaitable`` passed by the caller.

        ``graphql.execute`` passes the default predicate (true for Promises) and
        ``graphql_sync`` passes its own; ours must win in both cases.
        """
        super().__init__(*args, **kwargs)
        self.is_awaitable = never_awaitable  # type: ignore[method-assign]
        # The slot of the whole ``data`` dict while it has pending descendants.
        self._root: _Slot | None = None
        self._data_nulled = False
        # Unexpected exceptions raised inside Promise callbacks: the promise
        # library would swallow them, so they are kept and re-raised here.
        self._internal_errors: list[BaseException] = []

    # -- Driving the dispatch loop -------------------------------------------

    def execute_operation(self, operation: OperationDefinitionNode, root_value: Any) -> Any:
        """Execute the operation and settle everything pending, so ``execute`` gets a dict.

        If a non-null error propagated up to the root, it is already recorded
        (as graphql-core's ``execute`` would) and ``data`` is null.
        """
        data = super().execute_operation(operation, root_value)
        if isinstance(data, _Slot):  # a query with pending fields
            self._root = data
            self.settle(data)
            data = data.value
        self.raise_internal_error()
        return None if self._data_nulled else data

    def settle(self, slot: _Slot, open_count: int = 0) -> None:
        """Dispatch DataLoader queues, level by level, until ``slot`` is settled.

        That is: done, or (for the mutation root) back to ``open_count`` pending
        children. A pending child may be replaced by another slot when its Promise
        settles, so only the container's count says when a field is finished.
        """
        while True:
            self.raise_internal_error()
            if slot.done or slot.pending <= open_count:
                return
            self.dispatch_loaders()

    def raise_internal_error(self) -> None:
        """Re-raise the first non-field error that a Promise callback had to catch."""
        if self._internal_errors:
            raise self._internal_errors[0]

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
    ) -> dict[str, Any] | _Slot:
        """Execute sibling fields; return the dict, or its slot if any field is pending.

        All siblings are resolved before anything is dispatched, which is what
        puts their loads into one batch. A pending field holds None (keeping the
        key order) until its value is written in.

        If a non-null field raises, the exception leaves this dict unfinished, as
        in graphql-core; its slot then stays unbound, so pending fields already
        registered here can still record their own errors but nothing propagates
        from them.
        """
        results: dict[str, Any] = {}
        slot = None
        execute_field = self.execute_field
        for response_name, field_nodes in fields.items():
            field_path = Path(path, response_name, parent_type.name)
            result = execute_field(parent_type, source_value, field_nodes, field_path)
            if result is Undefined:
                continue
            if type(result) is _Slot:
                if slot is None:
                    slot = _Slot(results)
                slot.pending += 1
                result.parent = slot
                result.key = response_name
                result = result.value
            results[response_name] = result
        return results if slot is None else self.pending_or_settled(slot)

    def execute_fields_serially(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> dict[str, Any]:
        """Execute top-level mutation fields one after the other.

        The spec requires each mutation to finish before the next starts, so each
        field's pending values are fully settled (dispatch loop included) before
        the next resolver runs. A non-null mutation field failing, now or after a
        dispatch, stops the remaining mutations and nulls ``data``, as in
        graphql-core.
        """
        results: dict[str, Any] = {}
        # One extra pending count keeps the root open between mutations: it is
        # only ever settled by a failure, which then stops the loop.
        root = self._root = _Slot(results, pending=1)
        for response_name, field_nodes in fields.items():
            field_path = Path(path, response_name, parent_type.name)
            result = self.execute_field(parent_type, source_value, field_nodes, field_path)
            if result is Undefined:
                continue
            if type(result) is _Slot:
                root.pending += 1
                result.parent = root
                result.key = response_name
                results[response_name] = result.value
                self.settle(root, open_count=1)
                if self._data_nulled:
                    break
            else:
                results[response_name] = result
        return results

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_nodes: list[FieldNode],
        path: Path,
    ) -> Any:
        """Resolve one field and complete its value (see graphql-core's version).

        Returns the completed value, or an unbound ``_Slot`` (path and nullability
        set here, container and key set by the caller) if it is pending. Errors
        raised now go through ``handle_field_error`` (null, or re-raise for
        non-null types); errors of pending values are handled when they settle.
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
            if field_def.args:
                args = get_argument_values(field_def, field_nodes[0], self.variable_values)
                result = resolve_fn(source, info, **args)
            else:  # what get_argument_values would return, minus a call per field
                result = resolve_fn(source, info)
            if isinstance(result, CoroutineType):
                self.reject_coroutine(result, info)
            completed = self.complete_value(return_type, field_nodes, info, path, result)
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None
        if type(completed) is _Slot:
            completed.path = path
            completed.nullable = not isinstance(return_type, GraphQLNonNull)
        return completed

    @staticmethod
    def reject_coroutine(result: Any, info: GraphQLResolveInfo) -> None:
        """Fail clearly on async resolvers, which this executor cannot run."""
        result.close()  # avoid "coroutine was never awaited" warnings
        raise TypeError(
            f"Resolver of {info.parent_type.name}.{info.field_name} returned a "
            "coroutine; async resolvers are not supported by "
            "PromiseExecutionContext, return a Promise (e.g. loader.load()) instead."
        )

    # -- Completing values ---------------------------------------------------

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        """Complete ``result`` as graphql-core does; a wait slot if it is a pending Promise.

        A settled Promise (a cache hit, or a ``.then`` of one) is unwrapped right
        away. A pending one is completed, with the same ``return_type`` (so
        non-null checks included), when it settles.
        """
        if isinstance(result, Promise):
            target = result._target()
            state = target._state
            if state == _PROMISE_PENDING:
                return self.wait_for(
                    target,
                    field_nodes,
                    lambda value: self.complete_value(return_type, field_nodes, info, path, value),
                )
            result = settled_value(target)  # raises the reason of a rejected one
        if isinstance(result, Exception):
            raise result

        # Non-null is checked here rather than by recursing on ``of_type`` as
        # graphql-core does: same result, one call less for most fields.
        non_null = isinstance(return_type, GraphQLNonNull)
        if non_null:
            return_type = return_type.of_type  # type: ignore[union-attr]

        if result is None or result is Undefined:
            completed = None
        elif isinstance(return_type, _LEAF_TYPES):
            completed = self.complete_leaf_value(return_type, result)
        elif isinstance(return_type, GraphQLObjectType):
            completed = self.complete_object_value(return_type, field_nodes, info, path, result)
        elif isinstance(return_type, GraphQLList):
            completed = self.complete_list_value(return_type, field_nodes, info, path, result)
        elif isinstance(return_type, _ABSTRACT_TYPES):
            completed = self.complete_abstract_value(return_type, field_nodes, info, path, result)
        else:
            raise TypeError(  # pragma: no cover (graphql-core's wording)
                f"Cannot complete value of unexpected output type: '{inspect(return_type)}'."
            )
        if completed is None and non_null:
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
    ) -> list[Any] | _Slot:
        """Complete each item; return the list, or its slot if any item is pending.

        Item errors are handled per item, as for fields (null item, or propagation
        to the list for non-null items). Async iterables are not supported.
        """
        if not is_iterable(result):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{info.parent_type.name}.{info.field_name}'."
            )
        item_type = return_type.of_type
        item_nullable = not isinstance(item_type, GraphQLNonNull)
        complete_value = self.complete_value
        completed_results: list[Any] = []
        append = completed_results.append
        slot = None
        for index, item in enumerate(result):
            item_path = path.add_key(index, None)
            try:
                completed = complete_value(item_type, field_nodes, info, item_path, item)
            except Exception as raw_error:
                error = located_error(raw_error, field_nodes, item_path.as_list())
                self.handle_field_error(error, item_type, item_path)
                completed = None
            if type(completed) is _Slot:
                if slot is None:
                    slot = _Slot(completed_results)
                slot.pending += 1
                completed.parent = slot
                completed.key = index
                completed.path = item_path
                completed.nullable = item_nullable
                completed = completed.value
            append(completed)
        return completed_results if slot is None else self.pending_or_settled(slot)

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

        def complete_runtime_object(runtime_type_name: Any) -> Any:
            runtime_type = self.ensure_valid_runtime_type(
                runtime_type_name, return_type, field_nodes, info, result
            )
            return self.complete_object_value(runtime_type, field_nodes, info, path, result)

        return self.then(runtime_type, field_nodes, complete_runtime_object)

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

        return self.then(return_type.is_type_of(result, info), field_nodes, execute_if_type_matches)

    # -- Pending slots -------------------------------------------------------

    def then(self, value: Any, field_nodes: list[FieldNode], continue_with: Callable) -> Any:
        """``continue_with(value)`` now, or once ``value`` settles if it is a pending Promise."""
        if isinstance(value, Promise):
            target = value._target()
            if target._state == _PROMISE_PENDING:
                return self.wait_for(target, field_nodes, continue_with)
            value = settled_value(target)
        return continue_with(value)

    def wait_for(
        self, promise: Promise, field_nodes: list[FieldNode], continue_with: Callable
    ) -> _Slot:
        """An unbound slot that completes with ``continue_with(settled value)``."""
        slot = _Slot(None, 1)
        slot.context = self
        slot.field_nodes = field_nodes
        slot.continue_with = continue_with
        slot.wait_on(promise)
        return slot

    def resume(self, slot: _Slot, value: Any, reason: Exception | None) -> None:
        """Promise callback of a wait slot: complete the value and put it in place.

        Runs inside the promise library's queue draining, which swallows
        exceptions (and would then stop draining for good); so field errors are
        handled here and anything else is kept for ``settle`` to re-raise.
        """
        try:
            try:
                if reason is not None:
                    raise reason
                completed = slot.continue_with(value)  # type: ignore[misc]
            except Exception as raw_error:
                error = located_error(raw_error, slot.field_nodes, slot.path.as_list())
                self.fail(slot, error)
                return
            self.fill(slot, completed)
        except BaseException as internal_error:  # re-raised by settle()
            self._internal_errors.append(internal_error)

    def fill(self, slot: _Slot, completed: Any) -> None:
        """Write a wait's completed value into its container.

        If the value is itself pending (an object with pending fields, or another
        Promise), its slot takes this one's place in the parent.
        """
        parent: _Slot = slot.parent  # type: ignore[assignment]  # bound before any dispatch
        if type(completed) is _Slot:
            completed.parent = parent
            completed.key = slot.key
            completed.path = slot.path
            completed.nullable = slot.nullable
            parent.value[slot.key] = completed.value
            slot.done = True
            return
        parent.value[slot.key] = completed
        self.complete_slot(slot)

    @staticmethod
    def pending_or_settled(slot: _Slot) -> Any:
        """A new container's slot, or its outcome if it settled before being returned.

        That only happens when a resolver settles a Promise returned by an earlier
        sibling (a hand-made one: loaders settle only when dispatched). Then the
        container is complete (its plain value) or failed (raise, as if a
        non-null field had raised right away).
        """
        if not slot.done:
            return slot
        if slot.error is not None:
            raise slot.error
        return slot.value

    def complete_slot(self, slot: _Slot) -> None:
        """Mark ``slot`` settled and settle the ancestors it was the last pending child of."""
        while True:
            slot.done = True
            parent = slot.parent
            if parent is None or parent.done:
                return
            parent.pending -= 1
            if parent.pending:
                return
            slot = parent

    def fail(self, slot: _Slot, error: GraphQLError) -> None:
        """Null the nearest nullable slot from ``slot`` up, recording ``error`` there.

        The asynchronous form of ``handle_field_error`` raising through non-null
        fields: non-null slots fail into their container's slot. Reaching the root
        nulls ``data``. Already settled slots (a nulled ancestor) stop it silently,
        as graphql-core's ``collected_errors`` ignores errors below nulled positions.
        """
        while not slot.done:
            if slot.nullable:
                self.collected_errors.add(error, slot.path)
                slot.parent.value[slot.key] = None  # type: ignore[union-attr]
                self.complete_slot(slot)
                return
            slot.done = True
            parent = slot.parent
            if parent is None:
                if slot is self._root:
                    self.collected_errors.add(error, None)
                    self._data_nulled = True
                else:  # not returned yet (see pending_or_settled) or abandoned
                    slot.error = error
                return
            slot = parent
