"""Per-request registry of DataLoader instances.

Loaders cache results, so they must live exactly as long as one request: the
registry is stored on the GraphQL context (``context.loaders``; the Django
``HttpRequest`` under ``GraphQLView``) and creates each loader class lazily, at
most once. It also remembers which loaders have queued keys, so the execution
context can dispatch them level by level without any global state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from graphql import GraphQLResolveInfo

if TYPE_CHECKING:
    from .loader import Loader

__all__ = [
    "REGISTRY_ATTRIBUTE",
    "LoaderRegistry",
    "find_registry",
    "get_loader",
    "get_registry",
    "release",
]

REGISTRY_ATTRIBUTE = "loaders"
"""Attribute holding the registry on the context (an object: the request, or the websocket
execution's context)."""

LoaderT = TypeVar("LoaderT", bound="Loader")


class LoaderRegistry:
    """The loaders of one request, plus the set of those with queued keys."""

    def __init__(self, context: Any = None) -> None:
        self.context = context
        self._loaders: dict[str, Loader] = {}
        # Insertion-ordered set: dispatch order is deterministic.
        self._pending: dict[Loader, None] = {}

    def get(self, loader_class: type[LoaderT]) -> LoaderT:
        """Return this request's instance of ``loader_class``, creating it once."""
        key = loader_class.context_key
        loader = self._loaders.get(key)
        if loader is None:
            loader = loader_class(self.context, registry=self)
            if not settings.DATALOADER_BATCHING:
                # The N+1 baseline the benchmark compares against: every load runs its
                # own query and nothing is cached.
                loader.batch = loader.cache = False
            self._loaders[key] = loader
        elif type(loader) is not loader_class:
            raise TypeError(
                f"context_key {key!r} of {loader_class.__name__} is already used by "
                f"{type(loader).__name__}; give one of them another context_key."
            )
        return loader

    def forget(self) -> None:
        """Drop every loader's cached values (queued keys stay queued): after a write."""
        for loader in self._loaders.values():
            loader.clear_all()

    def mark_pending(self, loader: Loader) -> None:
        """Record that ``loader`` has keys waiting to be dispatched."""
        self._pending[loader] = None

    @property
    def has_pending(self) -> bool:
        """Whether any loader has keys waiting to be dispatched."""
        return any(loader.queued for loader in self._pending)

    def dispatch_pending(self) -> bool:
        """Dispatch every queue that is pending now; return whether any was.

        Settling a batch calls the waiting fields back synchronously, which
        resolves the next level of the query and queues its keys. Those keys go
        to the next call (one batch per level), except when they land on a loader
        that is later in this round: they simply ride along in its batch, which
        only means fewer queries.
        """
        pending = list(self._pending)
        self._pending.clear()
        dispatched = False
        for loader in pending:
            if loader.queued:
                loader.dispatch()
                dispatched = True
        return dispatched


def release(context: Any) -> None:
    """Detach the context's registry and empty its loaders, at the end of a request.

    Loaders and their registry reference each other, and the context references the
    registry: emptied, what they cached goes with reference counting, not a GC pass.
    """
    registry = vars(context).pop(REGISTRY_ATTRIBUTE, None)
    if registry is None:
        return
    registry.forget()
    for loader in registry._loaders.values():
        loader.queued = []
    registry._loaders.clear()
    registry._pending.clear()


def find_registry(context: Any) -> LoaderRegistry | None:
    """Return the registry stored on ``context``, or None if there is none yet."""
    registry = getattr(context, REGISTRY_ATTRIBUTE, None)
    if registry is not None and type(registry) is not LoaderRegistry:
        raise TypeError(
            f"context.{REGISTRY_ATTRIBUTE} is {type(registry).__name__}, expected a LoaderRegistry."
        )
    return registry


def get_registry(context: Any) -> LoaderRegistry:
    """Return the registry stored on ``context``, attaching a new one if needed."""
    registry = find_registry(context)
    if registry is not None:
        return registry
    if context is None:
        raise TypeError(
            "DataLoaders need a per-request context object "
            "(pass context_value to execute); got None."
        )
    registry = LoaderRegistry(context)
    try:
        setattr(context, REGISTRY_ATTRIBUTE, registry)
    except (AttributeError, TypeError) as error:
        raise TypeError(
            f"Cannot attach a LoaderRegistry to context of type {type(context).__name__}."
        ) from error
    return registry


def get_loader(info_or_context: Any, loader_class: type[LoaderT]) -> LoaderT:
    """Return the request's ``loader_class`` instance.

    Accepts the resolver's ``info`` or the context itself::

        def resolve_category(product, info):
            return get_loader(info, ProductCategoryLoader).load(product.category_id)
    """
    if isinstance(info_or_context, GraphQLResolveInfo):
        info_or_context = info_or_context.context
    return get_registry(info_or_context).get(loader_class)
