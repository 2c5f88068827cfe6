"""`Deferred`: what `Loader.load()` returns — one key's value, settled when its batch runs.

A `promise.Promise` per key made the promise library's bookkeeping (its scheduler, its
queues, its settle machinery) cost more than the queries it waited for. A `Deferred` is three
slots and a list of plain callbacks; the batch dispatch settles it, and the settle calls each
waiter directly: the executor's pending slot (schema/execution.py), or the next link of a
`.then` chain.

It keeps promise's API where code meets it: `.then`/`.catch`, `.get()`, `.is_pending`,
`.is_fulfilled`, `.is_rejected`, `.value`, `.reason`; and it is future-like (`done()`,
`result()`, `exception()`, `add_done_callback()`), which promise recognises as a thenable,
so `Promise.resolve(deferred)`, `Promise.all([...])` and graphene-django's
`Promise.is_thenable` checks adopt it. This module and dataloaders/loader.py are the only
places that know both.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from promise import Promise

PENDING, FULFILLED, REJECTED = 0, 1, 2


class DeferredPendingError(RuntimeError):
    """`.get()` or `.result()` of a value whose batch has not been dispatched yet."""


class Deferred:
    __slots__ = ("_callbacks", "_state", "_value")

    def __init__(self) -> None:
        self._state = PENDING
        self._value: Any = None
        self._callbacks: list[tuple[Callable[[Any], Any], Callable[[Exception], Any]]] = []

    @classmethod
    def fulfilled(cls, value: Any) -> Deferred:
        deferred = cls()
        deferred._state, deferred._value = FULFILLED, value
        return deferred

    @classmethod
    def rejected(cls, error: Exception) -> Deferred:
        deferred = cls()
        deferred._state, deferred._value = REJECTED, error
        return deferred

    # -- Settling ------------------------------------------------------------------------

    def resolve(self, value: Any) -> None:
        """Fulfil with `value`; a pending `Deferred` or `Promise` is followed instead."""
        if self._state != PENDING:
            return
        if isinstance(value, Deferred):
            if value._state == PENDING:
                value.subscribe(self.resolve, self.reject)
                return
            if value._state == REJECTED:
                self.reject(value._value)
                return
            value = value._value
        elif isinstance(value, Promise):
            value.then(self.resolve, self.reject)
            return
        self._state, self._value = FULFILLED, value
        callbacks, self._callbacks = self._callbacks, []
        for on_value, _ in callbacks:
            on_value(value)

    def reject(self, error: Exception) -> None:
        if self._state != PENDING:
            return
        self._state, self._value = REJECTED, error
        callbacks, self._callbacks = self._callbacks, []
        for _, on_error in callbacks:
            on_error(error)

    def subscribe(self, on_value: Callable[[Any], Any],
                  on_error: Callable[[Exception], Any]) -> None:
        """Call one of these when settled (now, if it is). They must not raise: a settle
        runs every waiter and has no one to report to."""
        if self._state == PENDING:
            self._callbacks.append((on_value, on_error))
        elif self._state == FULFILLED:
            on_value(self._value)
        else:
            on_error(self._value)

    # -- promise's API -------------------------------------------------------------------

    def then(self, did_fulfill: Callable[[Any], Any] | None = None,
             did_reject: Callable[[Exception], Any] | None = None) -> Deferred:
        """The Deferred of `did_fulfill(value)` (or `did_reject(error)`), as promise's."""
        chained = Deferred()

        def run(handler: Callable[[Any], Any] | None, outcome: Any, failed: bool) -> None:
            if handler is None:
                (chained.reject if failed else chained.resolve)(outcome)
                return
            try:
                result = handler(outcome)
            except Exception as error:
                chained.reject(error)
            else:
                chained.resolve(result)

        self.subscribe(
            lambda value: run(did_fulfill, value, False),
            lambda error: run(did_reject, error, True),
        )
        return chained

    def catch(self, did_reject: Callable[[Exception], Any]) -> Deferred:
        return self.then(None, did_reject)

    def get(self) -> Any:
        """The value, or raise the error; never blocks (nothing else would dispatch)."""
        if self._state == PENDING:
            raise DeferredPendingError("The loader's batch has not been dispatched yet.")
        if self._state == REJECTED:
            raise self._value
        return self._value

    @property
    def is_pending(self) -> bool:
        return self._state == PENDING

    @property
    def is_fulfilled(self) -> bool:
        return self._state == FULFILLED

    @property
    def is_rejected(self) -> bool:
        return self._state == REJECTED

    @property
    def value(self) -> Any:
        return self._value if self._state == FULFILLED else None

    @property
    def reason(self) -> Exception | None:
        return self._value if self._state == REJECTED else None

    # -- The future protocol, by which promise adopts a Deferred -------------------------

    def done(self) -> bool:
        return self._state != PENDING

    def result(self) -> Any:
        return self.get()

    def exception(self) -> Exception | None:
        if self._state == PENDING:
            raise DeferredPendingError("The loader's batch has not been dispatched yet.")
        return self.reason

    def add_done_callback(self, callback: Callable[[Deferred], Any]) -> None:
        self.subscribe(lambda _value: callback(self), lambda _error: callback(self))

    def __repr__(self) -> str:
        state = ("pending", "fulfilled", "rejected")[self._state]
        return f"<Deferred {state}>"
