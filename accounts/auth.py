"""Who is asking: authenticate a request once, before the schema runs.

Credentials, in order:
1. `X-API-Key: vit_…` — the key's owner (see accounts.models.ApiKey);
2. `Authorization: Bearer <JWT>` — django-graphql-jwt's token;
3. the `JWT` cookie set by `tokenAuth(input: {cookie: true})` for browser clients;
4. otherwise Django's session (AuthenticationMiddleware), usually anonymous.

A credential that is present but wrong (bad signature, `alg: none`, expired, unknown or revoked
key, disabled user) is an error, never a silent fall-back to anonymous.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
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


def bearer_token(request: HttpRequest) -> str | None:
    """The token of `Authorization: Bearer <token>`; refuses any other Authorization header."""
    header = request.META.get(jwt_settings.JWT_AUTH_HEADER_NAME, "")
    if not header:
        return None
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != jwt_settings.JWT_AUTH_HEADER_PREFIX.lower():
        raise AuthenticationFailed(
            f"Send the token as `Authorization: {jwt_settings.JWT_AUTH_HEADER_PREFIX} <token>`.",
            JWT,
        )
    return parts[1]


def user_from_jwt(token: str, request: HttpRequest, method: str = JWT):
    try:
        user = get_user_by_payload(get_payload(token, request))
    except JSONWebTokenExpired:
        raise AuthenticationFailed("The token has expired.", method) from None
    except JSONWebTokenError:
        raise AuthenticationFailed("The token is invalid.", method) from None
    if user is None:
        raise AuthenticationFailed("The token is invalid.", method)
    return user


def user_from_api_key(key: str):
    failed = AuthenticationFailed("The API key is invalid, revoked or expired.", API_KEY)
    parts = split_key(key.strip())
    if parts is None:
        raise failed
    prefix, secret = parts
    api_key = ApiKey.objects.select_related("owner").filter(prefix=prefix).first()
    if api_key is None or not api_key.matches(secret):
        raise failed
    if not api_key.is_usable or not api_key.owner.is_active:
        raise failed
    api_key.touch()
    return api_key.owner, api_key


def authenticate_request(request: HttpRequest) -> None:
    """Set `request.user` and `request.auth_method` from the request's credentials.

    Raises AuthenticationFailed for a credential that is present but not valid.
    """
    key = request.META.get("HTTP_X_API_KEY")
    token = bearer_token(request)
    if key is not None and token is not None:
        raise AuthenticationFailed("Send either an API key or a token, not both.", API_KEY)
    if key is not None:
        request.user, request.api_key = user_from_api_key(key)
        request.auth_method = API_KEY
        return
    if token is not None:
        request.user = user_from_jwt(token, request)
        request.auth_method = JWT
        return
    cookie = request.COOKIES.get(jwt_settings.JWT_COOKIE_NAME)
    if cookie:
        request.user = user_from_jwt(cookie, request, JWT_COOKIE)
        request.auth_method = JWT_COOKIE
        return
    request.auth_method = SESSION
