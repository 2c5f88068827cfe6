"""The process's end of the "products" group: one channel, fanned out to local subscribers.

Each server process (more exactly, each event loop) has one `Hub`. It joins the channel-layer
group with a single channel of its own, so `group_send` costs one message per process, not
one per websocket (with channels-redis that is one Redis list per process, and the layer's
per-channel capacity of 100 is not shared by thousands of sockets).

Local subscriptions are grouped by (operation document, operationName, variables, viewer
class). For each event the schema runs once per group, in one worker-thread call, and the
serialized payload is queued to every member; a group whose resolution fails gets its own
error payload and the others are unaffected. Events are handled one at a time, in order.

Before each event, the viewers of signed-in subscriptions are checked again
(accounts.auth.current_users: one query for all their users, one for their API keys, one per
session): a subscription whose credential no longer holds (token expired, key revoked, user
deactivated, session logged out) has its connection closed with 4403 and gets nothing; one
whose user changed (say, lost staff status) moves to the group of its new viewer class
before the event runs.

Events come from the channel layer and, with Redis, also from the outbox
(subscriptions/outbox.py): every SUBSCRIPTIONS_CATCH_UP_INTERVAL the hub joins its group again
(a restarted Redis has forgotten it) and reads the events published since its last look, so
one the layer lost still arrives, once (events are deduplicated by id). A delivery carries
`extensions.eventId`, and `extensions.missedEvents` when this process had to drop events
from a full backlog since its last delivery (clients refetch).

The fan-out writes to each member's socket directly when it can take the message without
waiting (no task per subscriber), yielding to the event loop every DELIVERIES_PER_YIELD.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.utils import timezone

from accounts.auth import SESSION, Credential, current_users
from accounts.viewer import is_signed_in, is_staff
from schema import encoding
from schema.pipeline import OperationContext, PreparedOperation, execute_event
from subscriptions import outbox

logger = logging.getLogger("vitrine.subscriptions")

# How far back a catch-up reads before its last look: commits in flight, clock skew.
CATCH_UP_MARGIN = timedelta(seconds=10)
SEEN_EVENTS = 10_000
# Events received but not yet executed, per process.
BACKLOG = 10_000
# Deliveries between two yields to the event loop during a fan-out: a subscriber's write
# usually completes without suspending (see GraphQLWebsocketConsumer._wake_writer), so a
# fan-out to thousands of sockets would otherwise hold the loop for its whole duration.
DELIVERIES_PER_YIELD = 500


def dumps(value: Any) -> str:
    return encoding.dumps_text(value)


def viewer_class(user: Any, prepared: PreparedOperation) -> str:
    """Who an event's result may be shared with: "anonymous", "staff" or "user:<id>".

    Non-staff users each have their own class, since drafts are visible to their creator
    only; staff share one class unless the operation selects a field declared per-viewer
    (schema/per_viewer.py).
    """
    if not is_signed_in(user):
        return "anonymous"
    if is_staff(user) and not prepared.per_viewer:
        return "staff"
    return f"user:{user.pk}"


class Connection(Protocol):
    """The websocket a subscription belongs to (GraphQLWebsocketConsumer)."""

    def deliver_event(self, op_id: str, payload_json: str, payload: dict[str, Any],
                      eager: bool = False) -> None:
        """Queue a result (eager: and write it now if the socket can take it without
        waiting); must not block."""

    def revoke(self) -> None:
        """The connection's credential no longer holds: close it (4403)."""


@dataclass(eq=False, slots=True)
class Subscription:
    """One active subscription operation of one websocket connection."""

    op_id: str
    prepared: PreparedOperation
    user: Any
    connection: Connection
    credential: Credential | None = None
    """What `user` was authenticated with; None for anonymous subscribers."""
    key: tuple[Any, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.key = self.group_key()

    def group_key(self) -> tuple[Any, ...]:
        request = self.prepared.request
        return (
            self.prepared.query,
            request.operation_name,
            dumps(request.variables or {}),
            viewer_class(self.user, self.prepared),
        )


@dataclass(eq=False)
class Group:
    """Subscriptions that share one execution per event."""

    key: tuple[Any, ...]
    prepared: PreparedOperation
    user: Any
    members: dict[Subscription, None] = field(default_factory=dict)


def run_groups(groups: list[Group], event: dict[str, Any]) -> list[dict[str, Any] | None]:
    """Execute every group for `event` (sync, one thread call). None: nothing to send.

    Each group is isolated: a failure becomes that group's error payload (the pipeline's).
    """
    payloads = []
    for group in groups:
        member = next(iter(group.members))
        method = member.credential.method if member.credential else SESSION
        context = OperationContext(group.user, member.prepared.request.context.client, method)
        result = execute_event(group.prepared, context, event)
        payloads.append(None if result is None else result.payload())
    return payloads


class Hub:
    def __init__(self) -> None:
        self.groups: dict[tuple[Any, ...], Group] = {}
        self.channel: str | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.backlog: asyncio.Queue[Any] = asyncio.Queue()
        self.lock = asyncio.Lock()
        self.layer: Any = None  # the channel layer, once started
        self.unreachable = False
        self.since = self.joined_at = timezone.now()
        # Ids of the events accepted lately, oldest first: a repeat (caught up from the
        # outbox after the layer brought it after all) is dropped.
        self.seen: dict[Any, None] = {}
        self.missed = 0  # events dropped from a full backlog since the last delivery
        # Signed-in subscriptions by credential, to check them again before each event.
        self.viewers: dict[Credential, dict[Subscription, None]] = {}

    @property
    def size(self) -> int:
        """How many subscriptions this process holds."""
        return sum(len(group.members) for group in self.groups.values())

    async def add(self, subscription: Subscription) -> None:
        """Register `subscription`; once this returns, every later event reaches it."""
        async with self.lock:
            self._join_group(subscription)
            if subscription.credential is not None:
                self.viewers.setdefault(subscription.credential, {})[subscription] = None
            if not self.tasks:
                await self._start()

    async def remove(self, subscription: Subscription) -> None:
        async with self.lock:
            self._leave_group(subscription)
            self._forget_viewer(subscription)
            # Also after refresh_viewers revoked the last subscriptions: it runs in the
            # worker task, which must not cancel itself; the revoked sockets' disconnects
            # come here.
            if not self.groups and self.tasks:
                await self._stop()

    def _join_group(self, subscription: Subscription) -> None:
        group = self.groups.get(subscription.key)
        if group is None:
            group = self.groups[subscription.key] = Group(
                subscription.key, subscription.prepared, subscription.user
            )
        else:
            # Share the group's operation and key: thousands of identical subscriptions
            # then hold no copy of their own (memory per idle connection).
            subscription.prepared = group.prepared
            subscription.key = group.key
        group.members[subscription] = None

    def _leave_group(self, subscription: Subscription) -> None:
        group = self.groups.get(subscription.key)
        if group is None or subscription not in group.members:
            return
        del group.members[subscription]
        if not group.members:
            del self.groups[subscription.key]

    def _forget_viewer(self, subscription: Subscription) -> None:
        if subscription.credential is None:
            return
        same_viewer = self.viewers.get(subscription.credential)
        if same_viewer is not None:
            same_viewer.pop(subscription, None)
            if not same_viewer:
                del self.viewers[subscription.credential]

    async def refresh_viewers(self) -> None:
        """Check every signed-in subscription's credential again; regroup or revoke.

        Runs before each event, so an event is resolved for each viewer as they are now.
        """
        if not self.viewers:
            return
        known = {credential: next(iter(same_viewer)).user
                 for credential, same_viewer in self.viewers.items()}
        users = await database_sync_to_async(current_users)(list(known), known)
        async with self.lock:
            for credential, user in users.items():
                if user is known[credential]:
                    continue  # unchanged, and so are its subscriptions' groups
                # Subscriptions that came or went during the query are as current: each
                # subscribe checks its credential itself (GraphQLWebsocketConsumer).
                for subscription in list(self.viewers.get(credential, ())):
                    if user is None:
                        self._leave_group(subscription)
                        self._forget_viewer(subscription)
                        subscription.connection.revoke()
                        continue
                    subscription.user = user
                    if viewer_class(user, subscription.prepared) != subscription.key[-1]:
                        self._leave_group(subscription)
                        subscription.key = subscription.group_key()
                        self._join_group(subscription)
            for group in self.groups.values():  # each runs as a current member's user
                group.user = next(iter(group.members)).user

    async def _start(self) -> None:
        self.layer = get_channel_layer()
        self.channel = await self.layer.new_channel()
        self.backlog = asyncio.Queue(maxsize=BACKLOG)
        self.since = self.joined_at = timezone.now()
        try:
            await self.layer.group_add(settings.SUBSCRIPTIONS_GROUP, self.channel)
        except Exception:  # Redis down: the membership keeper joins once it is back
            self._outage()
        # The hub outlives the request that started it: its tasks must not inherit that
        # request's context (asgiref's thread executors are per request, for one).
        self.tasks = [
            asyncio.create_task(coroutine, name=name, context=contextvars.Context())
            for name, coroutine in (
                ("vitrine-subscriptions-receive", self._receive()),
                ("vitrine-subscriptions-process", self._process()),
                *((("vitrine-subscriptions-membership", self._keep_membership()),)
                  if not isinstance(self.layer, InMemoryChannelLayer) else ()),
            )
        ]

    async def _stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        if self.channel is not None:
            try:
                await self.layer.group_discard(settings.SUBSCRIPTIONS_GROUP, self.channel)
            except Exception:
                logger.warning("Could not leave the subscriptions group", exc_info=True)
            self.channel = None

    def _outage(self) -> None:
        if not self.unreachable:
            self.unreachable = True
            logger.warning("The channel layer is unreachable; live events resume (and the "
                           "missed ones are caught up from the outbox) once it is back.",
                           exc_info=True)

    async def _receive(self) -> None:
        """Move events from the layer to the local backlog at once.

        The layer's channels hold only `capacity` messages (100 by default, in memory and in
        Redis) and drop the rest silently; draining them while events are being executed
        keeps a burst of writes from being lost (and the outbox catch-up finds any that
        were). An unreachable layer is retried every second.
        """
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._outage()
                await asyncio.sleep(1)
                continue
            self._accept(message)

    async def _keep_membership(self) -> None:
        """With Redis: every SUBSCRIPTIONS_CATCH_UP_INTERVAL, join the group again (a Redis
        restart forgets its members; channels-redis also expires them after a day) and read
        the outbox for events published since the last look that did not arrive."""
        while True:
            await asyncio.sleep(settings.SUBSCRIPTIONS_CATCH_UP_INTERVAL)
            try:
                await self.layer.group_add(settings.SUBSCRIPTIONS_GROUP, self.channel)
            except Exception:
                self._outage()
                continue
            if self.unreachable:
                self.unreachable = False
                logger.warning("The channel layer is reachable again; catching up.")
            try:
                await self.catch_up()
            except Exception:
                logger.warning("Catching up from the outbox failed; retrying.", exc_info=True)

    async def catch_up(self) -> None:
        """Accept the events published since the last look (with a margin for clocks and
        commits in flight); the ones already seen are skipped."""
        looked_at = timezone.now()
        # Never before the hub joined: nobody here subscribed to what came earlier.
        since = max(self.since - CATCH_UP_MARGIN, self.joined_at)
        missed = await database_sync_to_async(outbox.published_since)(since)
        self.since = looked_at
        for event in missed:
            self._accept(outbox.message(event))

    def _accept(self, message: dict[str, Any]) -> None:
        if message.get("type") != outbox.MESSAGE_TYPE:
            return
        event_id = message.get("event_id")
        if event_id in self.seen:
            return
        self.seen[event_id] = None
        if len(self.seen) > SEEN_EVENTS:
            del self.seen[next(iter(self.seen))]
        if self.backlog.full():
            self.backlog.get_nowait()
            self.missed += 1
            logger.warning("Subscription event backlog full: dropped the oldest event")
        self.backlog.put_nowait(message)

    async def _process(self) -> None:
        while True:
            message = await self.backlog.get()
            try:
                await self.handle(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Handling a product event failed")

    async def handle(self, event: dict[str, Any]) -> None:
        """Execute each group once for `event` and queue the results to its members."""
        await self.refresh_viewers()
        groups = list(self.groups.values())
        if not groups:
            return
        root = {key: event.get(key)
                for key in ("event", "id", "snapshot", "was_published", "created_by_id")}
        payloads = await database_sync_to_async(run_groups)(groups, root)
        stamp = settings.SUBSCRIPTIONS_COMMIT_TIMESTAMPS
        missed, self.missed = self.missed, 0
        delivered = 0
        for group, payload in zip(groups, payloads, strict=True):
            if payload is None:
                continue
            extensions = payload.setdefault("extensions", {})
            extensions["eventId"] = event["event_id"]
            if missed:  # this process dropped events from a full backlog: refetch
                extensions["missedEvents"] = missed
            if stamp and "committed_at" in event:
                extensions["committedAt"] = event["committed_at"]
            encoded = dumps(payload)
            for subscription in list(group.members):
                try:
                    subscription.connection.deliver_event(
                        subscription.op_id, encoded, payload, eager=True
                    )
                except Exception:
                    logger.exception("Delivering an event to a subscriber failed")
                delivered += 1
                if delivered % DELIVERIES_PER_YIELD == 0:
                    await asyncio.sleep(0)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
