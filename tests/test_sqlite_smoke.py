"""The project runs on SQLite too: migrate, seed and answer a query, in a fresh process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

QUERY_SNIPPET = """
import json
from django.test import Client
query = "{ products(first: 5) { totalCount edges { node { name price category { name } } } } }"
response = Client().post("/graphql/", {"query": query}, content_type="application/json")
print("RESULT " + json.dumps({"status": response.status_code, "body": response.json()}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, f"manage.py {args[0]} failed:\n{completed.stderr}"
    return completed.stdout


def test_migrate_seed_and_query_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DEBUG": "1",
    }
    env.pop("REDIS_URL", None)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_catalog", "--products", "30", "--users", "4", "--quiet")
    output = manage(env, "shell", "-c", QUERY_SNIPPET)

    result = json.loads(output.split("RESULT ", 1)[1])
    assert result["status"] == 200
    body = result["body"]
    assert "errors" not in body, body["errors"]
    products = body["data"]["products"]
    assert products["totalCount"] > 0
    assert len(products["edges"]) == 5
    for edge in products["edges"]:
        node = edge["node"]
        assert node["name"]
        assert float(node["price"]) > 0
        assert node["category"]["name"]
