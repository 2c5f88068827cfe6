"""The GraphQL websocket endpoint at /graphql/: transport, limits, operations, cleanup.

The subprotocol is chosen from those the client offers: `graphql-transport-ws` when offered
(the graphql-ws client, GraphiQL, Apollo's GraphQLWsLink), else the legacy `graphql-ws`
(subscriptions-transport-ws). A client offering neither is accepted and closed with 4406, as
the reference server does. The message rules of each protocol live in
subscriptions/protocols.py; this module owns what they share:

- authentication from `connection_init` or the JWT or session cookie (accounts/auth.py),
  checked again later: the connection closes with 4403 when its token expires, and when the
  hub (before an event) or a query finds its key revoked, its user deactivated or its session
  logged out;
- limits: init timeout (4408), message size (4400), operations per connection;
- queries and mutations run in a worker thread and answer once; subscriptions register with
  the process's hub (subscriptions/hub.py);
- every outgoing message goes through one ordered send queue, drained by a writer task that
  exists only while something is waiting to be written.

Memory per idle connection is kept low (bench/fanout.py): no per-connection receive task
(Channels' `await_many_dispatch` is replaced by a plain receive loop, as no channel-layer
channel is needed), no writer task or queue while idle, and the init timeout is a timer
handle, not a sleeping task.

Overflow policy of the send queue: only subscription events count against
SUBSCRIPTIONS_SEND_QUEUE. When a slow client lets that many events pile up, the OLDEST
waiting event is dropped and the connection is kept; the next event delivered for that
operation carries `extensions.droppedEvents` (how many were dropped for it since the last
delivery), so the client knows to refetch. Protocol messages (acks, pongs, results of
queries, completes, errors) are never dropped. A client whose queue stays full for
SUBSCRIPTIONS_SLOW_CLIENT_SECONDS (it stopped reading) is closed with 4008, before the
server's own keepalive would close it with an anonymous 1011.

Disconnecting removes every subscription from the hub and cancels the connection's tasks.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
import types
from collections import deque
from collections.abc import Coroutine, Generator
from dataclasses import dataclass
from typing import Any

from asgiref.typing import WebSocketDisconnectEvent
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from graphql import OperationType

from accounts import ratelimit
from accounts.auth import (
    SESSION,
    AuthenticationFailed,
    Credential,
    api_key_param,
    authenticate_params,
    current_users,
    has_credentials,
)
from schema import errors, pipeline
from schema.client import Client
from schema.errors import RequestRefused
from subscriptions.hub import Subscription, dumps, get_hub
from subscriptions.protocols import (
    BAD_REQUEST,
    INIT_TIMEOUT,
    INTERNAL_ERROR,
    LEGACY_WS,
    SLOW_CLIENT,
    SUBPROTOCOL_NOT_ACCEPTABLE,
    TRANSPORT_WS,
    TRY_AGAIN_LATER,
    LegacyProtocol,
    Subprotocol,
    TransportProtocol,
)

logger = logging.getLogger("vitrine.subscriptions")

TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"


@dataclass(eq=False, slots=True)
class Operation:
    op_id: str
    task: asyncio.Task[Any] | None = None
    subscription: Subscription | None = None


_STARTING = object()  # GraphQLWebsocketConsumer.writer while its writer first runs


@types.coroutine
def _resume(coroutine: Coroutine[Any, Any, Any], suspended_on: Any
            ) -> Generator[Any, Any, Any]:
    """Go on with a coroutine that run_eagerly() started, inside a task."""
    while True:
        try:
            value = yield suspended_on
        except BaseException as error:  # cancellation, or the awaited future's exception
            try:
                suspended_on = coroutine.throw(error)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                suspended_on = coroutine.send(value)
            except StopIteration as stop:
                return stop.value


def run_eagerly(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
    """Run `coroutine` now until it finishes (None) or first suspends (the task finishing it).

    Python 3.12's eager tasks, for 3.11: no task is created when nothing has to wait.
    """
    try:
        suspended_on = coroutine.send(None)
    except StopIteration:
        return None
    except Exception:
        logger.exception("Websocket write failed")
        return None
    return asyncio.ensure_future(_resume(coroutine, suspended_on))


class GraphQLWebsocketConsumer(AsyncWebsocketConsumer):
    """One websocket connection; protocol details are delegated to `self.protocol`."""

    # No channel-layer groups; also spares Channels' per-instance empty list.
    groups = ()  # type: ignore[assignment]

    # No channel-layer channel per socket: events reach sockets through the process's hub.
    # (An alias that names no layer makes Channels skip it; with the in-memory layer every
    # socket's channel would also be scanned on each receive, quadratic in sockets.)
    channel_layer_alias = "vitrine-no-per-socket-channel"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' AsyncConsumer.__call__ without a channel-layer channel.

        `await_many_dispatch` keeps one extra task (and an `asyncio.wait` future) per socket
        for the single `receive` callable; awaiting it directly costs nothing per socket.
        """
        self.scope = scope
        self.channel_layer = None  # type: ignore[assignment]
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its `aclose_old_connections()` thread hop per message.

        Every database access here goes through `database_sync_to_async`, which closes
        stale connections itself; a ping should not wait for the database thread.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        offered = self.scope.get("subprotocols") or []
        self.client = Client.from_scope(self.scope)
        self.user = AnonymousUser()
        self.credential: Credential | None = None
        self.operations: dict[str, Operation] = {}
        self.outbox: deque[Any] | None = None  # created when something is queued
        self.queued_events = 0
        self.dropped: dict[str, int] = {}
        self.backlogged_since: float | None = None  # since when the send queue is full
        self.closed = False
        self.initialised = False  # connection_init received
        self.acknowledged = False  # connection_ack sent
        self.tasks: set[asyncio.Task[Any]] | None = None  # created by the first spawn()
        # Only while the outbox is being written (_STARTING while the writer first runs).
        self.writer: asyncio.Task[Any] | object | None = None
        self.init_timer: asyncio.TimerHandle | None = None
        self.expiry_timer: asyncio.TimerHandle | None = None
        self.protocol: Subprotocol
        if TRANSPORT_WS in offered:
            self.protocol = TransportProtocol(self)
        elif LEGACY_WS in offered:
            self.protocol = LegacyProtocol(self)
        else:
            # None only on a socket closed at once, whose messages are never read.
            self.protocol = None  # type: ignore[assignment]
            await self.accept()
            await self.close(code=SUBPROTOCOL_NOT_ACCEPTABLE, reason="Subprotocol not acceptable")
            self.closed = True
            return
        await self.accept(subprotocol=self.protocol.name)
        self.init_timer = asyncio.get_running_loop().call_later(
            settings.SUBSCRIPTIONS_INIT_TIMEOUT, self._init_timeout
        )

    # -- Incoming -----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None
                      ) -> None:
        if self.closed or self.protocol is None:
            return
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > settings.SUBSCRIPTIONS_MAX_MESSAGE_BYTES:
            self.close_with(BAD_REQUEST, "Message too large")
            return
        if text_data is None:
            await self.protocol.invalid("Binary messages are not accepted")
            return
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            await self.protocol.invalid("Message is not valid JSON")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.protocol.invalid("Message must be a JSON object with a string `type`")
            return
        try:
            await self.protocol.handle(message)
        except Exception:
            logger.exception("Websocket message handling failed")
            self.close_with(INTERNAL_ERROR, "Internal server error")

    async def websocket_disconnect(self, message: WebSocketDisconnectEvent) -> None:
        """Channels' handler without its `aclose_old_connections()` thread hop (see dispatch).

        No channel-layer groups to leave; when thousands of clients go at once, each would
        otherwise wait its turn for the one database thread.
        """
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def disconnect(self, code: int) -> None:
        self.closed = True
        for timer in ("init_timer", "expiry_timer"):
            if getattr(self, timer, None) is not None:
                getattr(self, timer).cancel()
                setattr(self, timer, None)
        for op_id in list(getattr(self, "operations", {})):
            await self.stop_operation(op_id)
        for task in list(getattr(self, "tasks", None) or ()):
            task.cancel()
        writer = getattr(self, "writer", None)
        if isinstance(writer, asyncio.Task):
            writer.cancel()

    # -- Connection -----------------------------------------------------------------------

    async def initialise(self, payload: Any) -> None:
        """Authenticate `connection_init`; the protocol acknowledges or rejects."""
        self.initialised = True
        if self.init_timer is not None:
            self.init_timer.cancel()
            self.init_timer = None
        params = payload if isinstance(payload, dict) else {}
        cookies = self._cookies()
        # The API key travelled here, not in a header: the same bucket as over HTTP.
        self.client = self.client.with_api_key(api_key_param(params))
        try:
            if has_credentials(params, cookies):
                self.user, self.credential = await database_sync_to_async(
                    self._authenticate
                )(params, cookies)
            # else anonymous, as set by connect(): no SQL, no thread hop
        except (AuthenticationFailed, RequestRefused) as error:
            self.protocol.reject(str(error))
            return
        except Exception as error:  # the database is down, say: a close the client retries
            failure = errors.unexpected(error)
            retry = failure.code == errors.SERVICE_UNAVAILABLE
            self.close_with(TRY_AGAIN_LATER if retry else INTERNAL_ERROR, failure.message)
            return
        if self.closed:
            return
        if self.credential is not None and self.credential.expires_at is not None:
            self.expiry_timer = asyncio.get_running_loop().call_later(
                max(self.credential.expires_at - time.time(), 0), self.revoke
            )
        self.acknowledged = True
        self.protocol.acknowledge()

    def _authenticate(self, params: dict[str, Any], cookies: dict[str, Any]) -> Any:
        with ratelimit.counting_failures(self.client.address):
            return authenticate_params(params, cookies)

    def _cookies(self) -> dict[str, str]:
        for name, value in self.scope.get("headers", ()):
            if name == b"cookie":
                return parse_cookie(value.decode("latin1"))
        return {}

    def revoke(self) -> None:
        """The credential no longer holds (expired, revoked, user deactivated): close 4403.

        Clients reconnect (graphql-ws retries on 4403) with credentials that hold.
        """
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
            self.expiry_timer = None
        self.protocol.reject("The credentials are no longer valid.")

    def _init_timeout(self) -> None:
        self.init_timer = None
        if not self.initialised and not self.closed:
            self.close_with(INIT_TIMEOUT, "Connection initialisation timeout")

    # -- Operations -----------------------------------------------------------------------

    async def start_operation(self, op_id: str, payload: dict[str, Any]) -> None:
        """Prepare and start one operation; the protocol has checked its id and shape."""
        if len(self.operations) >= settings.SUBSCRIPTIONS_MAX_OPERATIONS:
            self.protocol.send_errors(op_id, [{
                "message": "Too many active operations on this connection.",
                "extensions": {"code": TOO_MANY_OPERATIONS},
            }])
            return
        operation = Operation(op_id)
        self.operations[op_id] = operation
        if not await self._credential_holds():
            return
        if self.operations.get(op_id) is not operation:
            return  # stopped meanwhile
        context = pipeline.OperationContext(
            self.user, self.client, self.credential.method if self.credential else SESSION
        )
        # Up to the throttle the pipeline runs no SQL, and a subscription's root fields check
        # their arguments without any: an anonymous subscribe makes no thread hop at all,
        # which matters when thousands subscribe.
        prepared = pipeline.prepare(pipeline.OperationRequest(
            payload.get("query"), payload.get("variables"), payload.get("operationName"),
            context, self.protocol.name, payload.get("extensions"),
        ))
        if isinstance(prepared, pipeline.PreparedOperation) and (
            prepared.operation_type == OperationType.SUBSCRIPTION
        ):
            refused = pipeline.subscribe(prepared)
            if refused is not None:
                prepared = refused
        if isinstance(prepared, pipeline.OperationResult):
            self._forget(op_id, operation)
            self.protocol.send_errors(op_id, prepared.payload()["errors"])
            return
        if self.operations.get(op_id) is not operation:
            return  # stopped meanwhile
        if prepared.operation_type == OperationType.SUBSCRIPTION:
            operation.subscription = Subscription(op_id, prepared, self.user, self,
                                                  self.credential)
            await get_hub().add(operation.subscription)
            if self.operations.get(op_id) is not operation or self.closed:
                await get_hub().remove(operation.subscription)
        else:
            operation.task = self.spawn(self._run_single(operation, prepared))

    async def _run_single(self, operation: Operation,
                          prepared: pipeline.PreparedOperation) -> None:
        result = await database_sync_to_async(pipeline.execute_prepared)(prepared)
        if self.operations.get(operation.op_id) is not operation:
            return  # the client stopped it: late results are not sent
        self._forget(operation.op_id, operation)
        self.protocol.send_result(operation.op_id, dumps(result.payload()))
        self.protocol.send_complete(operation.op_id)

    async def _credential_holds(self) -> bool:
        """Check a signed-in connection's credential again before an operation, as HTTP
        checks every request; refresh `self.user`. If it no longer holds: close 4403."""
        if self.credential is None:
            return True  # anonymous: nothing to check, no SQL
        user = (await database_sync_to_async(current_users)([self.credential]))[self.credential]
        if user is None:
            self.revoke()
            return False
        self.user = user
        return True

    async def stop_operation(self, op_id: str) -> bool:
        """Stop `op_id` if active (client `complete`/`stop`, disconnect); whether it was."""
        operation = self.operations.pop(op_id, None)
        if operation is None:
            return False
        if operation.subscription is not None:
            await get_hub().remove(operation.subscription)
        # A running query's thread cannot be interrupted; its result is discarded.
        self.dropped.pop(op_id, None)
        self._purge_events(op_id)
        return True

    def _forget(self, op_id: str, operation: Operation) -> None:
        if self.operations.get(op_id) is operation:
            del self.operations[op_id]

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        if self.tasks is None:
            self.tasks = set()
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- Outgoing -------------------------------------------------------------------------

    def deliver_event(self, op_id: str, payload_json: str, payload: dict[str, Any],
                      eager: bool = False) -> None:
        """Queue one subscription event (called by the hub; never blocks).

        `eager`: write it right away if the socket can take it (the hub's fan-out; see
        _wake_writer); otherwise a writer task is scheduled.
        """
        if self.closed or op_id not in self.operations:
            return
        if self.queued_events >= settings.SUBSCRIPTIONS_SEND_QUEUE:
            if self._too_slow():
                return
            self._drop_oldest_event()
        self._outbox().append(("event", op_id, payload_json, payload))
        self.queued_events += 1
        self._wake_writer(eager)

    def _too_slow(self) -> bool:
        """Whether the client has let its queue stay full for SUBSCRIPTIONS_SLOW_CLIENT_SECONDS;
        if so, close it now with 4008 (it reconnects and refetches) rather than let the
        server's keepalive drop it anonymously (1011) with its events."""
        now = time.monotonic()
        if self.backlogged_since is None:
            self.backlogged_since = now
            return False
        if now - self.backlogged_since < settings.SUBSCRIPTIONS_SLOW_CLIENT_SECONDS:
            return False
        logger.warning("Closing a websocket that stopped reading (%d events waiting)",
                       self.queued_events)
        self.closed = True
        self.outbox = None
        if isinstance(self.writer, asyncio.Task):
            self.writer.cancel()  # stuck on a write the client will not read
        self.writer = None
        self.spawn(self._drop_slow_client())
        return True

    async def _drop_slow_client(self) -> None:
        """Leave the hub at once (the close itself may wait on the stuck socket), then close."""
        for op_id in list(self.operations):
            await self.stop_operation(op_id)
        await self.close(code=SLOW_CLIENT, reason="Client too slow")

    def _drop_oldest_event(self) -> None:
        outbox = self.outbox or deque()
        for index, item in enumerate(outbox):
            if item[0] == "event":
                del outbox[index]
                self.queued_events -= 1
                self.dropped[item[1]] = self.dropped.get(item[1], 0) + 1
                return

    def _outbox(self) -> deque[Any]:
        if self.outbox is None:
            self.outbox = deque()
        return self.outbox

    def _purge_events(self, op_id: str) -> None:
        if not self.outbox:
            return
        kept = deque(item for item in self.outbox if not (item[0] == "event" and item[1] == op_id))
        self.queued_events -= len(self.outbox) - len(kept)
        self.outbox = kept

    def send_message(self, message: dict[str, Any] | str) -> None:
        """Queue a protocol message (never dropped), in order with everything else."""
        if self.closed:
            return
        self._outbox().append(("message", None, message if isinstance(message, str)
                            else dumps(message), None))
        self._wake_writer()

    def close_with(self, code: int, reason: str = "") -> None:
        """Close after the messages already queued are written."""
        if self.closed:
            return
        self._outbox().append(("close", None, code, reason))
        self.closed = True
        self._wake_writer()

    def _wake_writer(self, eager: bool = False) -> None:
        """Start writing the outbox unless a writer is already at it.

        Eagerly (the hub's fan-out), the writer runs in the caller's stack: a write to a
        socket that is not back-pressured completes without suspending, so a fan-out to
        thousands of idle subscribers creates no task at all; only a writer that has to wait
        (the transport's buffer is full) goes on in a task of its own. Otherwise the writer
        is a task, and what is queued before it runs is written in one go.
        """
        if self.writer is not None:
            return
        if not eager:
            self.writer = asyncio.create_task(self._write())
            return
        self.writer = _STARTING
        task = run_eagerly(self._write())
        if self.writer is _STARTING:  # suspended: the task finishes the outbox
            self.writer = task

    async def _write(self) -> None:
        """Write the outbox in order, then end (the next queued message starts a new one)."""
        try:
            while self.outbox:
                kind, op_id, data, extra = self.outbox.popleft()
                if kind == "close":
                    await self.close(code=data, reason=extra)
                    self.outbox = None
                    return
                if kind == "event":
                    self.queued_events -= 1
                    self.backlogged_since = None  # it reads again
                    if op_id not in self.operations:
                        continue
                    dropped = self.dropped.pop(op_id, 0)
                    if dropped:
                        extra = {**extra, "extensions": {
                            **(extra.get("extensions") or {}), "droppedEvents": dropped,
                        }}
                        data = dumps(extra)
                    data = self.protocol.event_message(op_id, data)
                await self.send(text_data=data)
        except OSError:  # uvicorn's ClientDisconnected: the disconnect handler cleans up
            self.outbox = None
        finally:
            self.writer = None
            if not self.outbox:
                self.outbox = None  # an idle connection keeps no queue
