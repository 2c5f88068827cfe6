"""Per-request DataLoader base class, dispatched by our execution context.

promise 2.3's ``DataLoader`` schedules a dispatch job for every queue the moment its first
key is enqueued, which with its default scheduler runs at once: each ``load()`` becomes its
own batch of one and nothing is ever batched. And it makes a ``Promise`` per key.

``Loader`` keeps promise's ``DataLoader`` API (``load``, ``load_many``, ``prime``, ``clear``,
``max_batch_size``, ``cache``, ``batch``) but not its machinery: ``load()`` returns a
``Deferred`` (dataloaders/deferred.py) and only appends to the queue, telling the request's
``LoaderRegistry`` that this loader has pending work. The ``PromiseExecutionContext``
(``schema/execution.py``) asks the registry to dispatch all pending queues once the current
level of the query has been walked, which gives one ``batch_load`` call per loader per level;
``dispatch`` settles each key's ``Deferred`` with its value.

Subclasses implement a plain synchronous ``batch_load``::

    class ProductCategoryLoader(Loader):
        def batch_load(self, keys):
            categories = Category.objects.in_bulk(keys)
            return [categories.get(key) for key in keys]

and resolvers use ``get_loader(info, ProductCategoryLoader).load(category_id)``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, MutableMapping
from typing import Any, ClassVar, Protocol, TypeVar

from promise import Promise
from promise.dataloader import DataLoader

from .deferred import Deferred

__all__ = ["Loader", "Scheduler"]

LoaderT = TypeVar("LoaderT", bound="Loader")


class Scheduler(Protocol):
    """Who dispatches a loader's queue and holds the request's other loaders: the request's
    ``LoaderRegistry`` (dataloaders/registry.py)."""

    def mark_pending(self, loader: Loader) -> None: ...

    def get(self, loader_class: type[LoaderT]) -> LoaderT: ...


class Loader(DataLoader):
    """Base class for per-request batching loaders.

    One instance exists per request (made by ``LoaderRegistry.get``), so the
    promise cache never leaks between requests or users. ``self.context`` is the
    GraphQL context of that request (the Django ``HttpRequest`` under
    ``GraphQLView``), handy for permission checks inside ``batch_load``.

    Class attributes understood by promise's ``DataLoader`` still apply:
    ``max_batch_size`` (split big batches), ``cache`` (set ``False`` to disable
    per-request caching) and ``batch`` (set ``False`` to load every key on its own,
    immediately).

    Note that promise's ``DataLoader`` subclasses ``threading.local``: queue and
    cache are per thread, and touching the instance from another thread silently
    re-runs ``__init__`` there (empty cache, same registry). Keep a request's
    execution on one thread, which synchronous execution does.
    """

    context_key: ClassVar[str] = "Loader"
    """Name under which the registry keeps the instance; defaults to the class name."""

    context: Any
    registry: Scheduler
    queued: list[tuple[Any, Deferred]]
    """Keys waiting for the next dispatch, each with its Deferred (promise's own `_queue`
    stays unused)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give every subclass its own ``context_key`` unless it sets one explicitly.

        Without this a subclass would inherit its parent's key and the registry
        would treat two different loaders as the same one.
        """
        super().__init_subclass__(**kwargs)
        if "context_key" not in cls.__dict__:
            cls.context_key = cls.__name__

    def __init__(
        self,
        context: Any,
        registry: Scheduler,
        *,
        max_batch_size: int | None = None,
        cache: bool | None = None,
        get_cache_key: Callable[[Any], Hashable] | None = None,
        cache_map: MutableMapping[Hashable, Deferred] | None = None,
    ) -> None:
        """Bind the loader to one request and the registry that dispatches it.

        Loaders are made by ``LoaderRegistry.get`` (``get_loader(info, MyLoader)``), once
        per request.
        """
        self.context = context
        self.registry = registry
        self.queued = []
        super().__init__(
            max_batch_size=max_batch_size,
            cache=cache,
            get_cache_key=get_cache_key,
            cache_map=cache_map,
        )

    def batch_load(self, keys: list[Any]) -> list[Any]:
        """Return one value per key, in the order of ``keys``.

        Put an ``Exception`` instance at a key's position to fail only that key.
        Raising fails every key of the batch (and does not cache them).
        A settled ``Promise`` of such a list is accepted too.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement batch_load(keys).")

    def batch_load_fn(self, keys: list[Any]) -> Promise[list[Any]]:
        """promise's ``DataLoader`` insists on one; ``dispatch`` calls ``batch_load``."""
        return Promise.resolve(self.batch_load(list(keys)))

    def load(self, key: Any = None) -> Deferred:  # type: ignore[override]
        """The value for ``key``, once this loader's queue is dispatched (or at once, from
        the cache, or with ``batch = False``)."""
        if key is None:
            raise TypeError("loader.load() must be called with a key, not None.")
        cache_key = self.get_cache_key(key)
        if self.cache:
            cached: Deferred | None = self._promise_cache.get(cache_key)
            if cached is not None:
                return cached
        deferred = Deferred()
        if self.cache:
            self._promise_cache[cache_key] = deferred
        self.queued.append((key, deferred))
        if self.batch:
            self.registry.mark_pending(self)
        else:
            self.dispatch()
        return deferred

    def prime(self, key: Any, value: Any) -> Loader:
        """Remember ``value`` for ``key`` unless the key is already known (as promise's)."""
        cache_key = self.get_cache_key(key)
        if cache_key not in self._promise_cache:
            self._promise_cache[cache_key] = (
                Deferred.rejected(value) if isinstance(value, Exception)
                else Deferred.fulfilled(value)
            )
        return self

    def dispatch(self) -> None:
        """Load every queued key, in batches of at most ``max_batch_size``."""
        queue, self.queued = self.queued, []
        size = self.max_batch_size or len(queue) or 1
        for start in range(0, len(queue), size):
            self._dispatch_batch(queue[start : start + size])

    def _dispatch_batch(self, batch: list[tuple[Any, Deferred]]) -> None:
        keys = [key for key, _ in batch]
        try:
            values = self.batch_load(keys)
            if isinstance(values, Promise):
                values = values.get() if not values.is_pending else values
            _check_batch(keys, values)
        except Exception as error:
            # As promise's failed_dispatch: nothing of a failed batch stays cached.
            for key, deferred in batch:
                self.clear(key)
                deferred.reject(error)
            return
        for (_, deferred), value in zip(batch, values, strict=True):
            if isinstance(value, Exception):
                deferred.reject(value)
            else:
                deferred.resolve(value)


def _check_batch(keys: list[Any], values: Any) -> None:
    if not isinstance(values, Iterable) or isinstance(values, Promise):
        raise TypeError(
            "DataLoader batch_load must return a list of values (or a settled Promise of "
            f"one), not {values!r}."
        )
    if len(values) != len(keys):  # type: ignore[arg-type]
        raise TypeError(
            "DataLoader batch_load must return a list of the same length as the list of "
            f"keys.\n\nKeys:\n{keys}\n\nValues:\n{values}"
        )
