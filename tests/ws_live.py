"""Helpers for the websocket tests: an in-process client, async tests, the Node ws clients.

`WsClient` drives `project.asgi.application` (the real stack: origin check, cookie
authentication) through channels' `WebsocketCommunicator`. `async_test` runs an async test
body on a fresh event loop from a plain pytest test (no pytest-asyncio needed); database
work inside it runs on the test's thread, so these tests use `transactional_db`.

`run_ws_client` runs a script of tests/ws_clients/ (its own package.json: graphql-ws,
subscriptions-transport-ws, ws; installed with `npm ci` by bin/setup-clients).
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import ApplicationCommunicator, WebsocketCommunicator

from tests.live_server import stop_process

WS_CLIENTS_DIR = Path(__file__).resolve().parent / "ws_clients"
TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"
ORIGIN = (b"origin", b"http://localhost")


# Absence is asserted with a barrier, never by waiting: after the write that must not reach a
# viewer, a write that must (BARRIER_NAME), whose event is the viewer's next message. Events
# come in commit order, so one that leaked would have come before it.
BARRIER_NAME = "Barrier"
BARRIER = "subscription Barrier($id: ID) { productUpdated(id: $id) { name } }"


async def save(product: Any, **changes: Any) -> None:
    """Change and save a product (its event is published when the write commits)."""

    def write() -> None:
        for name, value in changes.items():
            setattr(product, name, value)
        product.save()

    await database_sync_to_async(write)()


def async_test(function):
    """Run `async def test_...(fixtures)` on its own event loop."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return async_to_sync(function)(*args, **kwargs)

    return wrapper


class WsClient:
    """One websocket connection to the ASGI application at /graphql/."""

    def __init__(self, *subprotocols: str, headers: list | None = None,
                 client: tuple[str, int] | None = None) -> None:
        from project.asgi import application

        self.communicator = WebsocketCommunicator(
            application, "/graphql/", headers=[ORIGIN, *(headers or [])],
            subprotocols=list(subprotocols),
        )
        if client is not None:  # read by the consumer once it runs, after this
            self.communicator.scope["client"] = client
        self.subprotocol: str | None = None

    async def connect(self) -> str | None:
        connected, subprotocol = await self.communicator.connect(timeout=5)
        assert connected, "the handshake was refused"
        self.subprotocol = subprotocol
        return subprotocol

    async def send(self, message: dict | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float = 5) -> dict:
        """The next message; fails on a close."""
        output = await self.communicator.receive_output(timeout)
        assert output["type"] == "websocket.send", f"expected a message, got {output}"
        return json.loads(output["text"])

    async def receive_skipping_ka(self, timeout: float = 5) -> dict:
        while True:
            message = await self.receive(timeout)
            if message.get("type") != "ka":
                return message

    async def barrier(self, op_id: str) -> None:
        """Assert that the next message (keep-alives aside) is the event of BARRIER
        subscription `op_id` for its product renamed BARRIER_NAME."""
        message = await self.receive_skipping_ka()
        assert (message.get("id"), message["type"], message["payload"]["data"]) == (
            op_id, self.result_type, {"productUpdated": {"name": BARRIER_NAME}}), message

    @property
    def result_type(self) -> str:
        """The type of the messages that carry results: `next`, or the legacy `data`."""
        return "next" if self.subprotocol == TRANSPORT else "data"

    async def closed(self, timeout: float = 5) -> int:
        """Wait for the server's close (skipping messages before it); its code."""
        while True:
            output = await self.communicator.receive_output(timeout)
            if output["type"] == "websocket.close":
                return output.get("code", 1000)

    async def closed_next(self, timeout: float = 5) -> int:
        """The server's close code; fails if any message comes before the close."""
        output = await self.communicator.receive_output(timeout)
        assert output["type"] == "websocket.close", f"expected the close, got {output}"
        return output.get("code", 1000)

    async def init(self, payload: dict | None = None) -> dict:
        """connection_init and its ack (the legacy `ka` that follows is left queued)."""
        message: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await self.send(message)
        return await self.receive()

    async def open(self, payload: dict | None = None) -> WsClient:
        await self.connect()
        ack = await self.init(payload)
        assert ack == {"type": "connection_ack"}, ack
        return self

    async def subscribe(self, op_id: str, query: str, variables: dict | None = None) -> None:
        """Start an operation and wait until the server has registered it.

        A ping (or, in the legacy protocol, a cheap query) sent after it is answered only
        once the server has handled the subscribe message.
        """
        await self.start(op_id, query, variables)
        await self.sync()

    async def start(self, op_id: str, query: str, variables: dict | None = None) -> None:
        """Send an operation (`subscribe`, or the legacy `start`), waiting for nothing."""
        kind = "subscribe" if self.subprotocol == TRANSPORT else "start"
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        await self.send({"id": op_id, "type": kind, "payload": payload})

    async def stop(self, op_id: str) -> None:
        """Stop an operation: `complete`, or the legacy `stop` (which the server answers with
        `complete`, left queued)."""
        kind = "complete" if self.subprotocol == TRANSPORT else "stop"
        await self.send({"id": op_id, "type": kind})

    async def sync(self) -> None:
        if self.subprotocol == TRANSPORT:
            await self.send({"type": "ping"})
            assert await self.receive() == {"type": "pong"}
        else:
            await self.send({"id": "__sync", "type": "start",
                             "payload": {"query": "{ __typename }"}})
            assert (await self.receive_skipping_ka())["id"] == "__sync"
            assert (await self.receive_skipping_ka()) == {"id": "__sync", "type": "complete"}

    async def close(self) -> None:
        await self.communicator.disconnect()


class AsgiPost:
    """One JSON POST to the ASGI application at /graphql/ (the HTTP transport, in process);
    with `method="GET"`, the same parameters in the query string."""

    accept = b"application/json"

    def __init__(self, body: dict, *, headers: list | None = None,
                 client: tuple[str, int] = ("127.0.0.1", 50000), method: str = "POST") -> None:
        from urllib.parse import urlencode

        from project.asgi import application

        query_string = b""
        if method == "GET":
            query_string = urlencode({name: value if isinstance(value, str) else json.dumps(value)
                                      for name, value in body.items()}).encode()
            body = {}
        self.body = json.dumps(body).encode() if body else b""
        self.communicator = ApplicationCommunicator(application, {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": "/graphql/", "raw_path": b"/graphql/",
            "query_string": query_string, "root_path": "", "client": client,
            "server": ("testserver", 80),
            "headers": [(b"host", b"testserver"), (b"accept", self.accept),
                        (b"content-type", b"application/json"), *(headers or [])],
        })

    async def json(self, timeout: float = 5) -> dict:
        await self.communicator.send_input(
            {"type": "http.request", "body": self.body, "more_body": False})
        start = await self.communicator.receive_output(timeout)
        assert start["type"] == "http.response.start", start
        body = b""
        while True:
            output = await self.communicator.receive_output(timeout)
            body += output.get("body", b"")
            if not output.get("more_body"):
                return json.loads(body)


class SseClient(AsgiPost):
    """One GraphQL-over-SSE request to the ASGI application at /graphql/, read as it streams."""

    accept = b"text/event-stream"

    def __init__(self, body: dict, *, headers: list | None = None,
                 client: tuple[str, int] = ("127.0.0.1", 50000), method: str = "POST") -> None:
        super().__init__(body, headers=headers, client=client, method=method)
        self.buffer = b""
        self.status: int | None = None
        self.content_type: str | None = None
        self.ended = False

    async def open(self, timeout: float = 5) -> SseClient:
        await self.communicator.send_input(
            {"type": "http.request", "body": self.body, "more_body": False})
        start = await self.communicator.receive_output(timeout)
        assert start["type"] == "http.response.start", start
        self.status = start["status"]
        headers = {name.lower(): value for name, value in start["headers"]}
        self.content_type = headers.get(b"content-type", b"").decode()
        return self

    async def event(self, timeout: float = 5) -> tuple[str, Any]:
        """The next event (its name, and its data parsed as JSON when there is any), skipping
        keep-alive comments."""
        while True:
            while b"\n\n" not in self.buffer:
                assert not self.ended, "the stream ended"
                output = await self.communicator.receive_output(timeout)
                assert output["type"] == "http.response.body", output
                self.buffer += output.get("body", b"")
                self.ended = not output.get("more_body", False)
            block, self.buffer = self.buffer.split(b"\n\n", 1)
            fields = dict(line.split(b": ", 1) if b": " in line else (line.rstrip(b":"), b"")
                          for line in block.split(b"\n") if not line.startswith(b":"))
            if fields:
                data = fields.get(b"data", b"").decode()
                return fields[b"event"].decode(), json.loads(data) if data.strip() else None

    async def result(self, timeout: float = 5) -> dict:
        """The one `next` of a query, mutation or refusal, and its `complete`."""
        name, payload = await self.event(timeout)
        assert name == "next", (name, payload)
        assert (await self.event(timeout))[0] == "complete"
        return payload

    async def close(self) -> None:
        """The client goes away; returns once the application has finished the response."""
        await self.communicator.send_input({"type": "http.disconnect"})
        await self.communicator.wait(timeout=5)


# -- Node clients ------------------------------------------------------------------------


def require_ws_clients() -> None:
    from tests.live_server import skip_or_fail

    if shutil.which("node") is None:
        skip_or_fail("Node.js is not installed: the websocket client tests need node >= 20")
    if not (WS_CLIENTS_DIR / "node_modules" / ".package-lock.json").exists():
        skip_or_fail("tests/ws_clients has no node_modules: run bin/setup-clients")


class NodeClient:
    """A tests/ws_clients script running in the background, speaking JSON lines."""

    def __init__(self, script: str, env: dict[str, str]) -> None:
        require_ws_clients()
        self.script = script
        self.process = subprocess.Popen(
            ["node", str(WS_CLIENTS_DIR / script)],
            cwd=WS_CLIENTS_DIR, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: list[dict] = []

    def read(self, timeout: float = 20) -> dict:
        """The next JSON line printed by the script."""
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            self.fail(f"no output within {timeout} s")
        line = self.process.stdout.readline()
        if not line:
            self.fail("the script exited")
        message = json.loads(line)
        self.lines.append(message)
        return message

    def wait_for(self, kind: str, timeout: float = 20) -> dict:
        while True:
            message = self.read(timeout)
            if message.get("kind") == kind:
                return message
            if message.get("kind") == "failed":
                self.fail(f"client failed: {message}")

    def fail(self, reason: str) -> None:
        self.stop()
        stderr = self.process.stderr.read() if self.process.stderr else ""
        pytest.fail(f"node {self.script}: {reason}\nseen: {self.lines}\nstderr: {stderr[-3000:]}",
                    pytrace=False)

    def stop(self) -> None:
        stop_process(self.process)
