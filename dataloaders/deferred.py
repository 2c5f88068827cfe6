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


def then(value: Any, callback: Callable[[Any], Any]) -> Any:
    """`callback(value)` now, or once `value` settles if it is a Deferred or a Promise: for
    code that may get either a loaded value or a loader's answer (a type's `get_node`)."""
    if isinstance(value, (Deferred, Promise)):
        return value.then(callback)
    return callback(value)


class DeferredPendingError(RuntimeError):
    """`.get()` or `.result()` of a value whose batch has not been dispatched yet."""


class Deferred:
    __slots__ = ("_state", "_value", "_waiters")

    def __init__(self) -> None:
        self._state = PENDING
        self._value: Any = None
        # Objects with fulfilled(value) and rejected(error): the executor's pending slots,
        # the links of `.then` chains, or plain callbacks.
        self._waiters: list[Any] = []

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
                value.add_waiter(_Follow(self))
                return
            if value._state == REJECTED:
                self.reject(value._value)
                return
            value = value._value
        elif isinstance(value, Promise):
            value.then(self.resolve, self.reject)
            return
        self._state, self._value = FULFILLED, value
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.fulfilled(value)

    def reject(self, error: Exception) -> None:
        if self._state != PENDING:
            return
        self._state, self._value = REJECTED, error
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.rejected(error)

    def add_waiter(self, waiter: Any) -> None:
        """Call `waiter.fulfilled(value)` or `waiter.rejected(error)` when settled (now, if it
        is). Waiters must not raise: a settle runs every waiter and has no one to report to.
        """
        if self._state == PENDING:
            self._waiters.append(waiter)
        elif self._state == FULFILLED:
            waiter.fulfilled(self._value)
        else:
            waiter.rejected(self._value)

    def subscribe(self, on_value: Callable[[Any], Any],
                  on_error: Callable[[Exception], Any]) -> None:
        """`add_waiter` for two plain callbacks."""
        self.add_waiter(_Callbacks(on_value, on_error))

    # -- promise's API -------------------------------------------------------------------

    def then(self, did_fulfill: Callable[[Any], Any] | None = None,
             did_reject: Callable[[Exception], Any] | None = None) -> Deferred:
        """The Deferred of `did_fulfill(value)` (or `did_reject(error)`), as promise's."""
        chained = Deferred()
        self.add_waiter(_Chain(chained, did_fulfill, did_reject))
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


class _Callbacks:
    __slots__ = ("fulfilled", "rejected")

    def __init__(self, on_value: Callable[[Any], Any], on_error: Callable[[Exception], Any]):
        self.fulfilled = on_value
        self.rejected = on_error


class _Follow:
    """Settles `deferred` as the Deferred it follows settles."""

    __slots__ = ("deferred",)

    def __init__(self, deferred: Deferred) -> None:
        self.deferred = deferred

    def fulfilled(self, value: Any) -> None:
        self.deferred.resolve(value)

    def rejected(self, error: Exception) -> None:
        self.deferred.reject(error)


class _Chain:
    """One link of `.then`: settles `chained` with the handler's outcome."""

    __slots__ = ("chained", "did_fulfill", "did_reject")

    def __init__(self, chained: Deferred, did_fulfill: Callable[[Any], Any] | None,
                 did_reject: Callable[[Exception], Any] | None) -> None:
        self.chained = chained
        self.did_fulfill = did_fulfill
        self.did_reject = did_reject

    def fulfilled(self, value: Any) -> None:
        if self.did_fulfill is None:
            self.chained.resolve(value)
            return
        try:
            result = self.did_fulfill(value)
        except Exception as error:
            self.chained.reject(error)
            return
        self.chained.resolve(result)

    def rejected(self, error: Exception) -> None:
        if self.did_reject is None:
            self.chained.reject(error)
            return
        try:
            result = self.did_reject(error)
        except Exception as handler_error:
            self.chained.reject(handler_error)
            return
        self.chained.resolve(result)
