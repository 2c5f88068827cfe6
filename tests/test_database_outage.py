"""PostgreSQL stops under a running server: every transport answers a coded, retryable error;
it starts again: requests succeed, without restarting the server.

A PostgreSQL of its own (pgserver, in a temporary directory: the suite's server is shared by
every worker and must stay up), migrated and seeded with a user and a product; a live uvicorn
server on it (tests/live_server.py) keeping its connections (DATABASE_CONN_MAX_AGE=60, the
harder case: the restart breaks them under the server, project/settings.py checks them before
reuse). Clients: plain HTTP (anonymous and with a JWT), a graphql-transport-ws websocket
(Python's `websockets`, opened before the outage and used throughout), and Server-Sent
Events. Every wait is bounded; nothing sleeps.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveServer, start_server

PROJECT = Path(__file__).resolve().parent.parent
PASSWORD = "outage-password-123"
PRODUCTS = "{ products(first: 2) { edges { node { name } } } }"
TIMEOUT = 10.0

SEED = f"""
import django
django.setup()
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from products.models import Category, Product
call_command("migrate", verbosity=0, interactive=False)
user = get_user_model().objects.create_user("outage", "outage@example.com")
user.password = PBKDF2PasswordHasher().encode({PASSWORD!r}, "outagesalt", iterations=1000)
user.save()
category = Category.objects.create(name="Lamps", slug="lamps")
Product.objects.create(name="Desk Lamp", description="A lamp.", price=Decimal("25.00"),
                       stock=3, is_published=True, category=category, created_by=user)
"""


class Postgres:
    """A PostgreSQL server of this test's own, which it can stop and start."""

    def __init__(self) -> None:
        import pgserver

        self.directory = Path(tempfile.mkdtemp(prefix="vitrine-outage-"))
        self.server = pgserver.get_server(self.directory / "pgdata", cleanup_mode="delete")
        self.socket_dir = str(self.server.get_postmaster_info().socket_dir)
        self.url = f"postgresql://postgres@/postgres?host={self.socket_dir}"

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-t", "15", *args], pgdata=self.server.pgdata,
               user=self.server.system_user, timeout=30)

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        # As pgserver starts it: no TCP, the same socket directory (the server's URL holds).
        self._pg_ctl("-o", '-h ""', "-o", f"-k {self.socket_dir}",
                     "-l", str(self.server.log), "start")

    def running(self) -> bool:
        from pgserver._commands import pg_ctl

        try:
            pg_ctl(["status"], pgdata=self.server.pgdata, user=self.server.system_user,
                   timeout=10)
        except subprocess.CalledProcessError:
            return False
        return True

    def remove(self) -> None:
        if self.running():
            self.stop()
        self.server.cleanup()  # pgserver's own bookkeeping; deletes the data directory
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def outage_server():
    """(the PostgreSQL, the live server on it)."""
    postgres = Postgres()
    server = None
    try:
        env = {**os.environ, "DATABASE_URL": postgres.url, "DEBUG": "1",
               "DJANGO_SETTINGS_MODULE": "project.settings"}
        env.pop("DATABASE_TEST_NAME", None)
        seeded = subprocess.run([sys.executable, "-c", SEED], cwd=PROJECT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        server = start_server("postgres", {"DATABASE_URL": postgres.url,
                                           "DATABASE_CONN_MAX_AGE": "60"})
        yield postgres, server
    finally:
        if server is not None:
            server.stop()
        postgres.remove()
        if server is not None:
            server.log_path.unlink(missing_ok=True)


# -- Clients ----------------------------------------------------------------------------------


def post(server: LiveServer, query: str, variables: dict | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.request("POST", "/graphql/",
                           json.dumps({"query": query, "variables": variables or {}}),
                           {"Content-Type": "application/json", "Accept": "application/json",
                            **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def sse_events(server: LiveServer, query: str) -> list[tuple[str, Any]]:
    """The events of one GraphQL-over-SSE request, up to `complete` (bounded by TIMEOUT)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.request("POST", "/graphql/", json.dumps({"query": query}),
                           {"Content-Type": "application/json", "Accept": "text/event-stream"})
        response = connection.getresponse()
        assert response.status == 200, (response.status, response.read()[:500])
        assert response.getheader("Content-Type", "").startswith("text/event-stream")
        events: list[tuple[str, Any]] = []
        deadline = time.monotonic() + TIMEOUT
        event, data = None, []
        while time.monotonic() < deadline:
            line = response.readline().decode()
            if not line:
                break
            line = line.rstrip("\r\n")
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data.append(line.split(":", 1)[1].strip())
            elif not line and event is not None:
                events.append((event, json.loads("\n".join(data)) if any(data) else None))
                if event == "complete":
                    return events
                event, data = None, []
        raise AssertionError(f"no complete event within {TIMEOUT} s: {events}")
    finally:
        connection.close()


# Close codes on which graphql-ws gives up instead of reconnecting (its client's
# shouldRetryConnectOrThrow): 1000-1999 but the transient ones, and these.
FATAL_FOR_GRAPHQL_WS = {*range(1000, 2000)} - {1000, 1001, 1005, 1006, 1012, 1013, 1014} | {
    4500, 4005, 4400, 4004, 4401, 4406, 4409, 4429}


def connect_ws(server: LiveServer):
    from websockets.sync.client import connect

    return connect(server.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=TIMEOUT,
                   close_timeout=2)


def closed_with(ws) -> int:
    """The close code the server sends, skipping messages before it (bounded)."""
    from websockets.exceptions import ConnectionClosed

    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(deadline - time.monotonic(), 0.1))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else 1006
    raise AssertionError(f"the socket stayed open for {TIMEOUT} s")


def sse_post(server: LiveServer, query: str,
             headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """A GraphQL-over-SSE request whose answer is not a stream (a refusal before it)."""
    return post(server, query, headers={"Accept": "text/event-stream", **headers})


class Socket:
    """A graphql-transport-ws connection."""

    def __init__(self, server: LiveServer, payload: dict | None = None) -> None:
        self.ws = connect_ws(server).__enter__()
        self.ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        self.ack = json.loads(self.ws.recv(timeout=TIMEOUT))
        self.count = 0

    def query(self, query: str) -> list[dict]:
        """The messages of one operation, up to its `complete` (or its `error`)."""
        self.count += 1
        op_id = f"q{self.count}"
        self.ws.send(json.dumps({"id": op_id, "type": "subscribe",
                                 "payload": {"query": query}}))
        messages = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if message.get("type") == "ping":
                self.ws.send(json.dumps({"type": "pong"}))
                continue
            messages.append(message)
            if message.get("id") == op_id and message["type"] in ("complete", "error"):
                return messages
        raise AssertionError(f"no complete within {TIMEOUT} s: {messages}")

    def close(self) -> None:
        self.ws.__exit__(None, None, None)


def codes(errors: list[dict] | None) -> list[str]:
    return [error["extensions"]["code"] for error in errors or ()]


def sign_in(server: LiveServer) -> str:
    status, _, body = post(server, """mutation ($u: String!, $p: String!) {
        tokenAuth(input: {username: $u, password: $p}) { token errors { code } } }""",
                           {"u": "outage", "p": PASSWORD})
    assert status == 200, body
    token = json.loads(body)["data"]["tokenAuth"]["token"]
    assert token, body
    return token


# -- What must hold ---------------------------------------------------------------------------


def assert_unavailable_over_http(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 503, (status, body[:500])
    assert headers["content-type"].startswith("application/json"), (headers, body[:300])
    assert headers.get("retry-after", "").isdigit(), headers
    payload = json.loads(body)  # JSON, never Django's HTML error page
    assert codes(payload["errors"]) and set(codes(payload["errors"])) == {"SERVICE_UNAVAILABLE"}
    assert all(error["extensions"]["retryAfter"] > 0 for error in payload["errors"])


def assert_products(body: dict) -> None:
    assert "errors" not in body, body
    assert [edge["node"]["name"] for edge in body["data"]["products"]["edges"]] == ["Desk Lamp"]


def test_every_transport_answers_service_unavailable_while_postgres_is_down(outage_server):
    postgres, server = outage_server
    token = sign_in(server)
    bearer = {"Authorization": f"Bearer {token}"}
    socket = Socket(server)
    try:
        assert socket.ack == {"type": "connection_ack"}
        status, _, body = post(server, PRODUCTS, headers=bearer)
        assert status == 200
        assert_products(json.loads(body))

        postgres.stop()

        # HTTP, anonymous: the resolver cannot reach the database.
        assert_unavailable_over_http(*post(server, PRODUCTS))
        # HTTP with a JWT: authentication's lookup fails before the pipeline.
        assert_unavailable_over_http(*post(server, PRODUCTS, headers=bearer))
        assert_unavailable_over_http(*post(server, "{ me { username } }", headers=bearer))
        # A mutation (anonymous: signing in), in its own transaction.
        assert_unavailable_over_http(*post(server, """mutation {
            tokenAuth(input: {username: "outage", password: "x"}) { token } }"""))
        # A websocket opened before the outage: a GraphQL error, and the socket stays open.
        messages = socket.query(PRODUCTS)
        results = [m for m in messages if m["type"] in ("next", "error")]
        assert results, messages
        errors = results[0]["payload"] if results[0]["type"] == "error" else (
            results[0]["payload"].get("errors"))
        assert set(codes(errors)) == {"SERVICE_UNAVAILABLE"}, messages
        # A new websocket whose connection_init carries the JWT: authentication cannot run,
        # and the socket closes with a code graphql-ws retries.
        with connect_ws(server) as fresh:
            fresh.send(json.dumps({"type": "connection_init",
                                   "payload": {"authorization": f"Bearer {token}"}}))
            code = closed_with(fresh)
        assert code == 1013 and code not in FATAL_FOR_GRAPHQL_WS, code  # "Try Again Later"
        # Server-Sent Events: a `next` event carrying the error, then `complete`.
        events = sse_events(server, PRODUCTS)
        assert [name for name, _ in events] == ["next", "complete"], events
        assert set(codes(events[0][1]["errors"])) == {"SERVICE_UNAVAILABLE"}, events
        # With a JWT, authentication fails before the stream starts: an HTTP 503 in JSON.
        assert_unavailable_over_http(*sse_post(server, PRODUCTS, bearer))

        postgres.start()

        # Back, with no server restart: the same clients succeed at once.
        status, _, body = post(server, PRODUCTS)
        assert status == 200, body
        assert_products(json.loads(body))
        status, _, body = post(server, "{ me { username } }", headers=bearer)
        assert status == 200 and json.loads(body)["data"] == {"me": {"username": "outage"}}, body
        messages = socket.query(PRODUCTS)
        assert messages[0]["type"] == "next", messages
        assert_products(messages[0]["payload"])
        events = sse_events(server, PRODUCTS)
        assert [name for name, _ in events] == ["next", "complete"], events
        assert_products(events[0][1])
        assert server.process.poll() is None  # the same server process throughout
    finally:
        socket.close()
