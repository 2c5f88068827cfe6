"""Per-request DataLoader base class, dispatched by our execution context.

promise 2.3's ``DataLoader`` schedules a dispatch job for every queue the moment
its first key is enqueued (``do_resolve_reject`` -> ``enqueue_post_promise_job``).
With the default ``ImmediateScheduler`` that job runs synchronously, so each
``load()`` becomes its own batch of one and nothing is ever batched.

``Loader`` replaces that scheduling: ``load()`` only appends to the queue and tells
the request's ``LoaderRegistry`` that this loader has pending work. The
``PromiseExecutionContext`` (``schema/execution.py``) asks the registry to dispatch
all pending queues once the current level of the query has been walked, which
gives one ``batch_load`` call per loader per level.

Subclasses implement a plain synchronous ``batch_load``::

    class ProductCategoryLoader(Loader):
        def batch_load(self, keys):
            categories = Category.objects.in_bulk(keys)
            return [categories.get(key) for key in keys]

and resolvers use ``get_loader(info, ProductCategoryLoader).load(category_id)``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, MutableMapping
from typing import TYPE_CHECKING, Any, ClassVar

from promise import Promise
from promise.dataloader import DataLoader, dispatch_queue
from promise.dataloader import Loader as QueuedLoad

if TYPE_CHECKING:
    from .registry import LoaderRegistry

__all__ = ["Loader"]


class Loader(DataLoader):
    """Base class for per-request batching loaders.

    One instance exists per request (created by ``LoaderRegistry.get``), so the
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
    registry: LoaderRegistry

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
        registry: LoaderRegistry | None = None,
        *,
        max_batch_size: int | None = None,
        cache: bool | None = None,
        get_cache_key: Callable[[Any], Hashable] | None = None,
        cache_map: MutableMapping[Hashable, Promise] | None = None,
    ) -> None:
        """Bind the loader to one request.

        ``registry`` is passed by ``LoaderRegistry.get``. When a loader is built
        directly (``MyLoader(info.context)``) the registry living on the context is
        used (and created if needed), so its loads are still dispatched by the
        executor.
        """
        # Imported here: registry.py only needs this module for type hints, but a
        # top-level import in both directions would be fragile.
        from .registry import get_registry

        self.context = context
        self.registry = registry if registry is not None else get_registry(context)
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
        A ``Promise`` of such a list is accepted too.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement batch_load(keys).")

    def batch_load_fn(self, keys: list[Any]) -> Promise:
        """Adapt ``batch_load`` to the Promise-returning API of promise's DataLoader.

        If ``batch_load`` raises, promise's ``dispatch_queue_batch`` catches it and
        rejects every key of this batch, so only the fields that asked for them
        error.
        """
        return Promise.resolve(self.batch_load(list(keys)))

    def do_resolve_reject(
        self,
        key: Hashable,
        resolve: Callable[[Any], None],
        reject: Callable[[Exception], None],
    ) -> None:
        """Queue ``key`` and let the registry know; never dispatch from here.

        This is the executor callback of the Promise created by ``load()``. The
        upstream version schedules an immediate dispatch, which defeats batching.
        """
        self._queue.append(QueuedLoad(key=key, resolve=resolve, reject=reject))
        if self.batch:
            self.registry.mark_pending(self)
        else:
            dispatch_queue(self)
