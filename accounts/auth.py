"""Who is asking: authenticate a request or a websocket once, and check it again later.

Credentials, in order (HTTP headers; a websocket sends the first two in `connection_init`):
1. an API key `vit_…` — the key's owner (see accounts.models.ApiKey);
2. a JWT `Bearer <token>` — django-graphql-jwt's token;
3. the `JWT` cookie set by `tokenAuth(input: {cookie: true})` for browser clients;
4. otherwise Django's session, usually anonymous.

A credential that is present but wrong (bad signature, `alg: none`, expired, unknown or revoked
key, disabled user) is an error, never a silent fall-back to anonymous.

An HTTP request is authenticated on every request; a websocket only once, at
`connection_init`, and may stay open for hours. Its `Credential` remembers what it was
authenticated with, so `current_users` can tell later whether that still holds (token not
expired, key not revoked, user still active, session not logged out) and who the user is now.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from graphql_jwt.exceptions import JSONWebTokenError, JSONWebTokenExpired
from graphql_jwt.settings import jwt_settings
from graphql_jwt.utils import get_payload, get_user_by_payload

from accounts.models import ApiKey, split_key

API_KEY = "api_key"
JWT = "jwt"
JWT_COOKIE = "jwt_cookie"
SESSION = "session"


@dataclass
class AuthenticationFailed(Exception):
    message: str
    method: str

    def __str__(self) -> str:
        return self.message

    def forget_bad_cookie(self, response) -> None:
        """A bad JWT cookie is deleted, so the browser can go on anonymously (or refresh)."""
        if self.method == JWT_COOKIE:
            response.delete_cookie(
                jwt_settings.JWT_COOKIE_NAME,
                path=jwt_settings.JWT_COOKIE_PATH,
                domain=jwt_settings.JWT_COOKIE_DOMAIN,
            )


@dataclass(frozen=True, slots=True)
class Credential:
    """What a viewer was authenticated with: enough to check it again without the secret."""

    method: str
    user_id: Any
    api_key_id: int | None = None
    session_key: str | None = None
    username: str | None = None
    """A JWT names its user by username (django-graphql-jwt): a renamed user's token fails."""
    expires_at: float | None = None
    """Epoch seconds after which the credential is refused (JWT `exp`, key expiry)."""


def bearer_token(value: Any, bare_allowed: bool = False) -> str | None:
    """The token of an Authorization value `Bearer <token>` (or a bare token if allowed)."""
    if value is None or value == "":
        return None
    prefix = jwt_settings.JWT_AUTH_HEADER_PREFIX
    if not isinstance(value, str):
        raise AuthenticationFailed(f"Send the token as `{prefix} <token>`.", JWT)
    parts = value.split()
    if len(parts) == 2 and parts[0].lower() == prefix.lower():
        return parts[1]
    if len(parts) == 1 and bare_allowed:
        return parts[0]
    raise AuthenticationFailed(f"Send the token as `{prefix} <token>`.", JWT)


def user_from_jwt(token: str, request: HttpRequest | None, method: str = JWT):
    """The token's user and credential."""
    try:
        payload = get_payload(token, request)
        user = get_user_by_payload(payload)
    except JSONWebTokenExpired:
        raise AuthenticationFailed("The token has expired.", method) from None
    except JSONWebTokenError:
        raise AuthenticationFailed("The token is invalid.", method) from None
    if user is None:
        raise AuthenticationFailed("The token is invalid.", method)
    return user, Credential(
        method, user.pk, username=user.get_username(), expires_at=payload.get("exp")
    )


def user_from_api_key(key: Any):
    """The key's owner and credential; records the key's use."""
    failed = AuthenticationFailed("The API key is invalid, revoked or expired.", API_KEY)
    parts = split_key(key.strip()) if isinstance(key, str) else None
    if parts is None:
        raise failed
    prefix, secret = parts
    api_key = ApiKey.objects.select_related("owner").filter(prefix=prefix).first()
    if api_key is None or not api_key.matches(secret):
        raise failed
    if not api_key.is_usable or not api_key.owner.is_active:
        raise failed
    api_key.touch()
    expires_at = api_key.expires_at.timestamp() if api_key.expires_at else None
    return api_key.owner, Credential(API_KEY, api_key.owner_id, api_key.pk, expires_at=expires_at)


def authenticate_credentials(key: Any, token: str | None, cookie_token: str | None,
                             request: HttpRequest | None = None):
    """(user, Credential) for the first credential present, None when there is none.

    Raises AuthenticationFailed for a credential that is present but not valid, and when
    both a key and a token are sent (which one was meant is not ours to guess).
    """
    if key is not None and token is not None:
        raise AuthenticationFailed("Send either an API key or a token, not both.", API_KEY)
    if key is not None:
        return user_from_api_key(key)
    if token is not None:
        return user_from_jwt(token, request, JWT)
    if cookie_token:
        return user_from_jwt(cookie_token, request, JWT_COOKIE)
    return None


def request_has_credentials(request: HttpRequest) -> bool:
    """Whether authenticate_request has anything to look up (else: no SQL)."""
    return bool(
        request.META.get("HTTP_X_API_KEY")
        or request.META.get(jwt_settings.JWT_AUTH_HEADER_NAME)
        or request.COOKIES.get(jwt_settings.JWT_COOKIE_NAME)
    )


def authenticate_request(request: Any) -> None:  # an HttpRequest, given our attributes
    """Set `request.user` and `request.auth_method` from the request's credentials.

    Raises AuthenticationFailed for a credential that is present but not valid.
    """
    found = authenticate_credentials(
        request.META.get("HTTP_X_API_KEY"),
        bearer_token(request.META.get(jwt_settings.JWT_AUTH_HEADER_NAME)),
        request.COOKIES.get(jwt_settings.JWT_COOKIE_NAME),
        request,
    )
    request.credential = None if found is None else found[1]
    if found is None:
        request.auth_method = SESSION  # AuthenticationMiddleware has set request.user
        return
    request.user = found[0]
    request.auth_method = request.credential.method


def request_credential(request: Any) -> Credential | None:
    """What an authenticated request's user was authenticated with (a session's too), for
    a stream that checks it again before each event, as a websocket does."""
    if request.credential is None and request.user.is_authenticated:
        return Credential(SESSION, request.user.pk, session_key=request.session.session_key)
    return request.credential


# Where a websocket's connection_init payload may carry each credential.
TOKEN_PARAMS = ("authorization", "Authorization")
KEY_PARAMS = ("apiKey", "x-api-key", "X-API-Key")


def _first(params: dict, names: tuple[str, ...]) -> Any:
    """The first of `names` given a value; empty strings count as absent."""
    return next((params[name] for name in names if params.get(name) not in (None, "")), None)


def api_key_param(params: dict) -> Any:
    """The API key a websocket's `connection_init` params carry, if any."""
    return _first(params, KEY_PARAMS)


def has_credentials(params: dict, cookies: dict) -> bool:
    """Whether authenticate_params has anything to look up (else: anonymous, no SQL)."""
    return (
        _first(params, TOKEN_PARAMS + KEY_PARAMS) is not None
        or bool(cookies.get(jwt_settings.JWT_COOKIE_NAME))
        or bool(cookies.get(settings.SESSION_COOKIE_NAME))
    )


def _session_data(session_key: str):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def _signed_in_by(session, user) -> bool:
    """Whether the session data says `user` signed in and has not changed password since.

    Django's own `get_user` checks the same, but also flushes or cycles the session it is
    given; a websocket's copy of the browser's session must not be changed behind its back.
    """
    stored_hash = session.get(HASH_SESSION_KEY) or ""
    return (
        str(session.get(SESSION_KEY)) == str(user.pk)
        and session.get(BACKEND_SESSION_KEY) in settings.AUTHENTICATION_BACKENDS
        and any(
            constant_time_compare(stored_hash, expected)
            for expected in (user.get_session_auth_hash(),
                             *user.get_session_auth_fallback_hash())
        )
    )


def user_from_session(session_key: str):
    """The session's signed-in user (active, password unchanged), else AnonymousUser."""
    session = _session_data(session_key)
    backend_path = session.get(BACKEND_SESSION_KEY)
    if session.get(SESSION_KEY) is None or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
    user = load_backend(backend_path).get_user(user_id)  # None when inactive
    return user if user is not None and _signed_in_by(session, user) else AnonymousUser()


def authenticate_params(params: dict, cookies: dict):
    """(user, Credential | None) for a websocket's `connection_init` params and cookies.

    Params: `authorization`/`Authorization` ("Bearer <JWT>" or the bare token) or
    `apiKey`/`x-api-key`/`X-API-Key`; without them the JWT cookie, then the session cookie.
    Raises AuthenticationFailed for a credential that is present but not valid.
    """
    found = authenticate_credentials(
        _first(params, KEY_PARAMS),
        bearer_token(_first(params, TOKEN_PARAMS), bare_allowed=True),
        cookies.get(jwt_settings.JWT_COOKIE_NAME),
    )
    if found is not None:
        return found
    session_key = cookies.get(settings.SESSION_COOKIE_NAME)
    if session_key:
        user = user_from_session(session_key)
        if user.is_authenticated:
            return user, Credential(SESSION, user.pk, session_key=session_key)
    return AnonymousUser(), None


def _standing(user) -> tuple:
    """What the visibility rule and token checks read of a user (products.querysets)."""
    return user.is_active, user.is_staff, user.get_username()


def current_users(credentials: Iterable[Credential],
                  known: Mapping[Credential, Any] | None = None) -> dict[Credential, Any]:
    """Each credential's user as of now, or None when the credential no longer holds.

    No longer holds: expired, API key revoked or expired, user deleted, deactivated or
    renamed (tokens name their user), session logged out or password changed.

    `known`: users the caller holds for some credentials; each comes back as the same object
    while its standing (active, staff, username) is unchanged. The hub checks thousands of
    subscribers before every event, and thousands of fresh model instances per event would
    cost more than the queries (allocations, then garbage collection over every socket).
    Queries: one for the standing of all users, one for all API keys, one per session, and
    one loading the users that changed or were not known.
    """
    credentials = list(credentials)
    known = known or {}
    user_model = get_user_model()
    standing = {
        pk: tuple(rest) for pk, *rest in user_model._default_manager
        .filter(pk__in={c.user_id for c in credentials})
        .values_list("pk", "is_active", "is_staff", user_model.USERNAME_FIELD)
    }
    key_ids = {c.api_key_id for c in credentials if c.api_key_id is not None}
    usable_keys = set(
        ApiKey.objects.usable().filter(pk__in=key_ids).values_list("pk", flat=True)
    ) if key_ids else set()
    now = time.time()
    current: dict[Credential, Any] = {}
    to_load = []
    for credential in credentials:
        state = standing.get(credential.user_id)
        holds = (
            state is not None
            and state[0]  # is_active
            and (credential.expires_at is None or credential.expires_at > now)
            and (credential.username is None or credential.username == state[2])
            and (credential.api_key_id is None or credential.api_key_id in usable_keys)
        )
        user = known.get(credential)
        if not holds:
            current[credential] = None
        elif (user is not None and credential.session_key is None
              and _standing(user) == state):
            current[credential] = user
        else:
            to_load.append(credential)
    loaded = user_model._default_manager.in_bulk({c.user_id for c in to_load}) if to_load else {}
    for credential in to_load:
        user = loaded.get(credential.user_id)
        if credential.session_key is not None and user is not None:
            user = user if _signed_in_by(_session_data(credential.session_key), user) else None
        current[credential] = user
    return current
