"""API keys: `X-API-Key` authenticates as the owner; the plain key exists only in the
response that created it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiKey, hash_secret
from tests.conftest import GraphQLClient, error_codes
from tests.ws_live import TRANSPORT, WsClient, async_test

ME = "{ me { username } }"
CREATE = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    key apiKey { id name prefix isActive expiresAt lastUsed } errors { field code message }
  }
}"""
REVOKE = """
mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { id isActive } errors { code } } }
"""
MY_KEYS = "{ myApiKeys { name prefix isActive } }"


def with_key(key: str, query: str = ME, variables=None) -> dict:
    return GraphQLClient().execute(query, variables, HTTP_X_API_KEY=key)


@pytest.fixture
def issued(users):
    return ApiKey.issue(users["creator"], "ci")


def test_creating_a_key_shows_it_once_and_stores_only_its_hash(viewers, users):
    result = viewers["creator"].data(CREATE, {"input": {"name": "deploy script"}})
    payload = result["createApiKey"]
    key = payload["key"]
    assert key.startswith("vit_") and payload["errors"] == []
    assert key.startswith(payload["apiKey"]["prefix"] + "_")
    stored = ApiKey.objects.get(owner=users["creator"])
    secret = key.split("_", 2)[2]
    assert stored.secret_hash == hash_secret(secret)
    row_text = " ".join(str(value) for value in ApiKey.objects.values().get().values())
    assert secret not in row_text and key not in row_text
    # Listing shows the prefix, never the key.
    keys = viewers["creator"].data(MY_KEYS)["myApiKeys"]
    assert keys == [{"name": "deploy script", "prefix": stored.prefix, "isActive": True}]
    no_field = viewers["creator"].execute("{ myApiKeys { key } }")
    assert error_codes(no_field) == ["GRAPHQL_VALIDATION_FAILED"]


def test_a_valid_key_authenticates_as_its_owner(issued):
    _, key = issued
    assert with_key(key)["data"] == {"me": {"username": "creator"}}


@pytest.mark.parametrize("mangle", [
    lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"),  # wrong secret
    lambda key: "vit_" + "x" * 10 + "_" + key.split("_", 2)[2],  # unknown prefix
    lambda key: "not-a-key",
    lambda key: "",
], ids=["wrong-secret", "unknown-prefix", "malformed", "empty"])
def test_a_wrong_key_is_refused_not_anonymous(issued, mangle):
    _, key = issued
    response = GraphQLClient().http.post(
        "/graphql/", {"query": ME}, content_type="application/json",
        HTTP_X_API_KEY=mangle(key),
    )
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


def test_a_revoked_key_is_refused(viewers, issued):
    api_key, key = issued
    from graphql_relay import to_global_id

    result = viewers["creator"].data(REVOKE, {"id": to_global_id("ApiKey", api_key.pk)})
    assert result["revokeApiKey"]["apiKey"]["isActive"] is False
    assert error_codes(with_key(key)) == ["UNAUTHENTICATED"]


def test_an_expired_key_is_refused(issued):
    api_key, key = issued
    api_key.expires_at = timezone.now() - timedelta(seconds=1)
    api_key.save()
    assert error_codes(with_key(key)) == ["UNAUTHENTICATED"]


def test_a_key_of_a_disabled_user_is_refused(issued, users):
    _, key = issued
    users["creator"].is_active = False
    users["creator"].save()
    assert error_codes(with_key(key)) == ["UNAUTHENTICATED"]


def test_last_used_is_written_at_most_once_a_minute(issued):
    api_key, key = issued
    assert api_key.last_used is None
    with_key(key)
    api_key.refresh_from_db()
    first_use = api_key.last_used
    assert first_use is not None

    with CaptureQueriesContext(connection) as queries:
        with_key(key)
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    api_key.refresh_from_db()
    assert api_key.last_used == first_use

    ApiKey.objects.filter(pk=api_key.pk).update(last_used=first_use - timedelta(minutes=2))
    with_key(key)
    api_key.refresh_from_db()
    assert api_key.last_used > first_use - timedelta(minutes=1)


def test_keys_expiring_in_the_past_are_refused_at_creation(viewers):
    past = (timezone.now() - timedelta(days=1)).isoformat()
    result = viewers["creator"].data(CREATE, {"input": {"name": " ", "expiresAt": past}})
    errors = {(error["field"], error["code"]) for error in result["createApiKey"]["errors"]}
    assert errors == {("name", "REQUIRED"), ("expiresAt", "MIN_VALUE")}
    assert not ApiKey.objects.exists()


def test_key_management_needs_a_signed_in_user(gql, viewers, issued):
    assert error_codes(gql.execute(CREATE, {"input": {"name": "x"}})) == ["UNAUTHENTICATED"]
    assert error_codes(gql.execute(MY_KEYS)) == ["UNAUTHENTICATED"]
    _, key = issued
    # A key cannot mint more keys: a leaked key stays one key.
    assert error_codes(with_key(key, CREATE, {"input": {"name": "x"}})) == ["FORBIDDEN"]


def test_another_users_key_cannot_be_revoked(viewers, issued):
    api_key, key = issued
    from graphql_relay import to_global_id

    result = viewers["other"].execute(REVOKE, {"id": to_global_id("ApiKey", api_key.pk)})
    assert error_codes(result) == ["NOT_FOUND"]
    assert with_key(key)["data"]["me"]["username"] == "creator"


def test_api_key_and_bearer_token_together_are_refused(issued):
    _, key = issued
    result = GraphQLClient().execute(ME, HTTP_X_API_KEY=key, HTTP_AUTHORIZATION="Bearer x.y.z")
    assert error_codes(result) == ["UNAUTHENTICATED"]


@pytest.mark.django_db(transaction=True)
@async_test
async def test_an_api_key_cannot_mint_api_keys_over_the_socket(users):
    _key, plain = await database_sync_to_async(ApiKey.issue)(users["creator"], "script")
    client = await WsClient(TRANSPORT).open({"x-api-key": plain})
    await client.send({"id": "m", "type": "subscribe", "payload": {
        "query": 'mutation { createApiKey(input: {name: "minted"}) { key } }',
    }})
    result = await client.receive()
    assert result["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await database_sync_to_async(ApiKey.objects.filter(name="minted").exists)() is False
    await client.close()
