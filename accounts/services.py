"""Writes to accounts: registering users, issuing and revoking credentials."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import authenticate, get_user_model, user_logged_in
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from graphql_jwt.exceptions import JSONWebTokenError
from graphql_jwt.shortcuts import get_token
from graphql_jwt.utils import get_payload, get_user_by_payload

from accounts import permissions, ratelimit
from accounts.models import ApiKey, RefreshToken
from accounts.viewer import NotAuthenticated


@transaction.atomic
def register(username: str, email: str, password: str):
    User = get_user_model()
    user = User(username=(username or "").strip(), email=(email or "").strip())
    errors: dict[str, list[ValidationError]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        errors.update(error.error_dict)
    if user.username and User.objects.filter(username__iexact=user.username).exists():
        errors.setdefault("username", []).append(
            ValidationError("A user with that username already exists.", code="unique")
        )
    try:
        validate_password(password, user)
    except ValidationError as error:
        errors["password"] = error.error_list
    if errors:
        # One message per problem: Django reports `unique` twice when both checks catch it.
        if "username" in errors:
            codes_seen, unique_errors = set(), []
            for item in errors["username"]:
                if item.code not in codes_seen:
                    codes_seen.add(item.code)
                    unique_errors.append(item)
            errors["username"] = unique_errors
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError(
            {"username": ValidationError("A user with that username already exists.",
                                         code="unique")}
        ) from None
    return user


@dataclass(frozen=True, slots=True)
class IssuedRefreshToken:
    """A refresh token as handed out: the plain `token` (the database keeps its hash) and when
    it was `created`, which graphql_jwt's jwt_cookie reads to set the cookie and its expiry."""

    token: str
    created: datetime


def issue_tokens(request, user, family: uuid.UUID | None = None):
    """(JWT, new refresh token, JWT payload, refresh token expiry as a Unix time); the refresh
    token continues `family`, or starts one (a sign-in)."""
    token = get_token(user, request)
    refresh_token, plain = RefreshToken.issue(user, family)
    return (token, IssuedRefreshToken(plain, refresh_token.created),
            get_payload(token, request), refresh_token.expires_at)


def sign_in(request, username: str, password: str):
    """The user for these credentials; failures count towards the rate limits."""
    ratelimit.check_sign_in_allowed(request, username)
    request._jwt_token_auth = True  # the JWT backend must not read the header here
    user = authenticate(request=request, username=username, password=password)
    if user is None:
        ratelimit.record_failure(request, username)
        raise NotAuthenticated("Please enter valid credentials.")
    ratelimit.record_success(request, username)
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    request.user = user
    return user


def verify(request, token: str) -> dict:
    """The token's payload, if it is valid and its user still exists and is active."""
    try:
        payload = get_payload(token, request)
        if get_user_by_payload(payload) is None:  # raises for a disabled user
            raise JSONWebTokenError("The token's user no longer exists.")
    except JSONWebTokenError as error:
        raise NotAuthenticated(str(error) or "The token is invalid.") from None
    return payload


class RefreshTokenReused(NotAuthenticated):
    """A revoked refresh token came back, so it was copied. Raising rolls back the caller's
    transaction: the caller revokes `family` afterwards (`revoke_families`)."""

    def __init__(self, family: uuid.UUID) -> None:
        super().__init__(
            "The refresh token was already used: every token of this sign-in is now revoked. "
            "Sign in again."
        )
        self.family = family


@transaction.atomic
def rotate_refresh_token(request, token: str):
    """Revoke `token` and issue its successor in the same family: a refresh token works once.
    A revoked one presented again raises RefreshTokenReused."""
    refresh_token = (
        RefreshToken.objects.select_for_update().select_related("user").for_token(token).first()
    )
    if refresh_token is None:
        raise NotAuthenticated("The refresh token is invalid.")
    if refresh_token.revoked is not None:
        raise RefreshTokenReused(refresh_token.family)
    if refresh_token.is_expired(request):
        raise NotAuthenticated("The refresh token has expired.")
    user = refresh_token.user
    if not user.is_active:
        raise NotAuthenticated("The user is disabled.")
    refresh_token.revoke()
    request.user = user
    return user, issue_tokens(request, user, refresh_token.family)


def revoke_families(families: Iterable[uuid.UUID]) -> int:
    """Revoke the live tokens descended from these sign-ins, as after a reuse: the user and
    whoever copied a token both have to sign in again. How many were revoked."""
    return RefreshToken.objects.filter(family__in=families, revoked__isnull=True).update(
        revoked=timezone.now()
    )


@transaction.atomic
def revoke_refresh_token(request, token: str) -> datetime:
    refresh_token = (
        RefreshToken.objects.select_for_update().for_token(token)
        .filter(revoked__isnull=True).first()
    )
    if refresh_token is None:
        raise NotAuthenticated("The refresh token is invalid or was already revoked.")
    refresh_token.revoke()
    return refresh_token.revoked


@transaction.atomic
def create_api_key(request, name: str, expires_at=None) -> tuple[ApiKey, str]:
    permissions.require_manage_api_keys(request)
    errors: dict[str, list[ValidationError]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [ValidationError("Name the key.", code="required")]
    elif len(name) > 100:
        errors["name"] = [ValidationError("Use at most 100 characters.", code="max_length")]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [ValidationError("Pick a time in the future.", code="min_value")]
    if errors:
        raise ValidationError(errors)
    return ApiKey.issue(request.user, name, expires_at)


@transaction.atomic
def revoke_api_key(request, key_id: int) -> ApiKey:
    permissions.require_manage_api_keys(request)
    api_key = ApiKey.objects.select_for_update().filter(owner=request.user, pk=key_id).first()
    if api_key is None:
        raise ApiKey.DoesNotExist("API key not found.")
    if api_key.is_active:
        api_key.is_active = False
        api_key.save(update_fields=["is_active"])
    return api_key
