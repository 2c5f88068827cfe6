"""/healthz (the process answers) and /readyz (database, cache and channel layer answer):
200, or 503 naming what failed, always JSON; against live servers whose database or Redis is
unreachable too."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from project import health
from tests.helpers import free_port
from tests.live_server import LiveServer, start_server

pytest_plugins = ["tests.live_server"]

DATABASE = "Database(alias='default')"
CACHE = "Cache(alias='default')"
CHANNEL_LAYER = "ChannelLayer(alias='default')"


def test_healthz_answers_without_touching_the_database(client, db):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz", HTTP_ACCEPT="text/html")
    assert (response.status_code, response["Content-Type"]) == (200, "application/json")
    assert response.json() == {}
    assert len(queries) == 0


def test_readyz_checks_database_cache_and_channel_layer(client, db):
    response = client.get("/readyz", HTTP_ACCEPT="text/html")  # JSON all the same
    assert (response.status_code, response["Content-Type"]) == (200, "application/json")
    assert response.json() == {DATABASE: "OK", CACHE: "OK", CHANNEL_LAYER: "OK"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_503_naming_the_channel_layer_when_it_fails(client, db, monkeypatch):
    class Unreachable:
        async def new_channel(self):
            raise ConnectionError("connection refused")

    monkeypatch.setattr(health, "get_channel_layer", lambda alias: Unreachable())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        DATABASE: "OK", CACHE: "OK", CHANNEL_LAYER: "Unavailable: Cannot reach the channel layer",
    }


# live servers (uvicorn, DEBUG off) ---------------------------------------------------------------

def get(server: LiveServer, path: str) -> tuple[int, str, dict]:
    """Status, Content-Type and JSON body of a GET, as a load balancer's probe sees them."""
    request = urllib.request.Request(server.url + path, headers={"Accept": "*/*"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers["Content-Type"], json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], json.load(error)


@pytest.fixture(scope="module")
def servers(django_db_setup):
    """Start live servers on first use, keyed by their environment; stop them all after."""
    from tests.live_server import _test_database_name

    name = _test_database_name()
    started: dict[str, LiveServer] = {}

    def server(label: str, **env: str) -> LiveServer:
        if label not in started:
            started[label] = start_server(name, env)
        return started[label]

    yield server
    for server_ in started.values():
        server_.stop()
        server_.log_path.unlink(missing_ok=True)


@pytest.mark.django_db
def test_a_live_server_is_ready_with_postgresql_and_redis(servers, redis_server):
    server = servers("redis", REDIS_URL=redis_server.url)
    assert get(server, "/healthz") == (200, "application/json", {})
    assert get(server, "/readyz") == (
        200, "application/json", {DATABASE: "OK", CACHE: "OK", CHANNEL_LAYER: "OK"})


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_is_unreachable(servers):
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/vitrine"
    server = servers("no database", DATABASE_URL=closed)
    assert get(server, "/healthz") == (200, "application/json", {})
    status, content_type, body = get(server, "/readyz")
    assert (status, content_type) == (503, "application/json")
    assert body[DATABASE].startswith("Unavailable")
    assert (body[CACHE], body[CHANNEL_LAYER]) == ("OK", "OK")


@pytest.mark.django_db
def test_readyz_is_503_naming_cache_and_channel_layer_when_redis_is_unreachable(servers):
    server = servers("no redis", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert get(server, "/healthz") == (200, "application/json", {})
    status, content_type, body = get(server, "/readyz")
    assert (status, content_type) == (503, "application/json")
    assert body[DATABASE] == "OK"
    assert body[CACHE] != "OK" and body[CHANNEL_LAYER] == (
        "Unavailable: Cannot reach the channel layer")
