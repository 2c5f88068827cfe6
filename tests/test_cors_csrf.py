"""CORS for allowed origins; CSRF enforced only for cookie-authenticated POSTs."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings
from graphql_jwt.shortcuts import get_token

from tests.conftest import error_codes

ORIGIN = "https://shop.example"
QUERY = {"query": "{ __typename }"}
CSRF_TOKEN = "a" * 32  # a valid unmasked token for Django's CSRF check


@pytest.fixture(autouse=True)
def _allowed_origin():
    with override_settings(CORS_ALLOWED_ORIGINS=[ORIGIN]):
        yield


# -- CORS -----------------------------------------------------------------------------------


def test_preflight_from_an_allowed_origin(db):
    response = Client().options(
        "/graphql/",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-api-key, authorization",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    allowed = response["Access-Control-Allow-Headers"].lower()
    for header in ("content-type", "x-api-key", "authorization"):
        assert header in allowed


def test_responses_to_an_allowed_origin_expose_retry_after(db):
    response = Client().post(
        "/graphql/", QUERY, content_type="application/json", HTTP_ORIGIN=ORIGIN
    )
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "retry-after" in response["Access-Control-Expose-Headers"].lower()


def test_other_origins_get_no_cors_headers(db):
    response = Client().options(
        "/graphql/",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert "Access-Control-Allow-Origin" not in response


def test_origins_come_from_the_environment():
    # project/settings.py reads CORS_ALLOWED_ORIGINS (comma-separated); none by default.
    assert isinstance(settings.CORS_ALLOWED_ORIGINS, list)


# -- CSRF -----------------------------------------------------------------------------------


def session_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client: Client, **extra):
    return client.post("/graphql/", QUERY, content_type="application/json", **extra)


def test_a_session_post_without_a_csrf_token_is_refused(users, django_assert_num_queries):
    client = session_client(users["other"])
    with django_assert_num_queries(0):
        response = post(client)
    assert response.status_code == 403
    assert error_codes(response.json()) == ["CSRF_FAILED"]


def test_a_session_post_with_the_csrf_token_runs(users):
    client = session_client(users["other"])
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_TOKEN
    response = post(client, HTTP_X_CSRFTOKEN=CSRF_TOKEN)
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


def test_a_session_post_with_a_wrong_token_is_refused(users):
    client = session_client(users["other"])
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_TOKEN
    response = post(client, HTTP_X_CSRFTOKEN="b" * 32)
    assert response.status_code == 403
    assert error_codes(response.json()) == ["CSRF_FAILED"]


def test_a_cross_site_session_post_is_refused_even_with_the_token(users):
    client = session_client(users["other"])
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_TOKEN
    response = post(
        client, HTTP_X_CSRFTOKEN=CSRF_TOKEN, HTTP_ORIGIN="https://evil.example", secure=True
    )
    assert response.status_code == 403


def test_a_session_get_needs_no_token(users):
    client = session_client(users["other"])
    response = client.get("/graphql/", QUERY, HTTP_ACCEPT="application/json")
    assert response.status_code == 200


def test_anonymous_posts_need_no_token(db):
    response = post(Client(enforce_csrf_checks=True))
    assert response.status_code == 200


def test_bearer_token_posts_need_no_token_even_with_a_session_cookie(users):
    client = session_client(users["other"])
    response = post(client, HTTP_AUTHORIZATION=f"Bearer {get_token(users['other'])}")
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


def test_api_key_posts_need_no_token(users):
    from accounts.models import ApiKey

    _, key = ApiKey.issue(users["other"], "ci")
    client = session_client(users["other"])
    response = post(client, HTTP_X_API_KEY=key)
    assert response.status_code == 200


def test_a_jwt_cookie_counts_as_a_cookie_session(users):
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.GRAPHQL_JWT["JWT_COOKIE_NAME"]] = get_token(users["other"])
    response = post(client)
    assert response.status_code == 403
    assert error_codes(response.json()) == ["CSRF_FAILED"]
