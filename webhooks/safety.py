"""Where a webhook may go: public addresses only, over https (SSRF protection).

A URL is vetted when it is registered and again before every attempt, because what a name
resolves to can change (DNS rebinding). Vetting resolves the host and refuses it if *any* of
its addresses is loopback, private, link-local (cloud metadata: 169.254.169.254), shared,
reserved or multicast; the attempt then connects to the address that was vetted, never
resolving again (webhooks/transport.py). Hosts in WEBHOOK_ALLOWED_HOSTS skip these checks
and may use plain http (a receiver on the same machine, tests).
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# Field error codes (schema/mutations.py upper-cases them).
UNSAFE_URL = "unsafe_url"
INSECURE_URL = "insecure_url"
INVALID_URL = "invalid"
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack...
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}


class RefusedURL(Exception):
    """A webhook URL we will not send to; `code` is its field error code."""

    def __init__(self, message: str, code: str = UNSAFE_URL) -> None:
        super().__init__(message)
        self.code = code


class UnresolvableHost(RefusedURL):
    """The host does not resolve now: refused at registration, retried at delivery."""

    def __init__(self, message: str) -> None:
        super().__init__(message, INVALID_URL)


@dataclass(frozen=True)
class Target:
    """A vetted URL and the address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def is_allow_listed(host: str) -> bool:
    allowed = {name.strip("[]").lower() for name in settings.WEBHOOK_ALLOWED_HOSTS}
    return host.lower() in allowed


def address_kind(address: str) -> str | None:
    """Why an address is not a public one ("loopback", ...), or None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    for kind in ("loopback", "link_local", "unspecified", "private", "multicast", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "non-public"


def _parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedURL(f"Not a valid URL: {error}.", INVALID_URL) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedURL("Give an absolute http(s) URL.", INVALID_URL)
    if parts.username is not None or parts.password is not None:
        raise RefusedURL("Credentials in the URL are not supported.", INVALID_URL)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnresolvableHost(f"The host {host} does not resolve.") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def vet(url: str) -> Target:
    """The target of `url`, or RefusedURL saying why we may not send there."""
    scheme, host, port, path = _parse(url)
    allowed = is_allow_listed(host)
    if scheme != "https" and not allowed:
        raise RefusedURL("Webhook URLs must use https.", INSECURE_URL)
    addresses = _resolve(host, port)
    if not allowed:
        for address in addresses:
            kind = address_kind(address)
            if kind is not None:
                raise RefusedURL(
                    f"The host {host} resolves to {address}, a {kind} address: webhooks go "
                    "to public addresses only."
                )
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
