"""GraphiQL in headless Chromium (tests/clients/graphiql.mjs, playwright-core) on the real
server, judged by what the page shows:

- it opens with three tabs (GraphiQL's `defaultTabs`): CatalogPage, the catalog page query,
  whose run button, untouched, shows product names in the result pane; SignIn, tokenAuth with
  its variables and how to put the token in the Headers pane, which signs in once the
  Variables pane has a username and password; ProductUpdated, a subscription that, untouched,
  shows the live event of a mutation;
- the Docs explorer lists the root types and, on `Product`, its fields: in development
  (DEBUG=1), in production (DEBUG off, whose default policy is GRAPHQL_INTROSPECTION=on) for
  anonymous visitors and for staff signed in through the Headers pane;
- with GRAPHQL_INTROSPECTION=staff an anonymous visitor reads one sentence saying why there
  are no Docs (not "Error fetching schema"), queries still run, and signing in as staff then
  "Load the Docs" brings the Docs;
- a subscription typed into it shows the live event of a mutation made through the server.

Every page must load from localhost only, without failed requests or script errors.
Screenshots: test-artifacts/graphiql-*.png.
"""
from __future__ import annotations

import json
import urllib.request
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from django.test import Client
from graphql import build_schema, parse, validate
from graphql_relay import to_global_id

from tests.live_server import (
    ARTIFACTS_DIR,
    BASE_DIR,
    needs_browser,
    require_browser,
    run_node,
    set_server_password,
)

pytest_plugins = ["tests.live_server"]
pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "graphiql-staff-password"
STAFF_ONLY_SENTENCE = (
    "This server only shows its schema to staff: sign in as staff (the SignIn tab shows how) "
    "to browse the Docs."
)
# The page's example tabs, in order: their operations name them.
TAB_TITLES = ["CatalogPage", "SignIn", "ProductUpdated"]


def in_browser(test):
    for mark in (pytest.mark.node, pytest.mark.browser, needs_browser):
        test = mark(test)
    return test


class _Scripts(HTMLParser):
    """The page's <script> elements: their attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._open = {"attrs": dict(attrs), "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._open is not None:
            self.scripts.append(self._open)
            self._open = None


def example_tabs(html: str) -> list[dict]:
    """The editor's tabs as the page carries them (what GraphiQL gets as `defaultTabs`): each
    {"id", "query", "variables"}, the variables parsed (None without)."""
    parser = _Scripts()
    parser.feed(html)
    by_id = {script["attrs"].get("id"): script for script in parser.scripts}
    tabs = []
    for script in parser.scripts:
        if "data-vitrine-tab" not in script["attrs"]:
            continue
        assert script["attrs"]["type"] == "application/graphql", script["attrs"]
        variables_id = script["attrs"].get("data-variables")
        variables = None
        if variables_id:
            assert by_id[variables_id]["attrs"]["type"] == "application/json"
            variables = json.loads(by_id[variables_id]["text"])
        tabs.append({"id": script["attrs"]["id"], "query": script["text"].strip() + "\n",
                     "variables": variables})
    return tabs


def leading_comment(document: str) -> str:
    """The comment lines before a document's operation, without their "# "."""
    lines = []
    for line in document.splitlines():
        if line and not line.startswith("#"):
            break
        lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    return "\n".join(lines)


def server_schema():
    from schema.schema import schema

    return schema.graphql_schema


def product_fields() -> list[str]:
    return list(server_schema().type_map["Product"].fields)


def sign_in(server, username: str, password: str) -> str:
    body = json.dumps({
        "query": "mutation SignIn($input: TokenAuthInput!) { tokenAuth(input: $input) { token } }",
        "variables": {"input": {"username": username, "password": password}},
    }).encode()
    request = urllib.request.Request(server.graphql_url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json",
    })
    with urllib.request.urlopen(request, timeout=30) as response:
        result = json.loads(response.read())
    assert "errors" not in result, result
    return result["data"]["tokenAuth"]["token"]


def open_graphiql(server, name: str, steps: list[dict], timeout: float = 60,
                  fragment: str = "") -> dict:
    """Open GraphiQL (at /graphql/ + `fragment`) and take `steps`: graphiql.mjs's report."""
    chromium = require_browser()
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    screenshot = ARTIFACTS_DIR / f"graphiql-{name}.png"
    screenshot.unlink(missing_ok=True)
    report = run_node("graphiql.mjs", server, timeout=timeout, env={
        "CHROMIUM_PATH": chromium, "SCREENSHOT": str(screenshot), "STEPS": json.dumps(steps),
        "FRAGMENT": fragment,
    })
    assert_clean_page(report)
    failed = [step for step in report["steps"] if "error" in step]
    assert not failed, f"a step failed: {failed}"
    assert screenshot.stat().st_size > 10_000
    return report


def assert_clean_page(report: dict) -> None:
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


def assert_opens_on_the_default_document(report: dict) -> None:
    """The catalog page query, in the first of the three example tabs GraphiQL shows."""
    opened = report["opened"]
    assert opened["editorText"] == opened["defaultQuery"].strip() + "\n"
    assert "query CatalogPage {" in opened["editorText"]
    assert [tab["id"] for tab in opened["exampleTabs"]] == [
        "vitrine-default-query", "vitrine-sign-in-tab", "vitrine-subscription-tab",
    ]
    assert opened["tabs"] == [{"title": title, "active": title == "CatalogPage"}
                              for title in TAB_TITLES]


def assert_on_tab(step: dict, report: dict, title: str) -> None:
    """A tab step that switched to `title`: the editor holds that tab's document."""
    assert step["tabs"] == [{"title": t, "active": t == title} for t in TAB_TITLES]
    tab = report["opened"]["exampleTabs"][TAB_TITLES.index(title)]
    assert step["editorText"] == tab["query"].strip() + "\n"
    assert (json.loads(step["variablesText"]) if step["variablesText"] else None) == (
        json.loads(tab["variables"]) if tab["variables"] else None
    )


def assert_docs_list_product(step: dict) -> None:
    """A docs step that opened `Product` from the Docs' first page."""
    first, product = step["pages"]
    assert first["title"] == "Docs"
    assert "Root Types" in first["text"]
    assert first["typeLinks"][:3] == ["Query", "Mutation", "Subscription"]
    assert "Product" in first["typeLinks"]
    assert product["title"] == "Product"
    # Every field, in the schema's order: the Docs show what the server runs.
    assert product["fields"] == product_fields()
    assert {"name", "price", "reviews"} <= set(product["fields"])
    assert "Published and in stock." in product["text"]  # a field description


def assert_shows_products(step: dict, names: list[str], hidden: tuple[str, ...] = ()) -> None:
    """A run step that ran the untouched default document and shows `names`."""
    assert step["request"]["operationName"] == "CatalogPage"
    assert step["request"]["query"] == step["editorText"]
    assert "query CatalogPage {" in step["request"]["query"]
    assert step["status"] == 200
    assert "errors" not in step["body"], step["body"]
    shown = json.loads(step["resultText"])
    assert shown["data"] == step["body"]["data"]
    products = shown["data"]["products"]
    assert [edge["node"]["name"] for edge in products["edges"]] == names
    assert products["totalCount"] == len(names)
    # The pane draws the lines in view: the first product's are.
    assert names[0] in step["visibleResult"]
    for name in hidden:
        assert name not in step["resultText"]


def assert_no_schema_error(state: dict) -> None:
    assert not state["showsErrorFetchingSchema"]
    assert not state["showsIntrospectionDisabled"]


def catalog_names(catalog, *, staff: bool) -> list[str]:
    """The catalog page's products as a viewer sees them, in the catalog's default order."""
    from products.models import Product

    products = Product.objects.all() if staff else Product.objects.filter(is_published=True)
    return [product.name for product in products]


# -- The default document -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_example_tabs_are_valid_and_the_catalog_page_runs_anonymously(catalog, users):
    """What the page carries (no browser): three example tabs, each valid against the committed
    schema.graphql. The first, the catalog page query, is answered without errors for an
    anonymous visitor; the second signs in once its variables hold a username and password, and
    says how to send the token; the third subscribes to productUpdated."""
    http = Client()
    page = http.get("/graphql/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    tabs = example_tabs(page.content.decode())
    assert [tab["id"] for tab in tabs] == [
        "vitrine-default-query", "vitrine-sign-in-tab", "vitrine-subscription-tab",
    ]
    catalog_tab, sign_in_tab, subscription_tab = tabs

    contract = build_schema((BASE_DIR / "schema.graphql").read_text())
    for tab, title in zip(tabs, TAB_TITLES, strict=True):
        document = parse(tab["query"])
        operation, = document.definitions
        assert operation.name.value == title  # GraphiQL titles a tab with its operation's name
        assert validate(contract, document) == [], tab["id"]
        assert leading_comment(tab["query"]).strip(), f"{tab['id']} explains itself"

    document = catalog_tab["query"]
    assert catalog_tab["variables"] is None
    answer = http.post("/graphql/", {"query": document}, content_type="application/json").json()
    assert "errors" not in answer, answer["errors"]
    products = answer["data"]["products"]
    assert [e["node"]["name"] for e in products["edges"]] == catalog_names(catalog, staff=False)
    cans = next(e["node"] for e in products["edges"] if e["node"]["name"] == "Studio Headphones")
    assert cans["category"] == {"name": "Headphones"}
    assert cans["images"][0]["altText"] == "Cans"
    assert {r["node"]["author"]["username"] for r in cans["reviews"]["edges"]} == {
        "other", "staff",
    }
    comment = leading_comment(document)
    assert "SignIn" in comment and "ProductUpdated" in comment  # it points at the other tabs

    # SignIn: tokenAuth with the variables to fill in; the comment shows the header to send.
    assert "tokenAuth(input: $input)" in sign_in_tab["query"]
    variables = sign_in_tab["variables"]
    assert variables == {"input": {"username": "", "password": "", "cookie": False}}
    assert set(variables["input"]) <= set(contract.type_map["TokenAuthInput"].fields)
    comment = leading_comment(sign_in_tab["query"])
    header_example, = [line.strip() for line in comment.splitlines() if "Authorization" in line]
    assert json.loads(header_example) == {"Authorization": "Bearer <token>"}
    assert "Headers pane" in comment and '"cookie"' in comment
    filled_in = {"input": {**variables["input"], "username": "staff", "password": "pw"}}
    answer = http.post("/graphql/", {"query": sign_in_tab["query"], "variables": filled_in},
                       content_type="application/json").json()
    assert "errors" not in answer, answer["errors"]
    signed_in = answer["data"]["tokenAuth"]
    assert signed_in["errors"] == [] and signed_in["token"]
    assert signed_in["user"] == {"username": "staff"}
    staff_page = http.post("/graphql/", {"query": document}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {signed_in['token']}").json()
    assert [e["node"]["name"] for e in staff_page["data"]["products"]["edges"]] == catalog_names(
        catalog, staff=True)

    # ProductUpdated: runs as is (no variables); the comment says how to narrow it to one.
    assert subscription_tab["variables"] is None
    root, = parse(subscription_tab["query"]).definitions[0].selection_set.selections
    assert root.name.value == "productUpdated"
    assert '{"id": ' in leading_comment(subscription_tab["query"])


# -- Docs and the default document in the browser -----------------------------------------


@in_browser
def test_development_graphiql_shows_the_docs_and_runs_its_default_document(
    asgi_server_with, catalog, users
):
    """DEBUG=1: the Docs, the catalog page tab run untouched, then the other tabs as a visitor
    finds them; SignIn, with a username and password typed into its Variables pane, signs in."""
    server = asgi_server_with(DEBUG="1")
    staff = users["staff"]
    set_server_password(staff, PASSWORD)
    report = open_graphiql(server, "development", [
        {"do": "docs", "open": ["Product"]},
        {"do": "run"},
        {"do": "tab", "title": "SignIn"},
        {"do": "variables", "text": json.dumps(
            {"input": {"username": staff.username, "password": PASSWORD, "cookie": False}})},
        {"do": "run"},
        {"do": "tab", "title": "ProductUpdated"},
        {"do": "tab", "title": "CatalogPage"},
    ])

    assert_opens_on_the_default_document(report)
    assert report["opened"]["notice"] is None
    docs, ran, sign_in_tab, _, signed_in, subscription_tab, back = report["steps"]
    assert_docs_list_product(docs)
    assert_shows_products(ran, catalog_names(catalog, staff=False), hidden=("Secret Prototype",))

    assert_on_tab(sign_in_tab, report, "SignIn")
    assert "mutation SignIn($input: TokenAuthInput!)" in sign_in_tab["editorText"]
    assert signed_in["request"]["operationName"] == "SignIn"
    assert signed_in["status"] == 200 and "errors" not in signed_in["body"], signed_in["body"]
    token_auth = json.loads(signed_in["resultText"])["data"]["tokenAuth"]
    assert token_auth["errors"] == [] and token_auth["token"]
    assert token_auth["user"] == {"username": staff.username}
    assert_on_tab(subscription_tab, report, "ProductUpdated")
    assert "subscription ProductUpdated($id: ID)" in subscription_tab["editorText"]
    assert_on_tab(back, report, "CatalogPage")
    for state in (report["opened"], *report["steps"]):
        assert_no_schema_error(state)
    assert [i["codes"] for i in report["introspections"]] == [[]]
    assert report["sockets"] == [], "a query runs over HTTP, not the websocket"


@in_browser
def test_production_graphiql_for_anonymous_visitors_and_for_staff(asgi_server, catalog, users):
    """DEBUG off, the default policy: anonymous visitors get the Docs and the catalog; a staff
    JWT typed into the Headers pane is sent with the schema request (GraphiQL's re-fetch
    button) and with the default document, which then shows the draft too."""
    staff = users["staff"]
    set_server_password(staff, PASSWORD)
    token = sign_in(asgi_server, staff.username, PASSWORD)

    report = open_graphiql(asgi_server, "production", [
        {"do": "docs", "open": ["Product"]},
        {"do": "run"},
        {"do": "headers", "text": json.dumps({"Authorization": f"Bearer {token}"})},
        {"do": "refetchSchema"},
        {"do": "docs", "open": ["Product"]},
        {"do": "run"},
    ])

    assert_opens_on_the_default_document(report)
    anonymous_docs, anonymous_run, headers, refetch, staff_docs, staff_run = report["steps"]
    assert_docs_list_product(anonymous_docs)
    assert anonymous_run["request"]["authorization"] is None
    assert_shows_products(anonymous_run, catalog_names(catalog, staff=False),
                          hidden=("Secret Prototype",))

    assert json.loads(headers["headersText"]) == {"Authorization": f"Bearer {token}"}
    assert refetch["introspection"] == {"status": 200, "done": True,
                                        "authorization": f"Bearer {token}", "codes": [],
                                        "hasSchema": True}
    assert_docs_list_product(staff_docs)
    assert staff_run["request"]["authorization"] == f"Bearer {token}"
    assert_shows_products(staff_run, catalog_names(catalog, staff=True))
    assert "Secret Prototype" in staff_run["resultText"]
    for state in (report["opened"], *report["steps"]):
        assert state["notice"] is None
        assert_no_schema_error(state)


@in_browser
def test_staff_only_introspection_is_one_sentence_and_signing_in_loads_the_docs(
    asgi_server_with, catalog, users
):
    """GRAPHQL_INTROSPECTION=staff, anonymous: the page says why there are no Docs instead of
    GraphiQL's "Error fetching schema" (and no refusal in the result pane); the default
    document still runs. Signing in as the comment says (a Bearer token in the Headers pane)
    and pressing "Load the Docs" brings the Docs."""
    server = asgi_server_with(GRAPHQL_INTROSPECTION="staff")
    staff = users["staff"]
    set_server_password(staff, PASSWORD)
    token = sign_in(server, staff.username, PASSWORD)

    report = open_graphiql(server, "staff-only", [
        {"do": "docs"},
        {"do": "run"},
        {"do": "headers", "text": json.dumps({"Authorization": f"Bearer {token}"})},
        {"do": "loadDocs"},
        {"do": "docs", "open": ["Product"]},
    ])

    opened = report["opened"]
    assert_opens_on_the_default_document(report)
    assert opened["notice"] == STAFF_ONLY_SENTENCE
    assert opened["loadDocsButton"]
    assert_no_schema_error(opened)
    refused = report["introspections"][0]
    assert (refused["authorization"], refused["codes"]) == (None, ["INTROSPECTION_DISABLED"])

    no_docs, ran, _, load_docs, docs = report["steps"]
    assert no_docs["pages"] == [{"title": "Docs", "text": "No GraphQL schema available",
                                 "fields": [], "typeLinks": []}]
    assert no_docs["notice"] == STAFF_ONLY_SENTENCE
    assert_no_schema_error(no_docs)
    # Queries run without the schema; the result pane holds their result, not the refusal.
    assert ran["notice"] == STAFF_ONLY_SENTENCE
    assert_no_schema_error(ran)
    assert_shows_products(ran, catalog_names(catalog, staff=False), hidden=("Secret Prototype",))

    assert load_docs["introspection"]["authorization"] == f"Bearer {token}"
    assert load_docs["introspection"]["hasSchema"]
    assert load_docs["notice"] is None and not load_docs["loadDocsButton"]
    assert_docs_list_product(docs)
    assert_no_schema_error(docs)


@in_browser
def test_a_link_with_a_query_opens_on_it_before_the_example_tabs(asgi_server, catalog):
    """A shared link (#query=...&variables=..., graphene-django's URL parameters) opens on its
    query, with its variables, in a first tab; the three example tabs follow it."""
    shared = "query Shared($first: Int) { products(first: $first) { edges { node { name } } } }"
    variables = '{"first": 1}'
    report = open_graphiql(asgi_server, "shared-link", [
        {"do": "run"},
        {"do": "tab", "title": "SignIn"},
    ], fragment=f"#query={quote(shared)}&variables={quote(variables)}")

    opened = report["opened"]
    assert opened["editorText"] == shared
    assert opened["tabs"] == [{"title": title, "active": title == "Shared"}
                              for title in ["Shared", *TAB_TITLES]]
    ran, sign_in_tab = report["steps"]
    assert ran["request"]["operationName"] == "Shared"
    # With the link's variables: one product.
    assert json.loads(ran["resultText"])["data"] == {"products": {"edges": [
        {"node": {"name": catalog_names(catalog, staff=False)[0]}},
    ]}}
    assert [tab["active"] for tab in sign_in_tab["tabs"]] == [False, False, True, False]
    assert sign_in_tab["editorText"] == opened["exampleTabs"][1]["query"].strip() + "\n"


# -- Subscriptions ------------------------------------------------------------------------

SUBSCRIPTION = "subscription { productUpdated { name } }"


@in_browser
def test_graphiql_shows_a_live_subscription_event(asgi_server, catalog, users):
    """`subscription { productUpdated { name } }` typed into GraphiQL runs over the page's
    websocket (graphql-ws, anonymous, Origin of the page); another client renames a product
    with updateProduct over HTTP (JWT from tokenAuth), so the server process publishes the
    event, and the result pane shows it. Screenshot: test-artifacts/graphiql-subscription.png.
    """
    staff = users["staff"]
    set_server_password(staff, PASSWORD)
    cans = catalog["products"]["cans"]

    report = open_graphiql(asgi_server, "subscription", [
        {"do": "type", "query": SUBSCRIPTION},
        {"do": "live", "productId": to_global_id("Product", cans.pk),
         "username": staff.username, "password": PASSWORD, "name": "Live from GraphiQL"},
    ], timeout=90)

    typed, live = report["steps"]
    assert typed["editorText"] == SUBSCRIPTION
    for mutation in live["mutations"]:
        assert mutation["status"] == 200, mutation
        assert mutation["body"]["data"]["updateProduct"]["errors"] == [], mutation
    shown = live["shownName"]
    assert shown is not None, f"no event reached the result pane: {live['resultText']!r}"
    # The event is the mutation's rename, shown as GraphiQL shows any result.
    pane = json.loads(live["resultText"])
    assert pane["data"] == {"productUpdated": {"name": shown}}
    assert isinstance(pane["extensions"]["eventId"], int)  # what a client dedupes by
    assert shown in live["visibleResult"]
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
    assert events[-1]["payload"]["data"] == {"productUpdated": {"name": shown}}


@in_browser
def test_the_subscription_tab_run_untouched_shows_a_live_event(asgi_server, catalog, users):
    """The ProductUpdated tab, run as the page offers it (no variables), shows the event of an
    updateProduct made by another client: the product's new state, every field it selects."""
    staff = users["staff"]
    set_server_password(staff, PASSWORD)
    cans = catalog["products"]["cans"]
    product_id = to_global_id("Product", cans.pk)

    report = open_graphiql(asgi_server, "subscription-tab", [
        {"do": "tab", "title": "ProductUpdated"},
        {"do": "live", "productId": product_id, "username": staff.username,
         "password": PASSWORD, "name": "Live from the tab"},
    ], timeout=90)

    assert_opens_on_the_default_document(report)
    tab, live = report["steps"]
    assert_on_tab(tab, report, "ProductUpdated")
    shown = live["shownName"]
    assert shown is not None, f"no event reached the result pane: {live['resultText']!r}"
    event = json.loads(live["resultText"])["data"]["productUpdated"]
    assert (event["id"], event["name"]) == (product_id, shown)
    assert set(event) == {"id", "name", "price", "stock", "isAvailable", "updatedAt"}
    assert (event["price"], event["stock"], event["isAvailable"]) == ("199.00", 5, True)

    socket, = report["sockets"]
    subscribe, = [m for m in map(json.loads, socket["sent"]) if m["type"] == "subscribe"]
    assert subscribe["payload"]["query"] == tab["editorText"]
    assert subscribe["payload"].get("operationName") == "ProductUpdated"
