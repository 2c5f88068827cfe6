"""A websocket's viewer is who they are now, not who they were at connection_init.

A socket may stay open for hours. Its credential is checked again before every event and
every query over it (accounts.auth.current_users): an expired token, a revoked key, a
deactivated user or a logged-out session closes the socket with 4403 (graphql-ws clients
then reconnect with fresh credentials); a user who lost or gained staff status gets events
as their new self.
"""
from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client
from graphql_jwt.shortcuts import get_token
from graphql_jwt.utils import jwt_encode, jwt_payload
from graphql_relay import to_global_id

from accounts.auth import Credential, current_users, user_from_api_key, user_from_jwt
from accounts.models import ApiKey
from products.models import Product
from subscriptions.hub import get_hub
from tests.live_server import set_server_password, start_server
from tests.test_subscription_cross_process import update_product
from tests.ws_live import LEGACY, TRANSPORT, NodeClient, WsClient, async_test

pytestmark = pytest.mark.django_db(transaction=True)

CREATED = "subscription { productCreated { name } }"
ME = "{ me { username } }"


@database_sync_to_async
def create(catalog, users, name: str, published: bool) -> Product:
    return Product.objects.create(
        name=name, price=Decimal("10.00"), is_published=published,
        category=catalog["categories"]["books"], created_by=users["creator"],
    )


@database_sync_to_async
def change_user(user, **fields) -> None:
    get_user_model().objects.filter(pk=user.pk).update(**fields)


@database_sync_to_async
def token_for(user) -> str:
    return get_token(user)


@database_sync_to_async
def key_for(user) -> tuple[ApiKey, str]:
    return ApiKey.issue(user, "socket")


async def subscribed(params: dict, protocol: str = TRANSPORT, headers=None) -> WsClient:
    client = await WsClient(protocol, headers=headers).open(params)
    await client.subscribe("c", CREATED)
    return client


async def received_name(client: WsClient) -> str:
    return (await client.receive_skipping_ka())["payload"]["data"]["productCreated"]["name"]


@pytest.mark.parametrize("protocol", [TRANSPORT, LEGACY])
@async_test
async def test_deactivated_user_is_closed_4403_before_the_next_event(catalog, users, protocol):
    client = await subscribed({"authorization": f"Bearer {await token_for(users['other'])}"},
                              protocol)
    await change_user(users["other"], is_active=False)
    await create(catalog, users, "Public", published=True)
    if protocol == LEGACY:
        error = await client.receive_skipping_ka()
        assert error["type"] == "connection_error", error
    assert await client.closed_next() == 4403  # no event before the close
    await client.close()
    assert not get_hub().tasks  # its only subscriber gone, the hub left the group


@async_test
async def test_revoked_api_key_is_closed_4403_before_the_next_event(catalog, users):
    api_key, key = await key_for(users["other"])
    client = await subscribed({"apiKey": key})
    kept = await subscribed({"apiKey": (await key_for(users["other"]))[1]})
    await database_sync_to_async(ApiKey.objects.filter(pk=api_key.pk).update)(is_active=False)
    await create(catalog, users, "Public", published=True)
    assert await client.closed_next() == 4403
    assert await received_name(kept) == "Public"  # the owner's other key still holds
    await kept.close()


@async_test
async def test_expired_token_closes_the_socket_when_it_expires(users):
    def short_lived_token() -> str:
        payload = jwt_payload(users["other"])
        payload["exp"] = int(time.time()) + 3
        return jwt_encode(payload)

    token = await database_sync_to_async(short_lived_token)()
    client = await WsClient(TRANSPORT).open({"authorization": f"Bearer {token}"})
    assert await client.closed_next(timeout=8) == 4403  # no event or message needed


@async_test
async def test_destaffed_user_stops_seeing_drafts_and_other_staff_are_unaffected(
    catalog, users
):
    colleague = await database_sync_to_async(get_user_model().objects.create_user)(
        "colleague", "colleague@example.com", "pw", is_staff=True
    )
    # Both share the "staff" group; the de-staffed one is its first member.
    demoted = await subscribed({"authorization": f"Bearer {await token_for(users['staff'])}"})
    staff = await subscribed({"authorization": f"Bearer {await token_for(colleague)}"})
    await change_user(users["staff"], is_staff=False)
    await create(catalog, users, "Secret draft", published=False)
    assert await received_name(staff) == "Secret draft"
    await create(catalog, users, "Public", published=True)
    assert await received_name(demoted) == "Public"  # its next event: not the draft
    assert await received_name(staff) == "Public"
    for client in (demoted, staff):
        await client.close()


@async_test
async def test_promoted_user_starts_seeing_drafts(catalog, users):
    client = await subscribed({"authorization": f"Bearer {await token_for(users['other'])}"})
    await change_user(users["other"], is_staff=True)
    await create(catalog, users, "Secret draft", published=False)
    assert await received_name(client) == "Secret draft"
    await client.close()


@database_sync_to_async
def session_cookie(user) -> tuple[Client, tuple[bytes, bytes]]:
    http = Client()
    http.force_login(user)
    return http, (b"cookie", f"sessionid={http.cookies['sessionid'].value}".encode())


@async_test
async def test_logged_out_session_is_closed_4403_before_the_next_event(catalog, users):
    http, cookie = await session_cookie(users["other"])
    client = await subscribed({}, headers=[cookie])
    await database_sync_to_async(http.logout)()
    await create(catalog, users, "Public", published=True)
    assert await client.closed_next() == 4403


@async_test
async def test_changed_password_ends_a_session_socket(catalog, users):
    _http, cookie = await session_cookie(users["other"])
    client = await subscribed({}, headers=[cookie])

    def change_password():
        users["other"].set_password("a new one")
        users["other"].save()

    await database_sync_to_async(change_password)()
    await create(catalog, users, "Public", published=True)
    assert await client.closed_next() == 4403


@async_test
async def test_renamed_user_token_no_longer_holds(catalog, users):
    # django-graphql-jwt finds a token's user by username: HTTP refuses it after a rename.
    client = await subscribed({"authorization": f"Bearer {await token_for(users['other'])}"})
    await change_user(users["other"], username="renamed")
    await create(catalog, users, "Public", published=True)
    assert await client.closed_next() == 4403


@async_test
async def test_subscribing_checks_the_credential_again(users):
    api_key, key = await key_for(users["other"])
    client = await WsClient(TRANSPORT).open({"apiKey": key})
    await database_sync_to_async(ApiKey.objects.filter(pk=api_key.pk).update)(is_active=False)
    await client.send({"id": "1", "type": "subscribe", "payload": {"query": CREATED}})
    assert await client.closed_next() == 4403


@async_test
async def test_jwt_cookie_authenticates_the_socket(catalog, users):
    token = await token_for(users["creator"])
    client = await subscribed({}, headers=[(b"cookie", f"JWT={token}".encode())])
    await create(catalog, users, "Own draft", published=False)  # only the creator and staff
    assert await received_name(client) == "Own draft"
    await client.close()


@async_test
async def test_a_query_over_the_socket_checks_the_credential_again(users):
    api_key, key = await key_for(users["other"])
    client = await WsClient(TRANSPORT).open({"apiKey": key})
    await client.send({"id": "1", "type": "subscribe", "payload": {"query": ME}})
    assert (await client.receive())["payload"]["data"]["me"] == {"username": "other"}
    assert await client.receive() == {"id": "1", "type": "complete"}
    await database_sync_to_async(ApiKey.objects.filter(pk=api_key.pk).update)(is_active=False)
    await client.send({"id": "2", "type": "subscribe", "payload": {"query": ME}})
    assert await client.closed_next() == 4403  # no result as the revoked key's owner


def test_current_users_checks_any_number_of_credentials_in_two_queries(
    users, django_assert_num_queries
):
    found = [user_from_jwt(get_token(users[name]), None) for name in ("creator", "other", "staff")]
    found += [user_from_api_key(ApiKey.issue(users[name], "k")[1]) for name in ("creator", "other")]
    known = {credential: user for user, credential in found}
    with django_assert_num_queries(2):  # users' standing, API keys
        current = current_users(known, known)
    assert all(current[credential] is user for credential, user in known.items())
    with django_assert_num_queries(3):  # and loading the users it does not know
        current = current_users(known)
    assert [user.username for user in current.values()] == [
        "creator", "other", "staff", "creator", "other",
    ]


def test_current_users_reloads_a_user_whose_standing_changed(users):
    user, credential = user_from_jwt(get_token(users["other"]), None)
    get_user_model().objects.filter(pk=user.pk).update(is_staff=True)
    current = current_users([credential], {credential: user})[credential]
    assert current is not user and current.is_staff


def test_current_users_refuses_what_no_longer_holds(users):
    key, plain = ApiKey.issue(users["creator"], "k")
    by_key = user_from_api_key(plain)[1]
    expired = Credential("jwt", users["other"].pk, expires_at=time.time() - 1)
    deleted = Credential("jwt", 10**9)
    key.is_active = False
    key.save()
    assert set(current_users([by_key, expired, deleted]).values()) == {None}


@pytest.fixture
def short_token_server(django_db_setup):
    """A live server whose JWTs live 5 seconds."""
    from django.db import connection

    server = start_server(connection.settings_dict["NAME"], {"JWT_EXPIRATION_SECONDS": "5"})
    try:
        yield server
    finally:
        server.stop()
        server.log_path.unlink(missing_ok=True)


def test_graphql_ws_client_reconnects_with_a_fresh_token_and_keeps_its_subscription(
    short_token_server, catalog, users
):
    set_server_password(users["creator"], "creator-pw")
    draft = catalog["products"]["draft"]  # the creator's own: only they and staff see it
    client = NodeClient("subscribe.mjs", {
        "WS_URL": short_token_server.ws_url, "HTTP_URL": short_token_server.graphql_url,
        "CLIENT": "graphql-ws", "EXPECT": "1",
        "QUERIES": json.dumps(["subscription { productUpdated { name } }"]),
        "SIGN_IN": json.dumps({"username": "creator", "password": "creator-pw"}),
    })
    assert client.wait_for("connected")["count"] == 1
    assert client.wait_for("closed", timeout=10)["code"] == 4403  # the token expired
    assert client.wait_for("connected", timeout=10)["count"] == 2  # signed in again
    staff_key = ApiKey.issue(users["staff"], "writer")[1]
    update_product(short_token_server, staff_key, to_global_id("Product", draft.pk),
                   name="Draft, after reconnecting")
    event = client.wait_for("event")
    client.stop()
    assert event["payload"]["data"] == {"productUpdated": {"name": "Draft, after reconnecting"}}
