"""GraphiQL in headless Chromium (tests/clients/graphiql.mjs, playwright-core) on the real
server: the page loads only from localhost, and a query typed into the editor runs and shows
its data in the result pane. The screenshot lands in test-artifacts/graphiql.png.
"""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from tests.live_server import ARTIFACTS_DIR, needs_browser, require_browser, run_node

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
    result = json.loads(report["resultText"])
    visible = [p for key, p in catalog["products"].items() if key != "draft"]
    first_three = sorted(visible, key=lambda p: p.name)[:3]
    assert result["data"] == {"products": {"totalCount": 4, "edges": [
        {"node": {"name": p.name, "price": str(p.price)}} for p in first_three
    ]}}
    assert first_three[0].name in report["visibleResult"]
    assert screenshot.stat().st_size > 10_000
