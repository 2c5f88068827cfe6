"""Signing up and in (django-graphql-jwt tokens), and API keys.

Token failures are top-level `UNAUTHENTICATED` errors; too many failed sign-ins are
`RATE_LIMITED`. Problems with the input of `register` and `createApiKey` are `errors`.
"""
from __future__ import annotations

import graphene
from graphene.types.generic import GenericScalar
from graphql_jwt.settings import jwt_settings

from accounts import services
from accounts.types import ApiKeyType, UserType
from schema.mutations import Mutation
from schema.node import decode_global_id


def _use_cookies(request, token: str, refresh_token: services.IssuedRefreshToken) -> None:
    """Ask the view's jwt_cookie wrapper to set HttpOnly cookies on the response."""
    request.jwt_token = token
    request.jwt_refresh_token = refresh_token


class TokenFields:
    token = graphene.String(required=True, description="The JWT: `Authorization: Bearer …`.")
    refresh_token = graphene.String(
        required=True,
        description="Use once with refreshToken; it is rotated on use. Used again, it "
        "revokes every refresh token of this sign-in.",
    )
    payload = GenericScalar(
        required=True,
        description="The JWT's claims as an object: `username`, `exp` (when the JWT expires) "
        "and `origIat` (when it was issued), times in Unix seconds.",
    )
    refresh_expires_in = graphene.Int(
        required=True, description="When the refresh token expires (Unix time)."
    )
    user = graphene.Field(UserType, required=True, description="The signed-in user.")


def _token_payload(cls, request, user, tokens, cookie: bool):
    token, refresh_token, payload, refresh_expires_in = tokens
    if cookie:
        _use_cookies(request, token, refresh_token)
    return cls(
        token=token,
        refresh_token=refresh_token.token,
        payload=payload,
        refresh_expires_in=refresh_expires_in,
        user=user,
    )


class Register(Mutation):
    """Create an account; Django's password validators apply."""

    user = graphene.Field(UserType, description="The new account; sign in with `tokenAuth`.")

    class Input:
        username = graphene.String(
            required=True,
            description="Up to 150 characters: letters, digits and @ . + - _; unique, ignoring "
            "case (UNIQUE).",
        )
        email = graphene.String(description="Optional; only you see it (`me { email }`).")
        password = graphene.String(
            required=True,
            description="Checked by the server's password rules: not too short, too common, "
            "all digits or too like the username.",
        )

    @classmethod
    def perform(cls, info, username, password, email=""):
        return cls(user=services.register(username, email, password))


class TokenAuth(TokenFields, Mutation):
    """Sign in: a short-lived JWT and a long-running refresh token."""

    class Input:
        username = graphene.String(required=True, description="Your username.")
        password = graphene.String(
            required=True,
            description="Your password. Repeated failures for an account or from an address "
            "are refused for a while (RATE_LIMITED, `extensions.retryAfter` in seconds).",
        )
        cookie = graphene.Boolean(
            default_value=False, description="Also set both tokens as HttpOnly cookies."
        )

    @classmethod
    def perform(cls, info, username, password, cookie=False):
        request = info.context
        user = services.sign_in(request, username, password)
        return _token_payload(cls, request, user, services.issue_tokens(request, user), cookie)


class VerifyToken(Mutation):
    """Check a JWT: its claims if it is valid, has not expired and its user is active;
    UNAUTHENTICATED otherwise."""

    payload = GenericScalar(
        required=True, description="The JWT's claims (`username`, `exp`, `origIat`)."
    )

    class Input:
        token = graphene.String(description="Defaults to the JWT cookie.")

    @classmethod
    def perform(cls, info, token=None):
        request = info.context
        token = token or request.COOKIES.get(jwt_settings.JWT_COOKIE_NAME) or ""
        return cls(payload=services.verify(request, token))


class RefreshToken(TokenFields, Mutation):
    """A new JWT and a new refresh token; the one presented stops working. Presenting a
    refresh token that was already used (or revoked) is taken as theft: every refresh token
    descended from the same sign-in is revoked, the newest included, and UNAUTHENTICATED
    asks to sign in again. Refresh once per token: two tabs refreshing with the same one
    sign the user out."""

    class Input:
        refresh_token = graphene.String(description="Defaults to the refresh-token cookie.")
        cookie = graphene.Boolean(
            default_value=False,
            description="Also set both new tokens as HttpOnly cookies; always so when the "
            "refresh token came from its cookie.",
        )

    @classmethod
    def perform(cls, info, refresh_token=None, cookie=False):
        request = info.context
        from_cookie = refresh_token is None
        if from_cookie:
            refresh_token = request.COOKIES.get(jwt_settings.JWT_REFRESH_TOKEN_COOKIE_NAME, "")
        user, tokens = services.rotate_refresh_token(request, refresh_token)
        return _token_payload(cls, request, user, tokens, cookie or from_cookie)

    @classmethod
    def mutate_and_get_payload(cls, root, info, **input):
        """Revoke a reused token's family once the mutation's transaction has rolled back:
        the revocation must stick although the mutation fails."""
        try:
            return super().mutate_and_get_payload(root, info, **input)
        except services.RefreshTokenReused as reused:
            services.revoke_families([reused.family])
            raise


class RevokeToken(Mutation):
    """Revoke a refresh token (sign out); clears the cookies if they were used."""

    revoked = graphene.Int(required=True, description="When it was revoked (Unix time).")

    class Input:
        refresh_token = graphene.String(description="Defaults to the refresh-token cookie.")

    @classmethod
    def perform(cls, info, refresh_token=None):
        request = info.context
        if refresh_token is None:
            refresh_token = request.COOKIES.get(jwt_settings.JWT_REFRESH_TOKEN_COOKIE_NAME, "")
            request.delete_jwt_cookie = True
            request.delete_refresh_token_cookie = True
        revoked = services.revoke_refresh_token(request, refresh_token)
        return cls(revoked=int(revoked.timestamp()))


class CreateApiKey(Mutation):
    """A new API key for the viewer. `key` is shown here only: store it now. Needs a token
    sign-in: an API key cannot create keys (FORBIDDEN)."""

    api_key = graphene.Field(
        ApiKeyType, description="The new key as `myApiKeys` lists it (its prefix, no secret)."
    )
    key = graphene.String(description="The full key for the `X-API-Key` header; shown once.")

    class Input:
        name = graphene.String(
            required=True, description="What the key is for, up to 100 characters."
        )
        expires_at = graphene.DateTime(description="Never expires when omitted.")

    @classmethod
    def perform(cls, info, name, expires_at=None):
        api_key, key = services.create_api_key(info.context, name, expires_at)
        return cls(api_key=api_key, key=key)


class RevokeApiKey(Mutation):
    """Deactivate one of your API keys at once (again: no change). Needs a token sign-in: an
    API key cannot revoke keys (FORBIDDEN)."""

    api_key = graphene.Field(ApiKeyType, description="The key, now `isActive: false`.")

    class Input:
        id = graphene.ID(required=True, description="The ApiKey ID.")

    @classmethod
    def perform(cls, info, id):
        key_id = decode_global_id(id, "ApiKey")
        return cls(api_key=services.revoke_api_key(info.context, key_id))


class Mutations(graphene.ObjectType):
    register = Register.Field()
    token_auth = TokenAuth.Field()
    verify_token = VerifyToken.Field()
    refresh_token = RefreshToken.Field()
    revoke_token = RevokeToken.Field()
    create_api_key = CreateApiKey.Field()
    revoke_api_key = RevokeApiKey.Field()
