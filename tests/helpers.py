"""Helpers the test modules share (fixtures live in tests/conftest.py)."""
from __future__ import annotations

import socket
from typing import Any

from graphql_relay import to_global_id


def gid(obj: Any) -> str:
    """The global ID of a model instance (GraphQL type names match model names)."""
    return to_global_id(type(obj).__name__, obj.pk)


def free_port() -> int:
    """A loopback TCP port nobody listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
