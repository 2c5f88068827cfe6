"""GraphiQL in headless Chromium (tests/clients/graphiql.mjs, playwright-core) on the real
server: the page loads only from localhost, a query typed into the editor runs and shows its
data in the result pane (test-artifacts/graphiql.png), and a subscription typed into it shows
the live event of a mutation made through the server (test-artifacts/graphiql-subscription.png).
"""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from graphql_relay import to_global_id

from tests.live_server import (
    ARTIFACTS_DIR,
    needs_browser,
    require_browser,
    run_node,
    set_server_password,
)

pytest_plugins = ["tests.live_server"]
pytestmark = [
    pytest.mark.node, pytest.mark.browser, needs_browser, pytest.mark.django_db(transaction=True),
]

QUERY = '{ products(first: 3, orderBy: "name") { totalCount edges { node { name price } } } }'


def test_graphiql_runs_a_typed_query(asgi_server, catalog):
    chromium = require_browser()
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    screenshot = ARTIFACTS_DIR / "graphiql.png"
    screenshot.unlink(missing_ok=True)

    report = run_node("graphiql.mjs", asgi_server, env={
        "CHROMIUM_PATH": chromium, "SCREENSHOT": str(screenshot), "QUERY": QUERY,
    })

    assert report["pageStatus"] == 200
    assert report["external"] == [], "GraphiQL must not reach beyond localhost"
    assert report["failed"] == []
    assert report["errorResponses"] == []
    assert report["pageErrors"] == []
    # Chromium asks for /favicon.ico by itself; the server has none. Nothing else may fail.
    console_errors = [e for e in report["consoleErrors"]
                      if urlsplit(e["url"] or "").path != "/favicon.ico"]
    assert console_errors == []
    assets = [r["url"] for r in report["requests"] if "/static/" in r["url"]]
    assert any("graphiql.min.js" in url for url in assets), report["requests"]

    assert report["editorText"] == QUERY
    assert report["execution"]["status"] == 200
    assert report["sockets"] == [], "a query runs over HTTP, not the websocket"
    result = json.loads(report["resultText"])
    visible = [p for key, p in catalog["products"].items() if key != "draft"]
    first_three = sorted(visible, key=lambda p: p.name)[:3]
    assert result["data"] == {"products": {"totalCount": 4, "edges": [
        {"node": {"name": p.name, "price": str(p.price)}} for p in first_three
    ]}}
    assert first_three[0].name in report["visibleResult"]
    assert screenshot.stat().st_size > 10_000


SUBSCRIPTION = "subscription { productUpdated { name } }"
PASSWORD = "graphiql-staff-password"


def test_graphiql_shows_a_live_subscription_event(asgi_server, catalog, users):
    """`subscription { productUpdated { name } }` typed into GraphiQL runs over the page's
    websocket (graphql-ws, anonymous, Origin of the page); another client renames a product
    with updateProduct over HTTP (JWT from tokenAuth), so the server process publishes the
    event, and the result pane shows it. Screenshot: test-artifacts/graphiql-subscription.png.
    """
    chromium = require_browser()
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    screenshot = ARTIFACTS_DIR / "graphiql-subscription.png"
    screenshot.unlink(missing_ok=True)
    staff = users["staff"]
    set_server_password(staff, PASSWORD)
    cans = catalog["products"]["cans"]

    report = run_node("graphiql.mjs", asgi_server, timeout=90, env={
        "CHROMIUM_PATH": chromium, "SCREENSHOT": str(screenshot), "QUERY": SUBSCRIPTION,
        "LIVE": json.dumps({
            "productId": to_global_id("Product", cans.pk), "username": staff.username,
            "password": PASSWORD, "name": "Live from GraphiQL",
        }),
    })

    assert report["pageStatus"] == 200
    assert report["external"] == [], "GraphiQL must not reach beyond localhost"
    assert report["failed"] == []
    assert report["errorResponses"] == []
    assert report["pageErrors"] == []
    console_errors = [e for e in report["consoleErrors"]
                      if urlsplit(e["url"] or "").path != "/favicon.ico"]
    assert console_errors == []
    assert report["editorText"] == SUBSCRIPTION

    live = report["live"]
    for mutation in live["mutations"]:
        assert mutation["status"] == 200, mutation
        assert mutation["body"]["data"]["updateProduct"]["errors"] == [], mutation
    shown = live["shownName"]
    assert shown is not None, f"no event reached the result pane: {report['resultText']!r}"
    # The event is the mutation's rename, shown as GraphiQL shows any result.
    assert json.loads(report["resultText"]) == {"data": {"productUpdated": {"name": shown}}}
    assert shown in report["visibleResult"]
    cans.refresh_from_db()
    assert cans.name == live["mutations"][-1]["name"]

    # Over the page's own websocket, in graphql-transport-ws: init, ack, subscribe, next.
    socket, = report["sockets"]
    assert socket["url"] == asgi_server.ws_url
    sent = [json.loads(frame) for frame in socket["sent"]]
    received = [json.loads(frame) for frame in socket["received"]]
    assert sent[0]["type"] == "connection_init"
    subscribe, = [m for m in sent if m["type"] == "subscribe"]
    assert subscribe["payload"]["query"].split() == SUBSCRIPTION.replace("{", " { ").replace(
        "}", " } ").split()
    assert received[0]["type"] == "connection_ack"
    events = [m for m in received if m["type"] == "next"]
    assert events and all(m["id"] == subscribe["id"] for m in events)
    assert events[-1]["payload"] == {"data": {"productUpdated": {"name": shown}}}
    assert screenshot.stat().st_size > 10_000
