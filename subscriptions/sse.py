"""GraphQL over Server-Sent Events: the graphql-sse protocol's distinct connections mode.

For clients behind proxies and corporate networks that break websockets. A request to
/graphql/ whose `Accept` names `text/event-stream` (POST with a JSON body, or GET with query
parameters; the graphql-sse client sends exactly that) is answered with an event stream:

    event: next        data: <an execution result>     (one per result or subscription event)
    event: complete    data:                           (the operation is done)
    :                                                  (a keep-alive comment, every
                                                        SUBSCRIPTIONS_KEEPALIVE seconds)

The HTTP view (schema/view.py) reads the request as for any other HTTP request (headers carry
the credentials: `Authorization`, `X-API-Key`, cookies; CSRF as over HTTP) and hands the
operation here; it then runs through the same pipeline as every transport. Refusals and
validation errors come as a `next` event followed by `complete`, as the protocol asks (an
EventSource cannot read the body of a 4xx). A query or mutation streams its one result, then
`complete`. A subscription registers with the process's hub (subscriptions/hub.py), the same
as a websocket's, with the same visibility rule and per-event viewer check; with Redis every
process's writes reach it. It ends when the client goes away (Django cancels the response and
the subscription leaves the hub), or when its credential stops holding (a last `next` with
an UNAUTHENTICATED error, then `complete`).

A slow reader keeps at most SUBSCRIPTIONS_SEND_QUEUE events waiting; past that the oldest is
dropped and the next one delivered carries `extensions.droppedEvents`, as over websockets.
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from graphql import OperationType

from accounts.auth import request_credential
from schema import errors, pipeline
from subscriptions.hub import Hub, Subscription, dumps, get_hub

TRANSPORT = "graphql-sse"
EVENT_STREAM = "text/event-stream"
OPERATION_ID = "sse"  # one operation per connection in this mode
KEEPALIVE = b":\n\n"
UNCLAIMED_SECONDS = 30.0
_CLOSED = object()


def next_event(payload_json: str) -> bytes:
    return b"event: next\ndata: " + payload_json.encode() + b"\n\n"


COMPLETE_EVENT = b"event: complete\ndata: \n\n"


class EventStream:
    """The streaming transport the HTTP view hands `Accept: text/event-stream` requests to."""

    transport = TRANSPORT
    media_type = EVENT_STREAM

    @staticmethod
    def respond(request: HttpRequest,
                operation: pipeline.OperationRequest) -> StreamingHttpResponse:
        prepared = pipeline.prepare(operation)
        if isinstance(prepared, pipeline.PreparedOperation) and (
            prepared.operation_type == OperationType.SUBSCRIPTION
        ):
            refused = pipeline.subscribe(prepared)
            if refused is not None:
                stream = _single(refused)
            else:
                connection = SseConnection(prepared, request.user, request_credential(request))
                # On the server's event loop, before the response's headers go out: once the
                # client sees the stream open, every later event reaches it.
                async_to_sync(connection.open)()
                stream = connection.events()
        elif isinstance(prepared, pipeline.PreparedOperation):
            stream = _single(pipeline.execute_prepared(prepared))
        else:
            stream = _single(prepared)
        response = StreamingHttpResponse(stream, content_type=f"{EVENT_STREAM}; charset=utf-8")
        # Proxies must pass events on as they come, not buffer or cache the stream.
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


async def _single(result: pipeline.OperationResult) -> AsyncIterator[bytes]:
    yield next_event(dumps(result.payload())) + COMPLETE_EVENT


class SseConnection:
    """One subscription's event stream; the hub's `Connection` for it."""

    def __init__(self, prepared: pipeline.PreparedOperation, user: Any, credential: Any) -> None:
        self.subscription = Subscription(OPERATION_ID, prepared, user, self, credential)
        self.queue: deque[Any] = deque()
        self.dropped = 0
        self.ready = asyncio.Event()
        self.hub: Hub | None = None
        self.unclaimed: asyncio.TimerHandle | None = None

    async def open(self) -> None:
        """Join the hub. Should the response never start streaming (the client left at
        once), the subscription is dropped after UNCLAIMED_SECONDS, not held forever."""
        self.hub = get_hub()
        await self.hub.add(self.subscription)
        self.unclaimed = asyncio.get_running_loop().call_later(
            UNCLAIMED_SECONDS, lambda: asyncio.ensure_future(self.close())
        )

    async def close(self) -> None:
        if self.unclaimed is not None:
            self.unclaimed.cancel()
            self.unclaimed = None
        if self.hub is not None:
            hub, self.hub = self.hub, None
            await hub.remove(self.subscription)

    async def events(self) -> AsyncIterator[bytes]:
        if self.unclaimed is not None:
            self.unclaimed.cancel()
            self.unclaimed = None
        try:
            yield KEEPALIVE  # the first bytes: some proxies hold a response until its body starts
            while True:
                chunk = await self._next_chunk()
                if chunk is _CLOSED:
                    return
                yield chunk
        finally:  # the client went away (Django cancels the response), or revoke()
            await self.close()

    async def _next_chunk(self) -> Any:
        if not self.queue:
            self.ready.clear()
            try:
                await asyncio.wait_for(self.ready.wait(), settings.SUBSCRIPTIONS_KEEPALIVE)
            except TimeoutError:
                return KEEPALIVE
        item = self.queue.popleft()
        if item is _CLOSED or isinstance(item, bytes):
            return item
        payload_json, payload = item
        if self.dropped:
            payload = {**payload, "extensions": {**(payload.get("extensions") or {}),
                                                 "droppedEvents": self.dropped}}
            payload_json, self.dropped = dumps(payload), 0
        return next_event(payload_json)

    # -- The hub's Connection -------------------------------------------------------------

    def deliver_event(self, op_id: str, payload_json: str, payload: dict[str, Any],
                      eager: bool = False) -> None:
        if len(self.queue) >= settings.SUBSCRIPTIONS_SEND_QUEUE:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append((payload_json, payload))
        self.ready.set()

    def revoke(self) -> None:
        """The credential no longer holds: say so, complete, and end the stream."""
        error = {"message": "The credentials are no longer valid.",
                 "extensions": {"code": errors.UNAUTHENTICATED}}
        self.queue.append(next_event(dumps({"errors": [error]})) + COMPLETE_EVENT)
        self.queue.append(_CLOSED)
        self.ready.set()
