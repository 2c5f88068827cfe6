"""A real HTTP receiver on loopback, and a way to run the task worker until a condition holds:
what the tests (tests/test_webhooks*.py) and the benchmark (bench/webhooks.py) deliver to.

The receiver answers each POST with the next status of its script (200 once the script is
spent), records every request, and notes when one webhook-id arrives while another request
with the same id is still being answered (a parallel duplicate).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    at: float  # time.time() when the request arrived

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    def __init__(self, script: list[int | tuple] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[Received] = []
        self.parallel_duplicates: list[str] = []
        self._in_flight: set[str] = set()
        self._changed = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self) -> tuple[int, dict[str, str], float]:
        """The next step: a status, or (status, headers[, seconds to wait before answering])."""
        with self._changed:
            step = self.script.pop(0) if self.script else 200
        status, headers, delay = (*step, 0.0)[:3] if isinstance(step, tuple) else (step, {}, 0.0)
        return status, headers, delay

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver._begin(headers.get("webhook-id", ""))
                status, extra, delay = receiver._answer()
                try:
                    time.sleep(delay)
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (its time budget): recorded all the same
                finally:
                    receiver._end(Received(headers, body, status, arrived))

            def log_message(self, *args) -> None:
                pass

        return Handler

    def _begin(self, webhook_id: str) -> None:
        with self._changed:
            if webhook_id in self._in_flight:
                self.parallel_duplicates.append(webhook_id)
            self._in_flight.add(webhook_id)

    def _end(self, received: Received) -> None:
        with self._changed:
            self._in_flight.discard(received.webhook_id)
            self.requests.append(received)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """The first `count` requests, waiting at most `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.requests)} of {count} requests arrived")
                self._changed.wait(left)
            return list(self.requests[:count])


def run_worker_until(done: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run django-tasks-db's worker in this process, batch after batch, until `done()`."""
    from django_tasks_db.management.commands.db_worker import Worker

    from webhooks.tasks import QUEUE

    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold before the deadline")
        Worker(queue_names=[QUEUE], interval=0, batch=True, backend_name="default",
               startup_delay=False, max_tasks=None, worker_id="in-process",
               excluded_queue_names=[]).run()
        time.sleep(0.01)
