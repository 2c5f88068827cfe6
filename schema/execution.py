"""Synchronous, Promise-aware GraphQL execution of compiled plans, with batched DataLoader
dispatch.

graphql-core parses and validates; this module executes queries, mutations and each
subscription event. It subclasses graphql-core's ``ExecutionContext`` (so it plugs into
``graphql.execute``, graphene-django's view and graphql-core's own test suite) but walks the
operation's plan (schema/plan.py) instead of re-deciding every field of every object: a plain
attribute with a leaf value is read and written without a ``ResolveInfo`` or a ``Path``;
resolvers get a ``ResolveInfo``; paths are built for objects, list items and errors.

graphql-core 3 only knows about awaitables. ``promise.Promise`` defines ``__await__``, so the
stock ``ExecutionContext`` either wraps it in coroutines (``graphql.execute``) or, with
``graphql_sync``, treats it as a plain value and fails to serialize it. Neither dispatches
DataLoader queues. Here:

1. The first pass walks the plan, building the plain result dicts and lists. A field (or
   list item) whose resolver returns a pending Promise gets a placeholder in its container
   and a *pending slot* that remembers where the value goes; its keys wait in the loaders'
   queues.
2. While anything is pending, the request's ``LoaderRegistry`` dispatches every pending
   queue: one ``batch_load`` per loader for the whole level. Each settled Promise calls its
   slot back, which completes the value (queueing the next level's keys) and writes it into
   the slot's container.
3. When nothing under the root is pending any more, the plain data is returned.

Why slots and not Promise chains: chaining every completion with ``.then`` and gathering
every object with ``Promise.all`` made the promise library's bookkeeping (and the garbage it
creates) cost several times the execution itself. Here Promises exist only where resolvers
return them; the executor registers one plain callback per pending value.

Errors follow graphql-core exactly, including null propagation: every pending slot knows its
container's slot (``_Slot.parent``) and whether its own type is nullable, so a failing
non-null value nulls the nearest nullable ancestor (or the whole ``data``). Errors are
recorded through graphql-core's ``collected_errors``, which ignores errors below an already
nulled position. tests/test_execution_differential.py compares the results with
graphql-core's own executor, and tests/test_graphql_core_execution.py runs graphql-core's
execution tests against this class.

Async resolvers are not supported: Promises are the only deferred values and
``is_awaitable`` is always false. A resolver returning a coroutine gets a field error instead
of a hanging or half-serialized value.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import CoroutineType
from typing import Any, cast

from django.utils.functional import LazyObject
from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    OperationType,
    located_error,
)
from graphql.execution.execute import SELECTIONS_NESTED_TOO_DEEPLY, invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable
from promise import Promise

from dataloaders.deferred import PENDING, REJECTED, Deferred
from dataloaders.registry import find_registry
from schema.plan import ATTRIBUTE, LEAF, LIST, OBJECT, TYPENAME, FieldPlan, Shape, operation_plan

__all__ = ["PromiseExecutionContext", "PromiseStalledError"]

# promise 2.3 has no public "add a plain callback" API; see ``_Slot.wait_on``.
_PROMISE_PENDING = -1
# Values that complete() must look at before anything else (one isinstance for both).
_SPECIAL = (Promise, Exception)
_new_tuple = tuple.__new__


class PromiseStalledError(RuntimeError):
    """The result is still pending but no loader has anything left to dispatch.

    Some resolver returned a Promise that nothing will ever settle (for example
    one built by hand, or a loader whose registry is not on the context). Raised
    instead of looping forever.
    """


def settled_value(promise: Promise[Any]) -> Any:
    """Value of a settled Promise; raises its reason if it was rejected.

    Unlike ``Promise.get()`` this never blocks: ``get()`` on a pending Promise
    waits on a ``threading.Event`` forever, since nothing else runs our loaders.
    """
    if promise.is_pending:
        raise PromiseStalledError(f"{promise!r} is still pending.")
    if promise.is_rejected:
        raise promise.reason
    return promise.value


def never_awaitable(value: Any) -> bool:
    """``is_awaitable`` predicate: nothing is awaitable in this synchronous executor.

    The default predicate looks for ``__await__``, which ``Promise`` has; that
    would send Promises down graphql-core's coroutine paths.
    """
    return False




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
        "field",
        "field_nodes",
        "info",
        "key",
        "nullable",
        "parent",
        "path",
        "pending",
        "shape",
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
        # Either complete(shape, field, path, value, info) or continue_with(value).
        self.shape: Shape | None = None
        self.field: FieldPlan | None = None
        self.info: GraphQLResolveInfo | None = None
        self.continue_with: Callable[[Any], Any] | None = None

    def wait_on(self, pending: Deferred | Promise[Any]) -> None:
        """Call this slot back when ``pending`` settles.

        A ``Deferred`` takes plain callbacks. For a ``Promise``, ``.then`` would allocate a
        Promise per call and go through the promise library's settle machinery twice;
        ``_add_callbacks`` with no target Promise makes the library call our handlers
        directly. The handlers must never raise (see ``PromiseExecutionContext.resume``).
        """
        if type(pending) is Deferred:
            pending.add_waiter(self)
        else:
            cast("Promise[Any]", pending)._target()._add_callbacks(
                self.fulfilled, self.rejected, None
            )

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
        self.is_awaitable = never_awaitable
        # The slot of the whole ``data`` dict while it has pending descendants.
        self._root: _Slot | None = None
        self._data_nulled = False
        # Unexpected exceptions raised inside Promise callbacks: the promise
        # library would swallow them, so they are kept and re-raised here.
        self._internal_errors: list[BaseException] = []
        # What every ResolveInfo of this execution shares, after the field's own parts.
        self._info_tail: tuple[Any, ...] = ()
        # graphql-core builds a manager even for an empty list (graphene-django's default).
        self.uses_middleware = bool(
            self.middleware_manager and self.middleware_manager.middlewares
        )

    # -- Driving the dispatch loop -------------------------------------------

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

    def forget_loaded(self) -> None:
        registry = find_registry(self.context_value)
        if registry is not None:
            registry.forget()

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

    def execute_operation(self, operation: OperationDefinitionNode, root_value: Any) -> Any:
        """Execute the operation's plan and settle everything pending, so ``execute`` gets a
        dict.

        If a non-null error propagated up to the root, it is already recorded (as
        graphql-core's ``execute`` would) and ``data`` is null.
        """
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            raise GraphQLError(
                f"Schema is not configured to execute {operation.operation.value} operation.",
                operation,
            )
        try:
            fields = operation_plan(
                self.schema, operation, root_type, self.fragments, self.variable_values,
                self.field_resolver, self.uses_middleware,
            )
        except RecursionError:
            fields = None
        if fields is None:
            raise GraphQLError(SELECTIONS_NESTED_TOO_DEEPLY, operation)
        self._info_tail = (
            self.schema, self.fragments, self.root_value, self.operation,
            self.variable_values, self.context_value, self.is_awaitable,
        )
        data: dict[str, Any] | _Slot
        if operation.operation == OperationType.MUTATION:
            data = self.execute_fields_serially(fields, root_value)
        else:
            data = self.execute_fields(fields, root_value, None)
        if isinstance(data, _Slot):  # a query with pending fields
            self._root = data
            self.settle(data)
            data = data.value
        self.raise_internal_error()
        return None if self._data_nulled else data

    def execute_fields(  # type: ignore[override]
        self, fields: tuple[FieldPlan, ...], source: Any, path: Path | None
    ) -> dict[str, Any] | _Slot:
        """Execute sibling fields; return the dict, or its slot if any field is pending.

        A plain attribute holding a leaf value is read and written here, without a ``Path``
        or a ``ResolveInfo``; anything else goes through ``execute_one``. All siblings are
        resolved before anything is dispatched, which is what puts their loads into one
        batch. A pending field holds None (keeping the key order) until its value is written
        in.

        If a non-null field raises, the exception leaves this dict unfinished, as in
        graphql-core; its slot then stays unbound, so pending fields already registered here
        can still record their own errors but nothing propagates from them.
        """
        results: dict[str, Any] = {}
        slot = None
        is_dict = isinstance(source, dict)
        for field in fields:
            if field.kind == ATTRIBUTE:
                try:
                    value = (
                        source.get(field.attname, field.default) if is_dict
                        else getattr(source, field.attname, field.default)
                    )
                except Exception as raw_error:
                    self.field_error(raw_error, field, Path(path, field.key, field.parent_name))
                    completed = None
                else:
                    shape = field.shape
                    if shape.kind == LEAF and (
                        type(value) is shape.identity or (value is None and not shape.non_null)
                    ):
                        results[field.key] = value
                        continue
                    completed = self.execute_one(field, source, path, value)
            elif field.kind == TYPENAME:
                completed = field.parent_name
            else:
                completed = self.execute_one(field, source, path)
            if type(completed) is _Slot:
                if slot is None:
                    slot = _Slot(results)
                slot.pending += 1
                completed.parent = slot
                completed.key = field.key
                completed = completed.value
            results[field.key] = completed
        return results if slot is None else self.pending_or_settled(slot)

    def execute_fields_serially(  # type: ignore[override]
        self, fields: tuple[FieldPlan, ...], source: Any
    ) -> dict[str, Any]:
        """Execute top-level mutation fields one after the other.

        The spec requires each mutation to finish before the next starts, so each field's
        pending values are fully settled (dispatch loop included) before the next resolver
        runs. A non-null mutation field failing, now or after a dispatch, stops the
        remaining mutations and nulls ``data``, as in graphql-core.
        """
        results: dict[str, Any] = {}
        # One extra pending count keeps the root open between mutations: it is only ever
        # settled by a failure, which then stops the loop.
        root = self._root = _Slot(results, pending=1)
        for index, field in enumerate(fields):
            if index:
                # What the loaders cached may be what the previous mutation just changed.
                self.forget_loaded()
            completed = self.execute_one(field, source, None)
            if type(completed) is _Slot:
                root.pending += 1
                completed.parent = root
                completed.key = field.key
                results[field.key] = completed.value
                self.settle(root, open_count=1)
                if self._data_nulled:
                    break
            else:
                results[field.key] = completed
        return results

    def execute_one(
        self, field: FieldPlan, source: Any, parent_path: Path | None, value: Any = Undefined
    ) -> Any:
        """One field, completed: its value, None after a field error, or an unbound
        ``_Slot`` (path and nullability set, container and key left to the caller) while it
        is pending. A non-null field's error propagates (``handle_field_error``).

        ``value`` is the attribute, when ``execute_fields`` has read it already.
        """
        path = Path(parent_path, field.key, field.parent_name)
        try:
            if field.kind == TYPENAME:
                return field.parent_name
            if field.kind == ATTRIBUTE:
                if value is Undefined:
                    value = (
                        source.get(field.attname, field.default) if isinstance(source, dict)
                        else getattr(source, field.attname, field.default)
                    )
                completed = self.complete(field.shape, field, path, value, None)
            else:
                completed = self.execute_field(field, source, path)
        except Exception as raw_error:
            return self.field_error(raw_error, field, path)
        if type(completed) is _Slot:
            completed.path = path
            completed.nullable = not field.shape.non_null
        return completed

    def field_error(self, raw_error: Exception, field: FieldPlan, path: Path) -> None:
        """Locate the error; null the field, or propagate it from a non-null field."""
        error = located_error(raw_error, field.field_nodes, path.as_list())
        self.handle_field_error(error, field.return_type, path)

    def execute_field(  # type: ignore[override]
        self, field: FieldPlan, source: Any, path: Path
    ) -> Any:
        """Call a field's resolver and complete its value; errors propagate to the caller.

        Returns the completed value, or an unbound ``_Slot`` if it is pending.
        """
        info = self.resolve_info(field, path)
        resolve = field.resolve
        if self.uses_middleware:
            # uses_middleware: there is a manager.
            resolve = self.middleware_manager.get_field_resolver(resolve)  # type: ignore[union-attr]
        if not field.takes_args:
            result = resolve(source, info)
        elif field.static_args is not None:
            result = resolve(source, info, **field.static_args)
        else:
            arguments = get_argument_values(
                field.field_def, field.field_nodes[0], self.variable_values
            )
            result = resolve(source, info, **arguments)
        if isinstance(result, CoroutineType):
            self.reject_coroutine(result, info)
        return self.complete(field.shape, field, path, result, info)

    def resolve_info(self, field: FieldPlan, path: Path) -> GraphQLResolveInfo:
        # The NamedTuple's fields in order, built as a tuple: its generated __new__ with
        # twelve keyword-capable parameters costs more than the tuple.
        return _new_tuple(GraphQLResolveInfo, (*field.info_head, path, *self._info_tail))

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

    def complete(
        self, shape: Shape, field: FieldPlan, path: Path, result: Any,
        info: GraphQLResolveInfo | None,
    ) -> Any:
        """Complete ``result`` as graphql-core does; a wait slot if it is a pending Promise.

        A settled Promise (a cache hit, or a ``.then`` of one) is unwrapped right away. A
        pending one is completed, with the same shape (non-null checks included), when it
        settles. ``info`` is built only if an ``is_type_of`` or ``resolve_type`` needs it.
        """
        if type(result) is Deferred:
            if result._state == PENDING:
                return self.wait_to_complete(result, shape, field, info)
            if result._state == REJECTED:
                raise result._value
            result = result._value
        if isinstance(result, _SPECIAL):
            if isinstance(result, Exception):
                raise result
            target = result._target()
            if target._state == _PROMISE_PENDING:
                return self.wait_to_complete(target, shape, field, info)
            result = settled_value(target)  # raises the reason of a rejected one
            if isinstance(result, Exception):
                raise result
        if result is None or result is Undefined:
            if shape.non_null:
                raise TypeError(
                    f"Cannot return null for non-nullable field {field.parent_name}.{field.name}."
                )
            return None
        kind = shape.kind
        if kind == LEAF:
            if type(result) is shape.identity:
                return result
            return self.complete_leaf_value(shape.type, result)
        if kind == OBJECT:
            return self.complete_object(shape, shape.type, field, path, result, info)
        if kind == LIST:
            return self.complete_list(shape, field, path, result, info)
        return self.complete_abstract(shape, field, path, result, info)

    def complete_list(
        self, shape: Shape, field: FieldPlan, path: Path, result: Any,
        info: GraphQLResolveInfo | None,
    ) -> list[Any] | _Slot:
        """Complete each item; return the list, or its slot if any item is pending.

        Item errors are handled per item, as for fields (null item, or propagation to the
        list for non-null items). Async iterables are not supported.
        """
        if type(result) is not list and not is_iterable(result):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{field.parent_name}.{field.name}'."
            )
        item = shape.item
        assert item is not None
        complete = self.complete
        completed_results: list[Any] = []
        append = completed_results.append
        slot = None
        for index, value in enumerate(result):
            item_path = Path(path, index, None)
            try:
                completed = complete(item, field, item_path, value, info)
            except Exception as raw_error:
                error = located_error(raw_error, field.field_nodes, item_path.as_list())
                self.handle_field_error(error, item.output_type, item_path)
                completed = None
            if type(completed) is _Slot:
                if slot is None:
                    slot = _Slot(completed_results)
                slot.pending += 1
                completed.parent = slot
                completed.key = index
                completed.path = item_path
                completed.nullable = not item.non_null
                completed = completed.value
            append(completed)
        return completed_results if slot is None else self.pending_or_settled(slot)

    def complete_abstract(
        self, shape: Shape, field: FieldPlan, path: Path, result: Any,
        info: GraphQLResolveInfo | None,
    ) -> Any:
        """Resolve the runtime type (possibly via a Promise), then complete as object."""
        info = info or self.resolve_info(field, path)
        abstract_type = shape.type
        resolve_type_fn = abstract_type.resolve_type or self.type_resolver
        runtime_type = resolve_type_fn(result, info, abstract_type)

        def complete_runtime_object(runtime_type_name: Any) -> Any:
            runtime_type = self.ensure_valid_runtime_type(
                runtime_type_name, abstract_type, field.field_nodes, info, result
            )
            return self.complete_object(shape, runtime_type, field, path, result, info)

        return self.then(runtime_type, field.field_nodes, complete_runtime_object)

    def complete_object(
        self, shape: Shape, object_type: GraphQLObjectType, field: FieldPlan, path: Path,
        result: Any, info: GraphQLResolveInfo | None,
    ) -> Any:
        """Check ``is_type_of`` (possibly via a Promise), then execute the planned sub-fields.

        graphene-django's ``is_type_of`` depends on the value's class alone, so its answer is
        remembered per class for the position.
        """
        is_type_of = object_type.is_type_of
        if is_type_of is None:
            return self.execute_fields(shape.fields(object_type), result, path)
        by_class = shape.type_of_by_class if object_type is shape.type else None
        matches: bool | Awaitable[bool] | None
        if by_class is not None:
            matches = by_class.get(type(result))
            if matches is None:
                matches = is_type_of(result, info or self.resolve_info(field, path))
                if type(matches) is bool and not isinstance(result, LazyObject):
                    by_class[type(result)] = matches
        else:
            matches = is_type_of(result, info or self.resolve_info(field, path))

        if matches is True:
            return self.execute_fields(shape.fields(object_type), result, path)

        def execute_if_type_matches(matches: Any) -> Any:
            if not matches:
                raise invalid_return_type_error(object_type, result, field.field_nodes)
            return self.execute_fields(shape.fields(object_type), result, path)

        return self.then(matches, field.field_nodes, execute_if_type_matches)

    # -- Pending slots -------------------------------------------------------

    def then(
        self, value: Any, field_nodes: list[FieldNode], continue_with: Callable[[Any], Any]
    ) -> Any:
        """``continue_with(value)`` now, or once ``value`` settles if it is pending."""
        if type(value) is Deferred:
            if value._state == PENDING:
                return self.wait_for(value, field_nodes, continue_with)
            value = value.get()
        elif isinstance(value, Promise):
            target = value._target()
            if target._state == _PROMISE_PENDING:
                return self.wait_for(target, field_nodes, continue_with)
            value = settled_value(target)
        return continue_with(value)

    def wait_for(
        self, pending: Deferred | Promise[Any], field_nodes: list[FieldNode],
        continue_with: Callable[[Any], Any],
    ) -> _Slot:
        """An unbound slot that completes with ``continue_with(settled value)``."""
        slot = _Slot(None, 1)
        slot.context = self
        slot.field_nodes = field_nodes
        slot.continue_with = continue_with
        slot.wait_on(pending)
        return slot

    def wait_to_complete(self, pending: Deferred | Promise[Any], shape: Shape, field: FieldPlan,
                         info: GraphQLResolveInfo | None) -> _Slot:
        """An unbound slot that completes the settled value with this shape."""
        slot = _Slot(None, 1)
        slot.context = self
        slot.field_nodes = field.field_nodes
        slot.shape = shape
        slot.field = field
        slot.info = info
        slot.wait_on(pending)
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
                if slot.continue_with is None:
                    completed = self.complete(  # a completing wait has all of them
                        slot.shape, slot.field, slot.path, value, slot.info  # type: ignore[arg-type]
                    )
                else:
                    completed = slot.continue_with(value)
            except Exception as raw_error:
                # A wait is bound (its path set) before anything is dispatched.
                error = located_error(raw_error, slot.field_nodes, cast(Path, slot.path).as_list())
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
