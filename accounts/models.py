"""Credentials stored as hashes: API keys and refresh tokens, each shown in plain text once.

API keys are long-lived credentials for scripts and servers. A key reads `vit_<id>_<secret>`.
The `vit_<id>` part is stored as `prefix` (unique, for lookup and for listing); of the secret
only its SHA-256 is stored. The secret has 256 bits of entropy, so a fast hash is enough:
nobody can guess their way back from the hash.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid
from calendar import timegm
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from graphql_jwt.settings import jwt_settings

KEY_PREFIX = "vit_"
_ID_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 10


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    parts = key.split("_", 2)
    if len(parts) != 3 or len(parts[1]) != _ID_LENGTH or not parts[2]:
        return None
    return f"{KEY_PREFIX}{parts[1]}", parts[2]


class ApiKeyQuerySet(models.QuerySet):
    def usable(self) -> ApiKeyQuerySet:
        return self.filter(is_active=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="api_keys", on_delete=models.CASCADE
    )
    prefix = models.CharField(max_length=20, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API key"
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, owner, name: str, expires_at=None) -> tuple[ApiKey, str]:
        """Create a key; return it with the plain key, which is never stored."""
        key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))
        secret = secrets.token_urlsafe(32)
        api_key = cls.objects.create(
            owner=owner,
            name=name,
            prefix=f"{KEY_PREFIX}{key_id}",
            secret_hash=hash_secret(secret),
            expires_at=expires_at,
        )
        return api_key, f"{KEY_PREFIX}{key_id}_{secret}"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.is_active and not self.is_expired

    def touch(self) -> None:
        """Record use, writing at most once per resolution window (a conditional UPDATE)."""
        now = timezone.now()
        window = timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_SECONDS)
        if self.last_used is not None and now - self.last_used < window:
            return
        ApiKey.objects.filter(pk=self.pk).filter(
            Q(last_used__isnull=True) | Q(last_used__lt=now - window)
        ).update(last_used=now)
        self.last_used = now


class RefreshTokenQuerySet(models.QuerySet):
    def for_token(self, token: str) -> RefreshTokenQuerySet:
        """The row of a plain refresh token, found by its hash."""
        return self.filter(token_hash=hash_secret(token))


class RefreshToken(models.Model):
    """A refresh token (the long-running kind django-graphql-jwt issues), kept as its SHA-256:
    a copy of the table lets nobody refresh. Random tokens, so a fast hash is enough.

    Each use revokes it and issues its successor in the same `family`, one family per sign-in.
    A revoked token presented again was copied (by a thief, or used by the user after a thief
    did): the whole family is revoked, so whoever holds its newest token must sign in again
    (refresh token rotation with reuse detection, OAuth 2.0 Security Best Current Practice).
    """

    # No reverse accessor: graphql_jwt's own model, whose table is no longer used, has
    # `user.refresh_tokens`.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="+",
                             on_delete=models.CASCADE)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    family = models.UUIDField(default=uuid.uuid4, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    revoked = models.DateTimeField(null=True, blank=True)

    objects = RefreshTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["family"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.token_hash[:8]}…"

    @classmethod
    def issue(cls, user, family: uuid.UUID | None = None) -> tuple[RefreshToken, str]:
        """A new token of `user`, in `family` (a new one when None), and the plain token,
        which is never stored."""
        token = secrets.token_hex(jwt_settings.JWT_REFRESH_TOKEN_N_BYTES)
        refresh_token = cls.objects.create(
            user=user, token_hash=hash_secret(token), family=family or uuid.uuid4()
        )
        return refresh_token, token

    @property
    def expires_at(self) -> int:
        """Unix time after which it is refused."""
        return timegm((self.created + jwt_settings.JWT_REFRESH_EXPIRATION_DELTA).timetuple())

    def is_expired(self, request=None) -> bool:
        return jwt_settings.JWT_REFRESH_EXPIRED_HANDLER(timegm(self.created.timetuple()), request)

    def revoke(self) -> None:
        self.revoked = timezone.now()
        self.save(update_fields=["revoked"])
