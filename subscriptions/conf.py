"""Limits of the websocket transport, read from Django settings with these defaults.

Each name is read from Django settings if set there (tests override them with `settings`),
else from the environment variable of the same name, else the default:

- SUBSCRIPTIONS_INIT_TIMEOUT (3 s): time allowed between the handshake and `connection_init`;
  after it the socket closes with 4408 (both subprotocols).
- SUBSCRIPTIONS_MAX_OPERATIONS (100): operations (subscriptions and running queries) one
  connection may have active at once; one more is refused with an `error` message.
- SUBSCRIPTIONS_MAX_MESSAGE_BYTES (65536): largest client message; a larger one closes the
  socket with 4400.
- SUBSCRIPTIONS_SEND_QUEUE (100): subscription events waiting to be written to one slow
  client; past it the oldest waiting event is dropped (see subscriptions/consumer.py).
- SUBSCRIPTIONS_KEEPALIVE (12 s): interval of the legacy protocol's `ka` messages (the
  subscriptions-transport-ws client gives up after 30 s without one).
- SUBSCRIPTIONS_GROUP ("products"): the channel-layer group product events are sent to.
- SUBSCRIPTIONS_EVENT_RETENTION (3600 s): how long published events stay in the outbox
  (subscriptions/outbox.py), for hubs catching up after the channel layer lost some.
- SUBSCRIPTIONS_CATCH_UP_INTERVAL (2 s): how often a hub re-joins its group and reads the
  outbox for events the layer did not bring (with Redis only).
- SUBSCRIPTIONS_SLOW_CLIENT_SECONDS (30 s): a websocket whose send queue stays full this long
  is closed with 4008 (subscriptions/consumer.py), before the server's keepalive would.
- SUBSCRIPTIONS_COMMIT_TIMESTAMPS (off; env SUBSCRIPTIONS_COMMIT_TIMESTAMPS=1): add
  `extensions.committedAt` (the publisher's clock at commit, epoch seconds) to every event,
  which bench/fanout.py uses to measure commit-to-delivery latency.
"""
from __future__ import annotations

import os

from django.conf import settings


def _env(name: str, default, kind=str):
    value = os.environ.get(name)
    return default if value is None or not value.strip() else kind(value)


DEFAULTS = {
    "SUBSCRIPTIONS_INIT_TIMEOUT": _env("SUBSCRIPTIONS_INIT_TIMEOUT", 3.0, float),
    "SUBSCRIPTIONS_MAX_OPERATIONS": _env("SUBSCRIPTIONS_MAX_OPERATIONS", 100, int),
    "SUBSCRIPTIONS_MAX_MESSAGE_BYTES": _env("SUBSCRIPTIONS_MAX_MESSAGE_BYTES", 64 * 1024, int),
    "SUBSCRIPTIONS_SEND_QUEUE": _env("SUBSCRIPTIONS_SEND_QUEUE", 100, int),
    "SUBSCRIPTIONS_KEEPALIVE": _env("SUBSCRIPTIONS_KEEPALIVE", 12.0, float),
    "SUBSCRIPTIONS_GROUP": _env("SUBSCRIPTIONS_GROUP", "products"),
    "SUBSCRIPTIONS_EVENT_RETENTION": _env("SUBSCRIPTIONS_EVENT_RETENTION", 3600.0, float),
    "SUBSCRIPTIONS_CATCH_UP_INTERVAL": _env("SUBSCRIPTIONS_CATCH_UP_INTERVAL", 2.0, float),
    "SUBSCRIPTIONS_SLOW_CLIENT_SECONDS": _env("SUBSCRIPTIONS_SLOW_CLIENT_SECONDS", 30.0, float),
    "SUBSCRIPTIONS_COMMIT_TIMESTAMPS": os.environ.get("SUBSCRIPTIONS_COMMIT_TIMESTAMPS") == "1",
}


def setting(name: str):
    """The value of `name` now (read on every use, so test overrides apply)."""
    return getattr(settings, name, DEFAULTS[name])
