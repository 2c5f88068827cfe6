"""`bin/run` alone delivers webhooks: started as the README says (SQLite, nothing else
running), it serves GraphQL and its task worker delivers a signed event to a receiver on
loopback; stopping bin/run stops the worker too."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from standardwebhooks import Webhook

from tests.helpers import free_port
from webhooks.testing import Receiver

BASE_DIR = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 180.0  # bin/setup, migrate and the first start's demo catalog


def post(url: str, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps({"query": query, "variables": variables}).encode(),
        headers=headers, method="POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        result = json.load(response)
    assert "errors" not in result, result
    return result["data"]


def wait_until_serving(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"bin/run exited:\n{log.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(url + "?query=%7B__typename%7D", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"bin/run did not serve in time:\n{log.read_text()[-3000:]}")


def group_exited(pgid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_bin_run_alone_delivers_webhooks(tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "PORT": str(port), "HOST": "127.0.0.1", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
           "UVICORN_LOG_LEVEL": "warning"}
    for name in ("DATABASE_TEST_NAME", "REDIS_URL", "DEBUG"):
        env.pop(name, None)
    log = tmp_path / "bin-run.log"
    with log.open("wb") as output:
        process = subprocess.Popen([str(BASE_DIR / "bin" / "run")], cwd=BASE_DIR, env=env,
                                   stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    graphql = f"http://127.0.0.1:{port}/graphql/"
    try:
        wait_until_serving(process, graphql, log)
        token = post(graphql, "mutation { tokenAuth(input: {username: \"staff\", "
                     "password: \"vitrine-demo\"}) { token } }", {})["tokenAuth"]["token"]
        with Receiver() as receiver:
            secret = post(graphql, "mutation($url: String!) { createWebhookEndpoint(input: "
                          "{url: $url, eventTypes: [PRODUCT_UPDATED]}) { secret } }",
                          {"url": receiver.url}, token)["createWebhookEndpoint"]["secret"]
            product = post(graphql, "{ products(first: 1) { edges { node { id } } } }",
                           {})["products"]["edges"][0]["node"]["id"]
            post(graphql, "mutation($id: ID!) { updateProduct(input: {id: $id, name: "
                 "\"Hooked\"}) { errors { code } } }", {"id": product}, token)
            (received,) = receiver.wait_for(1, timeout=30)
        body = Webhook(secret).verify(received.body, received.headers)
        assert body["type"] == "product.updated" and body["data"]["name"] == "Hooked"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert group_exited(process.pid), "bin/run left its worker or server running"
