"""A server-side cache of public responses, invalidated by the writes that feed the live feed.

Only a query that an anonymous viewer may share with every other anonymous viewer is stored:
its policy (schema/cache_control.py) is PUBLIC and cacheable, and it was answered without an
error. An entry is keyed by the document's hash, the operation, the variables, the viewer
class and the request's origin (image URLs are absolute on it), and holds the data as JSON,
the actual cost, the policy, and tags: `Type:pk` of every object the response contains and
`list:Type` of every list it selects.

Invalidation is by tag. Each invalidation takes the next number of a global epoch and writes
it on its tags; an entry records the epoch read *before* its execution, and is valid while
none of its tags carries a later number. A write that commits while a response is being
computed therefore always invalidates it, and the next request after a commit sees it:
- product and review writes are invalidated by their live event (subscriptions/outbox.py,
  after commit, before publication; retried with the event when Redis is down);
- categories, images and users (no live event of their own) by their model signals, after
  commit.

Storage: Django's cache GRAPHQL_RESPONSE_CACHE_ALIAS ("responses": local memory bounded to
GRAPHQL_RESPONSE_CACHE_ENTRIES entries, or Redis with REDIS_URL, shared by every process).
With Redis the epoch and tag numbers live there too, so an invalidation reaches every process
at once; with local memory (one process) they live in a dict, which no cache culling can
drop (a forgotten tag would make a stale entry look valid).
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from graphql import GraphQLObjectType, GraphQLResolveInfo
from graphql.pyutils import Path

from schema import encoding
from schema.cache_control import CachePolicy
from schema.execution import PromiseExecutionContext
from schema.plan import FieldPlan, Shape

EPOCH_KEY = "vitrine:rc:epoch"
TAG_PREFIX = "vitrine:rc:tag:"
ENTRY_PREFIX = "vitrine:rc:entry:"
# A live event about a product may change it, every list it is in, and its reviews' and
# images' lists (a review's write is announced as its product's update).
PRODUCT_EVENT_LISTS = ("list:Product", "list:Review", "list:ProductImage")


@dataclass(frozen=True)
class Entry:
    data_json: bytes
    actual_cost: int
    policy: CachePolicy
    epoch: int
    tags: tuple[str, ...]


def enabled() -> bool:
    return settings.GRAPHQL_RESPONSE_CACHE


def _cache() -> Any:
    return caches[settings.GRAPHQL_RESPONSE_CACHE_ALIAS]


def key_for(document_hash: str, operation_name: str | None, variables: dict[str, Any] | None,
            viewer_class: str, origin: str = "") -> str:
    material = encoding.dumps([document_hash, operation_name, variables or {}, viewer_class,
                               origin])
    return ENTRY_PREFIX + hashlib.sha256(material).hexdigest()


# -- Tag numbers ----------------------------------------------------------------------------


class _LocalTags:
    """Epoch and tag numbers of a single process (the local-memory cache)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.epoch = 0
        self.tags: dict[str, int] = {}

    def current_epoch(self) -> int:
        return self.epoch

    def bump(self, tags: list[str]) -> None:
        with self.lock:
            self.epoch += 1
            for tag in tags:
                self.tags[tag] = self.epoch

    def latest(self, tags: tuple[str, ...]) -> int:
        get = self.tags.get
        return max((get(tag, 0) for tag in tags), default=0)


class _SharedTags:
    """Epoch and tag numbers in the shared cache (Redis), for every process at once."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def current_epoch(self) -> int:
        return int(self.cache.get(EPOCH_KEY) or 0)

    def bump(self, tags: list[str]) -> None:
        self.cache.add(EPOCH_KEY, 0, timeout=None)
        epoch = self.cache.incr(EPOCH_KEY)
        self.cache.set_many({TAG_PREFIX + tag: epoch for tag in tags}, timeout=None)

    def latest(self, tags: tuple[str, ...]) -> int:
        found = self.cache.get_many([TAG_PREFIX + tag for tag in tags])
        return max((int(value) for value in found.values()), default=0)


_local_tags = _LocalTags()


def _tags() -> _LocalTags | _SharedTags:
    cache = _cache()
    return _local_tags if isinstance(cache, LocMemCache) else _SharedTags(cache)


# -- Reading and writing ---------------------------------------------------------------------


def lookup(key: str) -> Entry | None:
    """The entry for `key` if it is there and no tag of it was invalidated since."""
    entry: Entry | None = _cache().get(key)
    if entry is None or _tags().latest(entry.tags) > entry.epoch:
        return None
    return entry


def epoch() -> int:
    """The epoch to record with an entry about to be computed (read before executing)."""
    return _tags().current_epoch()


def store(key: str, entry: Entry) -> None:
    _cache().set(key, entry, timeout=entry.policy.max_age)


def invalidate(tags: list[str]) -> None:
    if tags:
        _tags().bump(tags)


def invalidate_product(product_id: int) -> None:
    """What a live event about a product invalidates (called by the outbox before it
    publishes the event)."""
    invalidate([f"Product:{product_id}", *PRODUCT_EVENT_LISTS])


def invalidate_on_commit(sender: Any, instance: Any, raw: bool = False, using: Any = None,
                         **kwargs: Any) -> None:
    """Model signal handler for writes without a live event of their own."""
    if raw:
        return
    type_name = _type_names().get(sender._meta.label)
    if type_name is None:
        return
    tags = [f"{type_name}:{instance.pk}", f"list:{type_name}"]
    product_id = getattr(instance, "product_id", None)
    if product_id is not None:
        tags.append(f"Product:{product_id}")
    transaction.on_commit(lambda: invalidate(tags), using=using)


def _type_names() -> dict[str, str]:
    """Models whose writes reach the cache through their own signals: their GraphQL types."""
    return {"products.Category": "Category", "products.ProductImage": "ProductImage",
            settings.AUTH_USER_MODEL: "User"}


def connect_signals() -> None:
    from django.apps import apps
    from django.db.models.signals import post_delete, post_save

    for label in _type_names():
        model = apps.get_model(label)
        post_save.connect(invalidate_on_commit, sender=model,
                          dispatch_uid=f"response_cache.saved.{label}")
        post_delete.connect(invalidate_on_commit, sender=model,
                            dispatch_uid=f"response_cache.deleted.{label}")


# -- Tagging execution ---------------------------------------------------------------------


class TaggingExecutionContext(PromiseExecutionContext):
    """The executor, noting `Type:pk` of every object it completes into `context.cache_tags`.

    Used only for responses that may be stored: other executions pay nothing for it.
    """

    def complete_object(
        self, shape: Shape, object_type: GraphQLObjectType, field: FieldPlan, path: Path,
        result: Any, info: GraphQLResolveInfo | None,
    ) -> Any:
        pk = getattr(result, "pk", None)
        if pk is not None:
            self.context_value.cache_tags.add(f"{object_type.name}:{pk}")
        return super().complete_object(shape, object_type, field, path, result, info)
