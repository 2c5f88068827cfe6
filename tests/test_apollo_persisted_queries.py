"""Apollo Client's own PersistedQueryLink against the real server (automatic persisted
queries): hash miss, registration by resending the query, then a hit by hash alone over GET.
"""
from __future__ import annotations

import pytest

from tests.live_server import needs_node_clients, run_node

pytest_plugins = ["tests.live_server"]
pytestmark = [pytest.mark.node, needs_node_clients, pytest.mark.django_db(transaction=True)]


def test_apollo_persisted_query_link_registers_then_hits_over_get(asgi_server, catalog):
    report = run_node("apollo-apq.mjs", asgi_server)
    visible = sorted(p.name for key, p in catalog["products"].items() if key != "draft")

    registering = report["registering"]
    assert registering["names"] == visible[:3]
    miss, register = registering["exchanges"]
    # The hash alone first (a GET, as the query is cacheable): the server does not know it,
    # a request error, so 400 under application/graphql-response+json (which Apollo accepts).
    assert miss == {"method": "GET", "status": 400, "sentQuery": False, "hash": miss["hash"]}
    # The link resends with the query and the same hash, which registers it.
    assert register["sentQuery"] is True and register["hash"] == miss["hash"]
    assert register["status"] == 200

    # A fresh client (empty cache) is answered from the hash alone, in one GET.
    hit = report["hit"]
    assert hit["names"] == visible[:3]
    assert hit["exchanges"] == [
        {"method": "GET", "status": 200, "sentQuery": False, "hash": miss["hash"]}
    ]
