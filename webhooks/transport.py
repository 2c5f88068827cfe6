"""One HTTP POST to a vetted target, within a hard time budget, reading a bounded excerpt.

http.client rather than a client library: it follows no redirects by itself, lets us connect
to the address webhooks/safety.py vetted (no second DNS lookup for a rebinding attacker to
answer differently) while sending the real Host header and TLS server name, and needs no new
dependency. A watchdog shuts the socket down when the attempt's budget is spent, so a receiver
trickling bytes cannot hold a worker longer than WEBHOOK_TIMEOUT_SECONDS.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import Message

from webhooks.safety import Target

EXCERPT_BYTES = 1024
USER_AGENT = "Vitrine-Webhooks/1"


class TransportError(Exception):
    """No HTTP answer: connection refused or reset, timeout, TLS failure. Retried."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    excerpt: str


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the vetted address; Host stays the URL's host."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class PinnedHTTPSConnection(PinnedHTTPConnection):
    default_port = http.client.HTTPS_PORT

    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def _watchdog(connection: PinnedHTTPConnection, budget: float) -> threading.Timer:
    def expire() -> None:
        if connection.sock is not None:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(budget, expire)
    timer.daemon = True
    timer.start()
    return timer


def post(target: Target, body: bytes, headers: dict[str, str], budget: float) -> Answer:
    """POST `body`; the answer's status, headers and first EXCERPT_BYTES of its body."""
    cls = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    connection = cls(target, timeout=budget)
    started = time.monotonic()
    timer = _watchdog(connection, budget)
    try:
        connection.request("POST", target.path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT,
            "Connection": "close", **headers,
        })
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", errors="replace")
        return Answer(status=response.status, headers=response.headers, excerpt=excerpt)
    except (OSError, http.client.HTTPException) as error:
        if time.monotonic() - started >= budget:
            raise TransportError(f"No answer within {budget:g} s.") from None
        raise TransportError(f"{type(error).__name__}: {error}".rstrip(": ")) from None
    finally:
        timer.cancel()
        connection.close()
