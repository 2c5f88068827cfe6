"""Hostile requests: each gets a coded error, quickly, and never a 500."""
from __future__ import annotations

import json
import time

import pytest
from django.test import Client, override_settings

# A guard against pathological (quadratic, exponential) handling, not a benchmark: generous
# enough for a loaded CI machine, far below what the unguarded inputs would take.
QUICK_SECONDS = 5.0


@pytest.fixture(autouse=True)
def _warm(db):
    """The first request of a process imports and builds a lot: time the later ones."""
    Client().post("/graphql/", {"query": "{ __typename }"}, content_type="application/json")


def send(body: bytes | str, content_type: str = "application/json", **extra):
    started = time.perf_counter()
    response = Client().post("/graphql/", body, content_type=content_type, **extra)
    elapsed = time.perf_counter() - started
    return response, elapsed


def assert_coded(response, elapsed: float, *codes: str, status: int | None = None) -> dict:
    assert response.status_code != 500, response.content[:300]
    assert response.status_code < 500
    if status is not None:
        assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/"), response["Content-Type"]
    body = json.loads(response.content)
    found = [error["extensions"]["code"] for error in body["errors"]]
    assert found and set(found) <= set(codes), body
    assert elapsed < QUICK_SECONDS, f"took {elapsed:.2f}s"
    return body


def graphql(query: str, variables: dict | None = None) -> str:
    return json.dumps({"query": query, "variables": variables or {}})


# -- Documents ------------------------------------------------------------------------------


def test_deeply_nested_fragments(db):
    fragments = [f"fragment F{i} on Category {{ parent {{ ...F{i + 1} }} }}" for i in range(60)]
    fragments.append("fragment F60 on Category { name }")
    query = '{ category(slug: "a") { ...F0 } } ' + " ".join(fragments)
    assert_coded(*send(graphql(query)), "MAX_DEPTH_EXCEEDED")


def test_a_long_chain_of_fragment_spreads_without_fields(db):
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(300)]
    fragments.append("fragment F300 on Query { __typename }")
    query = "{ ...F0 } " + " ".join(fragments)
    with override_settings(GRAPHQL_MAX_TOKENS=10_000, GRAPHQL_MAX_DOCUMENT_BYTES=100_000):
        response, elapsed = send(graphql(query))
    assert response.status_code < 500
    assert elapsed < QUICK_SECONDS


def test_fragment_cycles(db):
    query = """{ ...A }
        fragment A on Query { categories { name } ...B }
        fragment B on Query { ...A }"""
    assert_coded(*send(graphql(query)), "GRAPHQL_VALIDATION_FAILED")


def test_a_fragment_bomb_is_refused_by_cost(db):
    # Each level doubles 30 times: 30^9 fields if it ran.
    fragments = []
    for level in range(8):
        fields = " ".join(f"a{i}: parent {{ ...F{level + 1} }}" for i in range(30))
        fragments.append(f"fragment F{level} on Category {{ {fields} }}")
    fragments.append("fragment F8 on Category { name }")
    query = '{ category(slug: "a") { ...F0 } } ' + " ".join(fragments)
    with override_settings(GRAPHQL_MAX_TOKENS=10_000):
        body = assert_coded(*send(graphql(query)), "MAX_COST_EXCEEDED")
    assert body["errors"][0]["extensions"]["cost"] > 30**8


def test_ten_thousand_aliases(db):
    query = "{ %s }" % " ".join(f"a{i}: __typename" for i in range(10_000))
    assert_coded(*send(graphql(query)), "DOCUMENT_TOO_LARGE", "MAX_TOKENS_EXCEEDED")


# With the size limits raised, the alias and width checks refuse before validation (whose
# overlapping-fields rule is quadratic). Parsing itself costs ~50 µs a token in graphql-core:
# that is what GRAPHQL_MAX_TOKENS bounds.


def test_thousands_of_aliases_with_size_limits_raised(db):
    query = "{ %s }" % " ".join(f"a{i}: __typename" for i in range(2_000))
    with override_settings(GRAPHQL_MAX_TOKENS=10_000, GRAPHQL_MAX_DOCUMENT_BYTES=100_000):
        assert_coded(*send(graphql(query)), "MAX_ALIASES_EXCEEDED")


def test_thousands_of_identical_fields(db):
    query = "{ %s }" % " ".join(["__typename"] * 3_000)
    with override_settings(GRAPHQL_MAX_TOKENS=10_000, GRAPHQL_MAX_DOCUMENT_BYTES=100_000):
        assert_coded(*send(graphql(query)), "MAX_FIELDS_EXCEEDED")


def test_brace_nesting_beyond_the_parser(db):
    query = "{" + "a{" * 1000 + "b" + "}" * 1001
    with override_settings(GRAPHQL_MAX_TOKENS=100_000, GRAPHQL_MAX_DOCUMENT_BYTES=1_000_000):
        assert_coded(
            *send(graphql(query)), "GRAPHQL_PARSE_FAILED", "MAX_DEPTH_EXCEEDED"
        )


def test_a_huge_string_literal(db):
    query = '{ category(slug: "%s") { name } }' % ("x" * 1_000_000)
    assert_coded(*send(graphql(query)), "DOCUMENT_TOO_LARGE")


def test_a_huge_string_variable(db):
    body = graphql("query ($s: String) { category(slug: $s) { name } }", {"s": "x" * 1_000_000})
    assert_coded(*send(body), "VARIABLES_TOO_LARGE")


def test_deeply_nested_json_variables(db):
    nested = "[" * 100_000 + "]" * 100_000
    body = '{"query": "{ __typename }", "variables": {"v": %s}}' % nested
    assert_coded(*send(body), "BAD_REQUEST", status=400)


# -- Bodies ---------------------------------------------------------------------------------


def test_invalid_utf8(db):
    assert_coded(*send(b'{"query": "{ __typename \xff\xfe }"}'), "BAD_REQUEST", status=400)


def test_invalid_utf8_as_application_graphql(db):
    assert_coded(*send(b"{ __typename \xff }", "application/graphql"), "BAD_REQUEST",
                 status=400)


@pytest.mark.parametrize("body", ["not json", "[]", '"a string"', "{", "null", " "])
def test_non_json_bodies(db, body):
    assert_coded(*send(body), "BAD_REQUEST", status=400)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_types(db, content_type):
    response, elapsed = send(graphql("{ __typename }"), content_type)
    assert_coded(response, elapsed, "BAD_REQUEST", status=415)


@pytest.mark.parametrize(
    "body",
    [
        {"query": 123},
        {"query": ["{ __typename }"]},
        {"query": "{ __typename }", "variables": [1]},
        {"query": "{ __typename }", "operationName": 5},
        {"query": "{ __typename }", "extensions": "nope"},
    ],
)
def test_parameters_of_the_wrong_type(db, body):
    assert_coded(*send(json.dumps(body)), "BAD_REQUEST", status=400)


def test_a_ten_megabyte_body(db):
    body = graphql("{ __typename }", {"pad": "x" * (10 * 1024 * 1024)})
    body = assert_coded(*send(body), "REQUEST_TOO_LARGE", status=413)
    assert body["errors"][0]["extensions"]["limit"] == 2_621_440


def test_a_ten_megabyte_body_with_a_lying_content_length(db):
    body = graphql("{ __typename }", {"pad": "x" * (10 * 1024 * 1024)})
    response, elapsed = send(body, CONTENT_LENGTH="100")
    # Django reads only what Content-Length announces: a truncated, invalid JSON body.
    assert_coded(response, elapsed, "BAD_REQUEST", status=400)
