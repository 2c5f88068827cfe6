"""Signing up and in with JWTs: tokens in the Authorization header (or a cookie), rotation of
refresh tokens, and refusals that are UNAUTHENTICATED errors, never anonymous requests."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from accounts.models import RefreshToken
from tests.conftest import GraphQLClient, error_codes

ME = "{ me { username email } }"
REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { user { username } errors { field message code } }
}"""
TOKEN_AUTH = """
mutation($username: String!, $password: String!, $cookie: Boolean) {
  tokenAuth(input: {username: $username, password: $password, cookie: $cookie,
                    clientMutationId: "sign-in"}) {
    token refreshToken refreshExpiresIn payload clientMutationId user { username }
  }
}"""
VERIFY = "mutation($t: String) { verifyToken(input: {token: $t}) { payload } }"
REFRESH = """
mutation($r: String) { refreshToken(input: {refreshToken: $r}) { token refreshToken payload } }"""
REVOKE = "mutation($r: String) { revokeToken(input: {refreshToken: $r}) { revoked } }"

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def clear_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", "alice@example.com", PASSWORD)


def sign_in(username="alice", password=PASSWORD, **extra):
    return GraphQLClient().execute(
        TOKEN_AUTH, {"username": username, "password": password}, **extra
    )


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def me(token: str) -> dict:
    return GraphQLClient().execute(ME, **bearer(token))


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# register ----------------------------------------------------------------------------------------

def test_register_creates_a_user_who_can_sign_in(gql):
    result = gql.data(REGISTER, {"input": {
        "username": "bob", "email": "bob@example.com", "password": PASSWORD}})
    assert result["register"] == {"user": {"username": "bob"}, "errors": []}
    user = get_user_model().objects.get(username="bob")
    assert user.check_password(PASSWORD) and user.password != PASSWORD
    assert sign_in("bob")["data"]["tokenAuth"]["user"] == {"username": "bob"}


def test_register_reports_django_password_validators_as_field_errors(gql):
    result = gql.data(REGISTER, {"input": {"username": "bob", "password": "123"}})
    errors = result["register"]["errors"]
    assert result["register"]["user"] is None
    assert {error["field"] for error in errors} == {"password"}
    assert {"PASSWORD_TOO_SHORT", "PASSWORD_TOO_COMMON", "PASSWORD_ENTIRELY_NUMERIC"} <= {
        error["code"] for error in errors
    }
    assert not get_user_model().objects.filter(username="bob").exists()


def test_register_refuses_a_taken_username_and_a_bad_email(gql, alice):
    result = gql.data(REGISTER, {"input": {
        "username": "ALICE", "email": "not-an-email", "password": PASSWORD}})
    errors = {(error["field"], error["code"]) for error in result["register"]["errors"]}
    assert errors == {("username", "UNIQUE"), ("email", "INVALID")}


# tokenAuth and the Authorization header ----------------------------------------------------------

def test_token_auth_returns_a_jwt_accepted_as_bearer_token(alice):
    result = sign_in()
    payload = result["data"]["tokenAuth"]
    assert payload["clientMutationId"] == "sign-in"
    assert payload["payload"]["username"] == "alice"
    assert payload["refreshToken"] and payload["refreshExpiresIn"] > 0
    assert me(payload["token"])["data"] == {"me": {"username": "alice",
                                                "email": "alice@example.com"}}


def test_without_credentials_the_viewer_is_anonymous(gql):
    assert gql.data(ME) == {"me": None}


def test_wrong_password_is_unauthenticated(alice):
    result = sign_in(password="wrong")
    assert error_codes(result) == ["UNAUTHENTICATED"]
    assert result["data"] == {"tokenAuth": None}


def test_expired_token_is_refused_not_anonymous(alice):
    token = jwt.encode(
        {"username": "alice", "exp": timezone.now() - timedelta(seconds=1)},
        settings.SECRET_KEY, algorithm="HS256",
    )
    response = GraphQLClient().http.post(
        "/graphql/", {"query": ME}, content_type="application/json", **bearer(token)
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert "expired" in body["errors"][0]["message"]
    assert "data" not in body


def test_tampered_signature_is_refused(alice):
    token = sign_in()["data"]["tokenAuth"]["token"]
    header, payload, signature = token.split(".")
    forged = b64({"username": "staff-impostor",
                  "exp": int((timezone.now() + timedelta(hours=1)).timestamp())})
    assert error_codes(me(f"{header}.{forged}.{signature}")) == ["UNAUTHENTICATED"]
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert error_codes(me(f"{header}.{payload}.{flipped}")) == ["UNAUTHENTICATED"]


def test_token_signed_with_another_key_is_refused(alice):
    token = jwt.encode({"username": "alice", "exp": timezone.now() + timedelta(hours=1)},
                       "some-other-secret-that-is-long-enough-for-hs256", algorithm="HS256")
    assert error_codes(me(token)) == ["UNAUTHENTICATED"]


def test_alg_none_token_is_refused(alice):
    exp = int((timezone.now() + timedelta(hours=1)).timestamp())
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'username': 'alice', 'exp': exp})}."
    assert error_codes(me(token)) == ["UNAUTHENTICATED"]


def test_other_authorization_schemes_are_refused(alice):
    token = sign_in()["data"]["tokenAuth"]["token"]
    result = GraphQLClient().execute(ME, HTTP_AUTHORIZATION=f"JWT {token}")
    assert error_codes(result) == ["UNAUTHENTICATED"]
    result = GraphQLClient().execute(ME, HTTP_AUTHORIZATION="Basic YWxpY2U6cHc=")
    assert error_codes(result) == ["UNAUTHENTICATED"]


def test_token_of_a_disabled_user_is_refused(alice):
    token = sign_in()["data"]["tokenAuth"]["token"]
    alice.is_active = False
    alice.save()
    assert error_codes(me(token)) == ["UNAUTHENTICATED"]


def test_verify_token(alice):
    token = sign_in()["data"]["tokenAuth"]["token"]
    result = GraphQLClient().data(VERIFY, {"t": token})
    assert result["verifyToken"]["payload"]["username"] == "alice"
    assert error_codes(GraphQLClient().execute(VERIFY, {"t": token + "x"})) == [
        "UNAUTHENTICATED"
    ]


def test_verify_token_refuses_the_token_of_a_disabled_user(alice):
    token = sign_in()["data"]["tokenAuth"]["token"]
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert error_codes(GraphQLClient().execute(VERIFY, {"t": token})) == ["UNAUTHENTICATED"]


# refresh tokens ----------------------------------------------------------------------------------

def test_refresh_rotates_the_refresh_token_and_refuses_the_old_one(alice):
    first = sign_in()["data"]["tokenAuth"]["refreshToken"]
    refreshed = GraphQLClient().data(REFRESH, {"r": first})["refreshToken"]
    assert refreshed["refreshToken"] != first
    assert refreshed["payload"]["username"] == "alice"
    assert me(refreshed["token"])["data"]["me"]["username"] == "alice"

    # The new one works once too.
    assert GraphQLClient().data(REFRESH, {"r": refreshed["refreshToken"]})
    assert RefreshToken.objects.filter(user=alice, revoked__isnull=True).count() == 1

    reused = GraphQLClient().execute(REFRESH, {"r": first})
    assert error_codes(reused) == ["UNAUTHENTICATED"]


def test_revoked_refresh_token_is_refused(alice):
    refresh = sign_in()["data"]["tokenAuth"]["refreshToken"]
    revoked = GraphQLClient().data(REVOKE, {"r": refresh})["revokeToken"]["revoked"]
    assert revoked > 0
    assert error_codes(GraphQLClient().execute(REFRESH, {"r": refresh})) == ["UNAUTHENTICATED"]
    assert error_codes(GraphQLClient().execute(REVOKE, {"r": refresh})) == ["UNAUTHENTICATED"]


def test_expired_refresh_token_is_refused(alice):
    refresh = sign_in()["data"]["tokenAuth"]["refreshToken"]
    RefreshToken.objects.for_token(refresh).update(
        created=timezone.now() - settings.GRAPHQL_JWT["JWT_REFRESH_EXPIRATION_DELTA"]
        - timedelta(minutes=1)
    )
    assert error_codes(GraphQLClient().execute(REFRESH, {"r": refresh})) == ["UNAUTHENTICATED"]


def test_unknown_refresh_token_is_refused(db):
    assert error_codes(GraphQLClient().execute(REFRESH, {"r": "nope"})) == ["UNAUTHENTICATED"]


# cookies for browsers ----------------------------------------------------------------------------

def test_cookie_sign_in_authenticates_later_requests_and_refreshes_from_the_cookie(alice):
    browser = GraphQLClient()
    result = browser.execute(TOKEN_AUTH, {"username": "alice", "password": PASSWORD,
                                          "cookie": True})
    assert "errors" not in result
    jwt_cookie = browser.http.cookies["JWT"]
    assert jwt_cookie["httponly"] and jwt_cookie["samesite"] == "Lax"
    assert browser.http.cookies["JWT-refresh-token"].value
    assert browser.data(ME)["me"]["username"] == "alice"

    old_refresh = browser.http.cookies["JWT-refresh-token"].value
    browser.data("mutation { refreshToken(input: {}) { token } }")
    assert browser.http.cookies["JWT-refresh-token"].value != old_refresh
    assert browser.data(ME)["me"]["username"] == "alice"


def test_a_bad_jwt_cookie_is_refused_and_deleted(alice):
    browser = GraphQLClient()
    browser.http.cookies["JWT"] = "not.a.token"
    response = browser.http.post("/graphql/", {"query": ME}, content_type="application/json")
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    assert response.cookies["JWT"].value == ""
    assert browser.data(ME) == {"me": None}


# rate limiting -----------------------------------------------------------------------------------

def test_failed_sign_ins_are_rate_limited_per_account(alice, settings):
    settings.AUTH_RATE_LIMIT_ACCOUNT_FAILURES = 3
    for _ in range(3):
        assert error_codes(sign_in(password="wrong")) == ["UNAUTHENTICATED"]
    limited = sign_in()  # even the right password, until the window passes
    assert error_codes(limited) == ["RATE_LIMITED"]
    assert limited["errors"][0]["extensions"]["retryAfter"] > 0
    # Another account from the same address is not affected by alice's count.
    get_user_model().objects.create_user("bob", password=PASSWORD)
    assert "errors" not in sign_in("bob")


def test_failed_sign_ins_are_rate_limited_per_ip(alice, settings):
    settings.AUTH_RATE_LIMIT_IP_FAILURES = 4
    for index in range(4):
        assert error_codes(sign_in(f"nobody-{index}", "wrong")) == ["UNAUTHENTICATED"]
    assert error_codes(sign_in()) == ["RATE_LIMITED"]
    # The limit is per address.
    assert "errors" not in sign_in(REMOTE_ADDR="10.0.0.9")


def test_a_successful_sign_in_clears_the_account_count(alice, settings):
    settings.AUTH_RATE_LIMIT_ACCOUNT_FAILURES = 3
    for _ in range(2):
        sign_in(password="wrong")
    assert "errors" not in sign_in()
    for _ in range(2):
        sign_in(password="wrong")
    assert "errors" not in sign_in()
