"""Refresh tokens are stored as SHA-256 hashes, and reusing a rotated one revokes its whole
family (rotation with reuse detection, OAuth 2.0 Security Best Current Practice)."""
from __future__ import annotations

import hashlib
import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone
from graphql_jwt.refresh_token.models import RefreshToken as PlainRefreshToken

from accounts.models import RefreshToken
from tests.conftest import GraphQLClient, error_codes

PASSWORD = "correct horse battery staple"
TOKEN_AUTH = """
mutation($cookie: Boolean) {
  tokenAuth(input: {username: "alice", password: "%s", cookie: $cookie}) { refreshToken }
}""" % PASSWORD
REFRESH = """
mutation($r: String) { refreshToken(input: {refreshToken: $r}) { token refreshToken } }"""


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", "alice@example.com", PASSWORD)


def sign_in() -> str:
    return GraphQLClient().data(TOKEN_AUTH)["tokenAuth"]["refreshToken"]


def refresh(token: str) -> dict:
    return GraphQLClient().execute(REFRESH, {"r": token})


def rotate(token: str) -> str:
    result = refresh(token)
    assert "errors" not in result, result["errors"]
    return result["data"]["refreshToken"]["refreshToken"]


def test_reusing_a_rotated_token_revokes_its_successor(alice):
    a = sign_in()
    b = rotate(a)
    reused = refresh(a)
    assert error_codes(reused) == ["UNAUTHENTICATED"]
    assert "already used" in reused["errors"][0]["message"]
    assert error_codes(refresh(b)) == ["UNAUTHENTICATED"]  # the thief's or the user's: gone
    assert not RefreshToken.objects.filter(user=alice, revoked__isnull=True).exists()


def test_reuse_revokes_every_descendant_and_no_other_sign_in(alice):
    a = sign_in()
    c = rotate(rotate(a))
    other_device = sign_in()
    assert error_codes(refresh(a)) == ["UNAUTHENTICATED"]
    assert error_codes(refresh(c)) == ["UNAUTHENTICATED"]
    assert rotate(other_device)  # another family


def test_a_token_revoked_by_signing_out_stays_refused(alice):
    a = sign_in()
    GraphQLClient().data(
        "mutation($r: String) { revokeToken(input: {refreshToken: $r}) { revoked } }", {"r": a})
    assert error_codes(refresh(a)) == ["UNAUTHENTICATED"]


def _all_stored_text() -> str:
    """Every value of both refresh-token tables (ours and graphql_jwt's), as text."""
    values = []
    with connection.cursor() as cursor:
        for table in (RefreshToken._meta.db_table, PlainRefreshToken._meta.db_table):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            values += [str(value) for row in cursor.fetchall() for value in row]
    return "\n".join(values)


def test_the_database_never_holds_a_plain_token(alice):
    a = sign_in()
    b = rotate(a)
    browser = GraphQLClient()
    browser.data(TOKEN_AUTH, {"cookie": True})
    from_cookie = browser.http.cookies["JWT-refresh-token"].value
    stored = _all_stored_text()
    for plain in (a, b, from_cookie):
        assert len(plain) == 40
        assert plain not in stored
        digest = hashlib.sha256(plain.encode()).hexdigest()
        assert RefreshToken.objects.filter(token_hash=digest).exists()
    assert not PlainRefreshToken.objects.exists()


def test_existing_plain_tokens_are_hashed_by_the_migration(alice):
    migration = importlib.import_module("accounts.migrations.0002_refreshtoken")
    live = PlainRefreshToken.objects.create(user=alice)
    used = PlainRefreshToken.objects.create(user=alice, revoked=timezone.now())
    issued = timezone.now() - timedelta(days=2)
    PlainRefreshToken.objects.filter(pk=live.pk).update(created=issued)

    migration.hash_plain_tokens(apps, None)

    assert not PlainRefreshToken.objects.exists()
    assert live.token not in _all_stored_text()
    moved = RefreshToken.objects.for_token(live.token).get()
    assert (moved.user, moved.created, moved.revoked) == (alice, issued, None)
    assert RefreshToken.objects.for_token(used.token).get().revoked == used.revoked
    assert rotate(live.token)  # a client signed in before the migration stays signed in
    assert error_codes(refresh(used.token)) == ["UNAUTHENTICATED"]


def test_the_admin_revokes_whole_sign_ins(alice):
    a = sign_in()
    b = rotate(a)
    other = sign_in()
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    response = admin.post("/admin/accounts/refreshtoken/", {
        "action": "revoke_sign_ins",
        "_selected_action": [RefreshToken.objects.for_token(a).get().pk],
    })
    assert response.status_code == 302
    assert error_codes(refresh(b)) == ["UNAUTHENTICATED"]
    assert rotate(other)
