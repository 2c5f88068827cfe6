"""The two websocket subprotocols' message rules, on top of GraphQLWebsocketConsumer.

`TransportProtocol` — graphql-transport-ws (the graphql-ws npm package's PROTOCOL.md):
  connection_init → connection_ack (4403 when its credentials are refused, or stop holding
  later, 4429 for a second
  one, 4408 when none arrives within the init timeout); ping → pong at any time, pong is
  ignored; subscribe before the ack → 4401, with an id already active → 4409; results go out
  as `next`, then `complete`; a request error (parse, validation, variables) is one `error`
  with no `complete`; the client's `complete` stops an operation; anything malformed or of
  an unknown type → 4400.

`LegacyProtocol` — graphql-ws of subscriptions-transport-ws (that package's PROTOCOL.md):
  connection_init → connection_ack then `ka` every SUBSCRIPTIONS_KEEPALIVE seconds; refused
  credentials (or ones that stop holding) → connection_error, then close 4403 (the
  reference server's 1011 is refused by Daphne); start → data… (and complete for queries
  and mutations); a duplicate id replaces the running operation; request errors → `error`
  {id, payload: [errors]}; stop → complete; connection_terminate → close 1000. A start
  before connection_ack gets an `error` (this server always expects connection_init, which
  the reference client always sends first). Unparseable messages → connection_error,
  unknown types → error, as the reference server.
"""
from __future__ import annotations

import asyncio
from collections.abc import Collection, Coroutine
from typing import Any, Protocol, TypeGuard

from django.conf import settings

from subscriptions.hub import dumps

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

# Close codes (graphql-transport-ws; the legacy protocol reuses the ones that apply).
BAD_REQUEST = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
INIT_TIMEOUT = 4408
DUPLICATE_SUBSCRIBER = 4409
TOO_MANY_INIT = 4429
INTERNAL_ERROR = 4500
# Ours: the client stopped reading; its send queue stayed full (SUBSCRIPTIONS_SLOW_CLIENT_SECONDS).
SLOW_CLIENT = 4008
# WebSocket's "Try Again Later": the database is down while connection_init authenticates;
# graphql-ws reconnects on it (it gives up on 4500).
TRY_AGAIN_LATER = 1013


class Connection(Protocol):
    """What a subprotocol needs of its websocket (subscriptions/consumer.py's consumer)."""

    @property
    def closed(self) -> bool: ...
    @property
    def initialised(self) -> bool: ...
    @property
    def acknowledged(self) -> bool: ...
    @property
    def operations(self) -> Collection[str]: ...

    def send_message(self, message: dict[str, Any] | str) -> None: ...
    def close_with(self, code: int, reason: str = "") -> None: ...
    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]: ...
    async def initialise(self, payload: Any) -> None: ...
    async def start_operation(self, op_id: str, payload: dict[str, Any]) -> None: ...
    async def stop_operation(self, op_id: str) -> bool: ...


def _optional(payload: dict[str, Any], name: str, kind: type) -> bool:
    value = payload.get(name)
    return value is None or isinstance(value, kind)


def valid_operation_payload(payload: Any) -> TypeGuard[dict[str, Any]]:
    """A document, or none with a persisted query's hash in `extensions` (APQ)."""
    if not isinstance(payload, dict):
        return False
    persisted = isinstance(payload.get("extensions"), dict) and bool(
        payload["extensions"].get("persistedQuery"))
    return (
        (isinstance(payload.get("query"), str) or (persisted and payload.get("query") is None))
        and _optional(payload, "variables", dict)
        and _optional(payload, "operationName", str)
        and _optional(payload, "extensions", dict)
    )


class Subprotocol:
    """What both subprotocols share: the messages carrying an operation's results.

    Subclasses name themselves and the message type of a result (`next` / `data`).
    """

    name: str
    result_type: str

    def __init__(self, consumer: Connection) -> None:
        self.consumer = consumer

    async def handle(self, message: dict[str, Any]) -> None:
        """Act on one client message (a JSON object with a string `type`)."""
        raise NotImplementedError

    async def invalid(self, reason: str) -> None:
        """Answer a message this protocol cannot take."""
        raise NotImplementedError

    def acknowledge(self) -> None:
        """`connection_init` was accepted."""
        raise NotImplementedError

    def reject(self, reason: str) -> None:
        """The credentials of `connection_init` were refused, or stopped holding."""
        raise NotImplementedError

    def send_errors(self, op_id: str, errors: list[dict[str, Any]]) -> None:
        self.consumer.send_message({"id": op_id, "type": "error", "payload": errors})

    def send_result(self, op_id: str, payload_json: str) -> None:
        self.consumer.send_message(self.event_message(op_id, payload_json))

    def send_complete(self, op_id: str) -> None:
        self.consumer.send_message({"id": op_id, "type": "complete"})

    def event_message(self, op_id: str, payload_json: str) -> str:
        # The payload arrives serialized once for every subscriber of its group.
        return '{"id":%s,"type":"%s","payload":%s}' % (dumps(op_id), self.result_type, payload_json)


class TransportProtocol(Subprotocol):
    name = TRANSPORT_WS
    result_type = "next"

    async def invalid(self, reason: str) -> None:
        self.consumer.close_with(BAD_REQUEST, reason)

    async def handle(self, message: dict[str, Any]) -> None:
        consumer = self.consumer
        kind = message["type"]
        if kind == "connection_init":
            payload = message.get("payload")
            if payload is not None and not isinstance(payload, dict):
                return await self.invalid("Invalid connection_init payload")
            if consumer.initialised:
                consumer.close_with(TOO_MANY_INIT, "Too many initialisation requests")
                return
            await consumer.initialise(payload)
        elif kind == "ping":
            payload = message.get("payload")
            if payload is not None and not isinstance(payload, dict):
                return await self.invalid("Invalid ping payload")
            consumer.send_message({"type": "pong"} if payload is None
                                  else {"type": "pong", "payload": payload})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            op_id = message.get("id")
            payload = message.get("payload")
            if not isinstance(op_id, str) or not op_id or not valid_operation_payload(payload):
                return await self.invalid("Invalid subscribe message")
            if not consumer.acknowledged:
                consumer.close_with(UNAUTHORIZED, "Unauthorized")
                return
            if op_id in consumer.operations:
                consumer.close_with(DUPLICATE_SUBSCRIBER, f"Subscriber for {op_id} already exists")
                return
            await consumer.start_operation(op_id, payload)
        elif kind == "complete":
            op_id = message.get("id")
            if not isinstance(op_id, str) or not op_id:
                return await self.invalid("Invalid complete message")
            await consumer.stop_operation(op_id)
        else:
            await self.invalid(f"Unexpected message of type {kind!r}")

    def acknowledge(self) -> None:
        self.consumer.send_message({"type": "connection_ack"})

    def reject(self, reason: str) -> None:
        self.consumer.close_with(FORBIDDEN, "Forbidden")



class LegacyProtocol(Subprotocol):
    name = LEGACY_WS
    result_type = "data"

    async def invalid(self, reason: str) -> None:
        self.consumer.send_message({"type": "connection_error", "payload": {"message": reason}})

    async def handle(self, message: dict[str, Any]) -> None:
        consumer = self.consumer
        kind = message["type"]
        op_id = message.get("id")
        if kind == "connection_init":
            if consumer.initialised:
                return  # already initialised: ignored
            await consumer.initialise(message.get("payload"))
        elif kind == "start":
            if not isinstance(op_id, str) or not op_id:
                return self._error(op_id, "A start message needs a string `id`.")
            if not consumer.acknowledged:
                return self._error(op_id, "Send connection_init and wait for connection_ack.")
            payload = message.get("payload")
            if not valid_operation_payload(payload):
                return self._error(op_id, "Invalid start payload: `query` must be a string.")
            if op_id in consumer.operations:
                await consumer.stop_operation(op_id)  # a duplicate id replaces the old one
            await consumer.start_operation(op_id, payload)
        elif kind == "stop":
            if isinstance(op_id, str) and await consumer.stop_operation(op_id):
                self.send_complete(op_id)
        elif kind == "connection_terminate":
            consumer.close_with(1000, "")
        else:
            self._error(op_id, f"Invalid message type {kind!r}.")

    def _error(self, op_id: Any, message: str) -> None:
        error = {"type": "error", "payload": {"message": message}}
        if op_id is not None:
            error["id"] = op_id
        self.consumer.send_message(error)

    def acknowledge(self) -> None:
        self.consumer.send_message({"type": "connection_ack"})
        self.consumer.send_message({"type": "ka"})
        self.consumer.spawn(self._keepalive())

    async def _keepalive(self) -> None:
        while not self.consumer.closed:
            await asyncio.sleep(settings.SUBSCRIPTIONS_KEEPALIVE)
            self.consumer.send_message({"type": "ka"})

    def reject(self, reason: str) -> None:
        self.consumer.send_message({"type": "connection_error", "payload": {"message": reason}})
        self.consumer.close_with(FORBIDDEN, "Forbidden")
