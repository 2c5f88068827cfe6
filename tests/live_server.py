"""The real ASGI server, and the real clients (Node scripts, Chromium) run against it.

A test module opts in with ``pytest_plugins = ["tests.live_server"]`` and asks for the
``asgi_server`` fixture: `uvicorn project.asgi:application` in a subprocess on a free loopback
port, with production settings (DEBUG off), using the test database of the pytest process that
started it. One server per pytest process (xdist worker) serves all its tests.

``asgi_server_with(**env)`` (a session fixture) starts servers with other settings, one per
environment and pytest process, on first use: ``asgi_server_with(DEBUG="1")``,
``asgi_server_with(GRAPHQL_INTROSPECTION="staff")``.

The server is another process with its own database connections: it sees only committed rows.
Tests using it are marked ``django_db`` (so that pytest-django creates the test database at
all), and those that create data for it must commit: ``django_db(transaction=True)`` (or the
``transactional_db`` fixture); the rows are flushed after each such test.

Client helpers: `run_node` runs a script of tests/clients/ (installed by bin/setup-clients)
and returns the JSON it printed; `require_node_clients` and `require_browser` skip with an
install hint when a client is missing, but fail when CI=true, where nothing may skip.

(PYTEST_DONT_REWRITE: test modules import helpers from here before pytest loads it as their
plugin; it has no asserts to rewrite.)
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from tests.helpers import free_port

BASE_DIR = Path(__file__).resolve().parent.parent
CLIENTS_DIR = BASE_DIR / "tests" / "clients"
ARTIFACTS_DIR = BASE_DIR / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SERVER_SECRET_KEY = "vitrine-live-server-test-secret-key-long-enough-for-hs256"
STARTUP_TIMEOUT = 30.0


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip locally; under CI=true a missing client or tool is a failure, not a skip."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: nothing may skip)", pytrace=False)
    pytest.skip(reason)


# -- The server --------------------------------------------------------------------------


def database_url(base_url: str, name: str) -> str:
    """`base_url` (a DATABASE_URL as project/settings.py reads it) naming database `name`."""
    parts = urlsplit(base_url)
    if not parts.scheme.startswith("postgres"):
        raise RuntimeError(f"The live server needs PostgreSQL, not {parts.scheme!r}.")
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


@dataclass
class LiveServer:
    """A running `uvicorn project.asgi:application`; `url` ends without a slash."""

    url: str
    port: int
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql/"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)


def start_server(database: str, extra_env: dict[str, str] | None = None,
                 attempts: int = 3) -> LiveServer:
    """Start uvicorn on the `database` of DATABASE_URL's server; wait until it answers GraphQL.

    `extra_env` overrides the environment (e.g. REDIS_URL for the websocket tests).
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DEBUG": "0",
        "SECRET_KEY": SERVER_SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url(os.environ["DATABASE_URL"], database),
        "DATABASE_CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    # The project's own introspection default ("on"), not this shell's: the clients under test
    # introspect (graphql-http's audits query `__type`, GraphiQL loads the schema). Other
    # policies: asgi_server_with(GRAPHQL_INTROSPECTION=...).
    if "GRAPHQL_INTROSPECTION" not in (extra_env or {}):
        env.pop("GRAPHQL_INTROSPECTION", None)
    failures = []
    for _ in range(attempts):
        port = free_port()
        log_file = tempfile.NamedTemporaryFile(
            prefix=f"vitrine-uvicorn-{port}-", suffix=".log", delete=False
        )
        process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "project.asgi:application",
                "--host", "127.0.0.1", "--port", str(port),
                "--lifespan", "off", "--log-level", "warning", "--no-access-log",
            ],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        log_file.close()
        server = LiveServer(
            url=f"http://127.0.0.1:{port}", port=port, process=process,
            log_path=Path(log_file.name), env=env,
        )
        problem = _wait_until_ready(server)
        if problem is None:
            return server
        server.stop()
        log = server.log()[-3000:]
        failures.append(f"{problem}\n{log}")
        if "address already in use" not in log.lower():
            break
    raise RuntimeError("The ASGI server did not start:\n" + "\n---\n".join(failures))


def _wait_until_ready(server: LiveServer) -> str | None:
    """None once the server answers `{ __typename }`, else what the last probe got."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    probe = urllib.request.Request(
        server.graphql_url + "?query=%7B__typename%7D", headers={"Accept": "application/json"}
    )
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return f"the server exited with {server.process.returncode}"
        try:
            with urllib.request.urlopen(probe, timeout=2) as response:
                body = response.read()
            if json.loads(body).get("data") == {"__typename": "Query"}:
                return None
            last = f"unexpected answer {body[:300]!r}"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}: {error.read()[:300]!r}"
        except (OSError, ValueError) as error:
            last = repr(error)
        time.sleep(0.1)
    return f"not ready after {STARTUP_TIMEOUT:.0f} s ({last})"


def _test_database_name() -> str:
    from django.db import connection

    # django_db_setup switched the connection to this process's test database, but only if a
    # collected test is marked django_db (pytest-django sets up no database otherwise).
    name = connection.settings_dict["NAME"]
    if name != connection.creation._get_test_db_name():
        pytest.fail("tests using asgi_server must be marked django_db (transaction=True when "
                    "they write rows for the server)", pytrace=False)
    return name


@pytest.fixture(scope="session")
def asgi_server(django_db_setup):
    """The live ASGI server of this pytest process, on its test database."""
    server = start_server(_test_database_name())
    try:
        yield server
    finally:
        server.stop()
        server.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def asgi_server_with(django_db_setup):
    """`asgi_server_with(**env)`: a live server with `env` over the usual settings (DEBUG="1",
    GRAPHQL_INTROSPECTION="staff", ...), started on first use and shared by the session."""
    name = _test_database_name()
    servers: dict[tuple[tuple[str, str], ...], LiveServer] = {}

    def server_with(**env: str) -> LiveServer:
        key = tuple(sorted(env.items()))
        if key not in servers:
            servers[key] = start_server(name, dict(env))
        return servers[key]

    try:
        yield server_with
    finally:
        for server in servers.values():
            server.stop()
            server.log_path.unlink(missing_ok=True)


# -- Clients -----------------------------------------------------------------------------


def missing_node_clients() -> str | None:
    """Why the Node client scripts cannot run here, or None."""
    if shutil.which("node") is None:
        return "Node.js is not installed: the client tests need node >= 20 and npm"
    if not (CLIENTS_DIR / "node_modules" / ".package-lock.json").exists():
        return "tests/clients has no node_modules: run bin/setup-clients"
    return None


def missing_browser() -> str | None:
    """Why Playwright cannot drive Chromium here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"no Chromium at {CHROMIUM}: run bin/setup-clients as root "
                "(apt-get install chromium), or set CHROMIUM_PATH")
    return missing_node_clients()


def require_node_clients() -> None:
    if reason := missing_node_clients():
        skip_or_fail(reason)


def require_browser() -> str:
    """The Chromium executable (Playwright drives it from Node)."""
    if reason := missing_browser():
        skip_or_fail(reason)
    return CHROMIUM


# Module marks: skip at collection, before the server starts, when a client is missing.
# Under CI=true they do not skip; the test's require_*() call fails instead.
needs_node_clients = pytest.mark.skipif(
    not in_ci() and missing_node_clients() is not None,
    reason=missing_node_clients() or "",
)
needs_browser = pytest.mark.skipif(
    not in_ci() and missing_browser() is not None, reason=missing_browser() or ""
)


def run_node(script: str, server: LiveServer | None = None, *, timeout: float = 60,
             env: dict[str, str] | None = None) -> Any:
    """Run tests/clients/`script` and return the JSON value of the last line it printed.

    The script gets SERVER_URL (the server's root URL) and GRAPHQL_URL. A script that exits
    non-zero or prints no JSON fails the test with its output.
    """
    require_node_clients()
    node_env = {**os.environ, **(env or {})}
    if server is not None:
        node_env.update(SERVER_URL=server.url, GRAPHQL_URL=server.graphql_url)
    try:
        completed = subprocess.run(
            ["node", str(CLIENTS_DIR / script)],
            cwd=CLIENTS_DIR, env=node_env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"node {script} timed out after {timeout} s:\n{error.stderr}", pytrace=False)
    lines = completed.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else None
    except ValueError:
        result = None
    if completed.returncode != 0 or result is None:
        server_log = server.log()[-3000:] if server is not None else ""
        pytest.fail(
            f"node {script} exited {completed.returncode}\n"
            f"--- stdout\n{completed.stdout[-5000:]}\n--- stderr\n{completed.stderr[-5000:]}"
            + (f"\n--- server log\n{server_log}" if server_log else ""),
            pytrace=False,
        )
    return result


def stop_process(process: subprocess.Popen) -> None:
    """Terminate `process`, killing it if it does not exit within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def set_server_password(user, password: str) -> None:
    """Give `user` a password the live server can check.

    The test settings hash with MD5, which the server's production settings do not accept;
    PBKDF2 with few iterations is accepted there and still quick to check.
    """
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    user.password = PBKDF2PasswordHasher().encode(password, "livesalt", iterations=1000)
    user.save(update_fields=["password"])
