"""Who is calling, as the limits see it: one `Client`, the same for every transport.

A client is its network address (REMOTE_ADDR, or the address GRAPHQL_TRUSTED_PROXIES hops
from the right of X-Forwarded-For when the service runs behind that many proxies) and, when
it sent one, the digest of its API key. It is computed once per HTTP request (from `META`)
or per websocket or SSE connection (from the ASGI scope), before authentication runs any SQL,
so the per-address guard (accounts/ratelimit.py) and the throttle never depend on the
transport.

Whose throttle bucket an operation draws from (`bucket`): the API key's, else the signed-in
user's, else the address's. The key is hashed so neither logs nor cache keys hold a secret.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

ADDRESS_PREFIX = "ip:"
UNKNOWN_ADDRESS = "unknown"


def key_digest(api_key: Any) -> str | None:
    """A stable, non-secret name of an API key (None when there is no key)."""
    if not isinstance(api_key, str) or not api_key.strip():
        return None
    return hashlib.sha256(api_key.strip().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def address_from(remote_addr: str | None, forwarded_for: str | None) -> str:
    """The client's address, trusting exactly GRAPHQL_TRUSTED_PROXIES proxies."""
    proxies = settings.GRAPHQL_TRUSTED_PROXIES
    if proxies > 0 and forwarded_for:
        hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return remote_addr or UNKNOWN_ADDRESS


@dataclass(frozen=True, slots=True)
class Client:
    address: str
    api_key: str | None = None
    """The digest of the API key the client sent (key_digest), if any."""

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Client:
        """The client of an HTTP request (Django's `request.META`)."""
        return cls(
            address_from(meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR")),
            key_digest(meta.get("HTTP_X_API_KEY")),
        )

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> Client:
        """The client of an ASGI connection (websocket or SSE), as from_meta would see it."""
        headers = {name.decode("latin1").lower(): value.decode("latin1")
                   for name, value in scope.get("headers", ())}
        remote = (scope.get("client") or (None,))[0]
        return cls(
            address_from(remote, headers.get("x-forwarded-for")),
            key_digest(headers.get("x-api-key")),
        )

    def with_api_key(self, api_key: Any) -> Client:
        """This client once it sent `api_key` some other way (a websocket's connection_init)."""
        digest = key_digest(api_key)
        return self if digest is None else Client(self.address, digest)

    def bucket(self, user: Any = None) -> str:
        """The throttle bucket of this client's operations as `user`."""
        if self.api_key is not None:
            return "key:" + self.api_key
        if user is not None and getattr(user, "is_authenticated", False):
            return f"user:{user.pk}"
        return ADDRESS_PREFIX + self.address
