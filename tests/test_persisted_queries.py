"""Automatic persisted queries (Apollo's protocol) and the allow-list mode."""
from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client, override_settings

from tests.conftest import error_codes
from tests.ws_live import TRANSPORT, WsClient, async_test

QUERY = "query Roots { categories { name } }"
OTHER = "{ categories { slug } }"


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(hash_: str, version: int = 1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": hash_}}


def post(body: dict):
    response = Client().post("/graphql/", body, content_type="application/json")
    return response.status_code, response.json()


def get(params: dict):
    params = {key: json.dumps(value) if isinstance(value, dict) else value
              for key, value in params.items()}
    response = Client().get("/graphql/", params, HTTP_ACCEPT="application/json")
    return response.status_code, response.json()


ROOTS = {"categories": [{"name": "Books"}, {"name": "Electronics"}]}


def sorted_roots(result: dict) -> dict:
    return {"categories": sorted(result["data"]["categories"], key=lambda c: c["name"])}


def test_an_unknown_hash_is_not_found(catalog, django_assert_num_queries):
    with django_assert_num_queries(0):
        _status, result = post({"extensions": persisted(sha256(QUERY))})
    assert error_codes(result) == ["PERSISTED_QUERY_NOT_FOUND"]
    # The message Apollo's link looks for.
    assert result["errors"][0]["message"] == "PersistedQueryNotFound"


def test_sending_the_query_with_its_hash_registers_it(catalog):
    status, result = post({"query": QUERY, "extensions": persisted(sha256(QUERY))})
    assert status == 200 and sorted_roots(result) == ROOTS
    status, result = post({"extensions": persisted(sha256(QUERY))})
    assert status == 200 and sorted_roots(result) == ROOTS
    assert result["extensions"]["cost"]["requestedQueryCost"] == 5


def test_persisted_queries_work_over_get(catalog):
    post({"query": QUERY, "extensions": persisted(sha256(QUERY))})
    status, result = get({"extensions": persisted(sha256(QUERY)), "operationName": "Roots"})
    assert status == 200 and sorted_roots(result) == ROOTS


def test_get_with_an_unknown_hash_is_not_found(catalog):
    _status, result = get({"extensions": persisted(sha256(OTHER))})
    assert error_codes(result) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_a_hash_that_does_not_match_the_query_is_refused(catalog):
    status, result = post({"query": QUERY, "extensions": persisted(sha256(OTHER))})
    assert status == 400
    assert error_codes(result) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    # Nothing was registered under either hash.
    assert error_codes(post({"extensions": persisted(sha256(OTHER))})[1]) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]


@pytest.mark.parametrize(
    "extensions",
    [
        persisted(sha256(QUERY), version=2),
        {"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}},
        {"persistedQuery": "yes"},
    ],
)
def test_malformed_persisted_query_extensions_are_bad_requests(catalog, extensions):
    status, result = post({"extensions": extensions})
    assert status == 400
    assert error_codes(result)[0] in ("PERSISTED_QUERY_NOT_SUPPORTED", "BAD_REQUEST")


def test_an_invalid_document_is_not_registered(catalog):
    bad = "{ categories { noSuchField } }"
    _status, result = post({"query": bad, "extensions": persisted(sha256(bad))})
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert error_codes(post({"extensions": persisted(sha256(bad))})[1]) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]


@override_settings(GRAPHQL_APQ_ENABLED=False)
def test_apq_can_be_turned_off(catalog):
    post({"query": QUERY, "extensions": persisted(sha256(QUERY))})
    assert error_codes(post({"extensions": persisted(sha256(QUERY))})[1]) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]


# -- Allow-list mode ------------------------------------------------------------------------


@pytest.fixture(params=["map", "manifest", "list"])
def allow_list(request, tmp_path):
    path = tmp_path / "persisted-queries.json"
    if request.param == "map":
        content = {sha256(QUERY): QUERY}
    elif request.param == "manifest":
        content = {"format": "apollo-persisted-query-manifest", "version": 1,
                   "operations": [{"id": sha256(QUERY), "name": "Roots", "type": "query",
                                   "body": QUERY}]}
    else:
        content = [QUERY]
    path.write_text(json.dumps(content))
    with override_settings(GRAPHQL_PERSISTED_QUERIES_ONLY=True,
                           GRAPHQL_PERSISTED_QUERIES_FILE=str(path)):
        yield path


def test_allow_listed_documents_run_by_hash_or_by_text(catalog, allow_list):
    _status, result = post({"extensions": persisted(sha256(QUERY))})
    assert sorted_roots(result) == ROOTS
    _status, result = post({"query": QUERY})
    assert sorted_roots(result) == ROOTS


def test_other_documents_are_not_allowed(catalog, allow_list, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert error_codes(post({"query": OTHER})[1]) == ["PERSISTED_QUERY_NOT_ALLOWED"]
        # Registering is off in this mode.
        result = post({"query": OTHER, "extensions": persisted(sha256(OTHER))})[1]
        assert error_codes(result) == ["PERSISTED_QUERY_NOT_ALLOWED"]
        result = post({"extensions": persisted(sha256(OTHER))})[1]
        assert error_codes(result) == ["PERSISTED_QUERY_NOT_ALLOWED"]


@pytest.mark.django_db(transaction=True)
@async_test
async def test_the_allow_list_applies_to_websocket_operations(catalog, settings, tmp_path):
    allowed = "{ categories { name } }"
    path = tmp_path / "allowed.json"
    path.write_text(json.dumps([allowed]))
    settings.GRAPHQL_PERSISTED_QUERIES_ONLY = True
    settings.GRAPHQL_PERSISTED_QUERIES_FILE = str(path)
    client = await WsClient(TRANSPORT).open()
    await client.send({"id": "x", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
    refused = await client.receive()
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    await client.send({"id": "y", "type": "subscribe", "payload": {"query": allowed}})
    assert (await client.receive())["type"] == "next"
    await client.close()



def test_an_allow_list_with_a_wrong_hash_is_a_configuration_error(tmp_path, db):
    from django.core.exceptions import ImproperlyConfigured

    from schema.persisted_queries import allow_list

    path = tmp_path / "bad.json"
    path.write_text(json.dumps({sha256(OTHER): QUERY}))
    with override_settings(GRAPHQL_PERSISTED_QUERIES_FILE=str(path)):
        with pytest.raises(ImproperlyConfigured):
            allow_list()
