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

The fan-out writes to each member's socket directly when it can take the message without
waiting (no task per subscriber), yielding to the event loop every DELIVERIES_PER_YIELD.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from accounts.auth import SESSION, Credential, current_users
from products.querysets import is_staff
from schema import encoding
from schema.pipeline import OperationContext, PreparedOperation, execute_event
from subscriptions.conf import setting
from subscriptions.events import MESSAGE_TYPE

logger = logging.getLogger("vitrine.subscriptions")

# channels-redis forgets group members after `group_expiry` (1 day): re-join well before.
REJOIN_INTERVAL = 3600.0
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
    if user is None or not user.is_authenticated:
        return "anonymous"
    if is_staff(user) and not prepared.per_viewer:
        return "staff"
    return f"user:{user.pk}"


class Connection(Protocol):
    """The websocket a subscription belongs to (GraphQLWebsocketConsumer)."""

    def deliver_event(self, op_id: str, payload_json: str, payload: dict,
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
    key: tuple = field(init=False)

    def __post_init__(self) -> None:
        self.key = self.group_key()

    def group_key(self) -> tuple:
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

    key: tuple
    prepared: PreparedOperation
    user: Any
    members: dict[Subscription, None] = field(default_factory=dict)


def run_groups(groups: list[Group], event: dict) -> list[dict | None]:
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
        self.groups: dict[tuple, Group] = {}
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self.worker: asyncio.Task | None = None
        self.backlog: asyncio.Queue = asyncio.Queue()
        self.lock = asyncio.Lock()
        self.layer = None
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
            if self.task is None:
                await self._start()

    async def remove(self, subscription: Subscription) -> None:
        async with self.lock:
            self._leave_group(subscription)
            self._forget_viewer(subscription)
            # Also after refresh_viewers revoked the last subscriptions: it runs in the
            # worker task, which must not cancel itself; the revoked sockets' disconnects
            # come here.
            if not self.groups and self.task is not None:
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
        await self.layer.group_add(setting("SUBSCRIPTIONS_GROUP"), self.channel)
        self.backlog = asyncio.Queue(maxsize=BACKLOG)
        # The hub outlives the request that started it: its tasks must not inherit that
        # request's context (asgiref's thread executors are per request, for one).
        self.task = asyncio.create_task(self._receive(), name="vitrine-subscriptions-receive",
                                        context=contextvars.Context())
        self.worker = asyncio.create_task(self._process(), name="vitrine-subscriptions-process",
                                          context=contextvars.Context())

    async def _stop(self) -> None:
        for task in (self.task, self.worker):
            if task is not None:
                task.cancel()
        self.task = self.worker = None
        if self.channel is not None:
            try:
                await self.layer.group_discard(setting("SUBSCRIPTIONS_GROUP"), self.channel)
            except Exception:
                logger.warning("Could not leave the subscriptions group", exc_info=True)
            self.channel = None

    async def _receive(self) -> None:
        """Move events from the layer to the local backlog at once.

        The layer's channels hold only `capacity` messages (100 by default, in memory and in
        Redis) and drop the rest silently; draining them while events are being executed
        keeps a burst of writes from being lost. Past BACKLOG the oldest event is dropped,
        with a warning.
        """
        group_name = setting("SUBSCRIPTIONS_GROUP")
        loop = asyncio.get_running_loop()
        rejoin_at = loop.time() + REJOIN_INTERVAL
        while True:
            try:
                message = await asyncio.wait_for(
                    self.layer.receive(self.channel), timeout=REJOIN_INTERVAL
                )
            except TimeoutError:
                message = None
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Receiving from the channel layer failed; retrying")
                await asyncio.sleep(1)
                continue
            if loop.time() >= rejoin_at:
                rejoin_at = loop.time() + REJOIN_INTERVAL
                await self.layer.group_add(group_name, self.channel)
            if message is None or message.get("type") != MESSAGE_TYPE:
                continue
            if self.backlog.full():
                self.backlog.get_nowait()
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

    async def handle(self, event: dict) -> None:
        """Execute each group once for `event` and queue the results to its members."""
        await self.refresh_viewers()
        groups = list(self.groups.values())
        if not groups:
            return
        root = {key: event.get(key) for key in ("event", "id", "snapshot")}
        payloads = await database_sync_to_async(run_groups)(groups, root)
        stamp = setting("SUBSCRIPTIONS_COMMIT_TIMESTAMPS")
        delivered = 0
        for group, payload in zip(groups, payloads, strict=True):
            if payload is None:
                continue
            if stamp and "committed_at" in event:
                payload.setdefault("extensions", {})["committedAt"] = event["committed_at"]
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
