"""GraphQL over HTTP, proven against the real server.

`graphql-http`'s audit suite (tests/clients/http-audit.mjs) runs against uvicorn: every MUST
passes, and so does every SHOULD except those listed in ALLOWED_SHOULD_FAILURES, each with its
reason, and in docs/http.md. Below it, our own rules on top of the spec: error bodies
keep `extensions.code`, and the two media types answer request errors differently.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections import Counter

import pytest

from tests.live_server import CLIENTS_DIR, needs_node_clients, run_node

pytest_plugins = ["tests.live_server"]
# The server needs the test database; these tests write nothing.
pytestmark = [pytest.mark.node, needs_node_clients, pytest.mark.django_db]

# SHOULD audits we knowingly fail: {audit id: reason}. Each also goes in docs/http.md.
ALLOWED_SHOULD_FAILURES: dict[str, str] = {}

GRAPHQL_RESPONSE = "application/graphql-response+json"


def describe(results: list[dict]) -> str:
    return "\n".join(
        f"{r['id']} {r['status']}: {r['name']}\n    {r['reason']}\n    {r['response']}"
        for r in results
    )


def test_graphql_over_http_audit(asgi_server):
    report = run_node("http-audit.mjs", asgi_server)
    results = report["results"]
    assert len(results) >= 40, f"the audit suite shrank to {len(results)} audits"
    by_level = Counter((r["name"].split()[0], r["status"]) for r in results)
    print("graphql-http audit:", dict(sorted(by_level.items())))

    failed_musts = [r for r in results if r["name"].startswith("MUST") and r["status"] != "ok"]
    assert not failed_musts, "MUST audits failed:\n" + describe(failed_musts)

    failed_shoulds = [r for r in results if r["name"].startswith("SHOULD") and r["status"] != "ok"]
    unexpected = [r for r in failed_shoulds if r["id"] not in ALLOWED_SHOULD_FAILURES]
    assert not unexpected, "SHOULD audits failed:\n" + describe(unexpected)
    stale = set(ALLOWED_SHOULD_FAILURES) - {r["id"] for r in failed_shoulds}
    assert not stale, f"these SHOULD audits pass now: remove them from the allowed list: {stale}"

    server_errors = [e for e in report["exchanges"] if e["status"] >= 500]
    assert not server_errors, server_errors


def test_allowed_should_failures_are_documented():
    manual = (CLIENTS_DIR.parent.parent / "docs" / "http.md").read_text()
    section = manual.split("SHOULD audits we do not pass", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `?([0-9A-Z]{4})`? \|", section, flags=re.M))
    assert documented == set(ALLOWED_SHOULD_FAILURES), (
        "docs/http.md and ALLOWED_SHOULD_FAILURES must list the same audits"
    )


# -- Our rules over HTTP -------------------------------------------------------------------


def request(server, *, method="POST", body=None, accept=None, content_type="application/json",
            query_string=""):
    headers = {}
    if accept is not None:
        headers["Accept"] = accept
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        if content_type:
            headers["Content-Type"] = content_type
    http_request = urllib.request.Request(
        server.graphql_url + query_string, data=data, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(http_request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def json_request(server, **kwargs):
    status, content_type, body = request(server, **kwargs)
    return status, content_type, json.loads(body)


def codes(result: dict) -> list[str]:
    return [error["extensions"]["code"] for error in result["errors"]]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        ("query ($n: Int!) { popularProducts(first: $n) { name } }", "BAD_USER_INPUT"),
    ],
)
def test_request_errors_by_media_type(asgi_server, query, code):
    """application/json: 200 (legacy rule); graphql-response+json: 400. Never a data entry."""
    body = {"query": query, "variables": {"n": "ten"}}
    status, content_type, result = json_request(asgi_server, body=body,
                                                accept="application/json")
    assert (status, content_type) == (200, "application/json; charset=utf-8")
    assert codes(result) == [code] and "data" not in result

    status, content_type, result = json_request(asgi_server, body=body, accept=GRAPHQL_RESPONSE)
    assert (status, content_type) == (400, f"{GRAPHQL_RESPONSE}; charset=utf-8")
    assert codes(result) == [code] and "data" not in result


def test_field_errors_keep_data_and_status_200(asgi_server):
    body = {"query": '{ product(id: "bad") { name } }'}
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        status, _, result = json_request(asgi_server, body=body, accept=accept)
        assert status == 200
        assert result["data"] == {"product": None}
        assert codes(result) == ["BAD_USER_INPUT"]
        assert result["errors"][0]["path"] == ["product"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
        (f"{GRAPHQL_RESPONSE}, */*;q=0.1", GRAPHQL_RESPONSE),
        ("application/json, multipart/mixed", "application/json"),  # GraphiQL's fetcher
    ],
)
def test_accept_negotiation(asgi_server, accept, expected):
    status, content_type, result = json_request(
        asgi_server, body={"query": "{ __typename }"}, accept=accept
    )
    assert status == 200 and result["data"] == {"__typename": "Query"}
    assert content_type == f"{expected}; charset=utf-8"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"body": {"query": "{ __typename }"}, "accept": "text/plain"}, 406),
        ({"body": "query={__typename}", "content_type": "application/x-www-form-urlencoded"},
         415),
        ({"body": '{"query": "{ __typename }"}', "content_type": "text/plain"}, 415),
        ({"body": '{"query": "{ __typename }"}', "content_type": None}, 415),
        ({"body": '{"query": "{ __typename }"}',
          "content_type": "application/json; charset=latin-1"}, 415),
        ({"body": "", "accept": GRAPHQL_RESPONSE}, 400),
        ({"body": '{"query": ', "accept": "application/json"}, 400),
        ({"body": "[" * 100_000 + "]" * 100_000}, 400),
        ({"body": ["{ __typename }"]}, 400),
        ({"body": {"query": 1}}, 400),
        ({"body": {"query": "{ __typename }", "variables": "{}"}}, 400),
        ({"body": {"query": "{ __typename }", "operationName": 1}}, 400),
        ({"body": {"query": "{ __typename }", "extensions": []}}, 400),
        ({"method": "GET", "query_string": "?query=mutation%20%7B__typename%7D"}, 405),
        ({"method": "GET", "query_string": "?query=%7B__typename%7D&variables=%5B%5D"}, 400),
        ({"method": "PUT", "body": {"query": "{ __typename }"}}, 405),
    ],
    ids=[
        "accepts-nothing-we-serve", "form-post", "text-plain", "no-content-type",
        "latin-1", "empty-body", "bad-json", "deep-json", "json-array", "query-not-string",
        "variables-not-map", "operation-name-not-string", "extensions-not-map",
        "get-mutation", "get-variables-not-map", "put",
    ],
)
def test_malformed_requests_get_4xx_with_a_coded_error(asgi_server, kwargs, status):
    got_status, content_type, body = request(asgi_server, **kwargs)
    assert got_status == status, body[:300]
    assert content_type.endswith("json; charset=utf-8")
    result = json.loads(body)
    assert codes(result) == ["BAD_REQUEST"] and "data" not in result


def test_get_queries_and_graphiql(asgi_server):
    status, _, result = json_request(
        asgi_server, method="GET", accept=GRAPHQL_RESPONSE,
        query_string="?query=query%20T(%24n%3A%20String!)%7B__type(name%3A%24n)%7Bname%7D%7D"
                     "&variables=%7B%22n%22%3A%22Product%22%7D&operationName=T",
    )
    assert (status, result["data"]) == (200, {"__type": {"name": "Product"}})

    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    status, content_type, page = request(asgi_server, method="GET", accept=browser_accept)
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert b"graphiql" in page
