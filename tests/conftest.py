"""Shared fixtures: the app on a real database (SQLite and PostgreSQL), clients, live servers.

Every test that uses ``app`` runs once per database backend. The schema is
built by the Alembic migrations, never by ``create_all``, so the migrations
are what the tests exercise. PostgreSQL gets a database of its own per test
session, dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psycopg
import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from zapp import create_app
from zapp.db import build_engine, upgrade_schema
from zapp.models import Base
from zapp.sales.breaker import forget_breakers
from zapp.sandbox.app import Sandbox, SandboxOptions, attach_sandbox
from zapp.sandbox.server import RunningSandbox, start_sandbox

POSTGRES_ADMIN_URL = os.environ.get("ZAPP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ZAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ("sqlite", "postgresql")
APP_ID = "zapp-test-app"
APP_SECRET = "test-app-secret-5f1c0e"
SIGNING_KEY = "test-signing-key-9b2d4a7e"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- databases -----------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database for this test session, migrated once."""
    name = f"zapp_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    url = f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    engine = build_engine(url)
    upgrade_schema(engine)
    engine.dispose()
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file that each test copies, so migrating happens once."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = build_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_reset(postgres_database) -> Iterator[Callable[[], None]]:
    """Empty the session's PostgreSQL database as a fresh one: every table, every id sequence.

    A pooled connection kept for the session (pre-pinged: a test may kill it)
    and one round trip of DELETEs (the tables hold a test's few rows) cost a
    tenth of a TRUNCATE through a new engine.
    """
    engine = create_engine(postgres_database, pool_size=1, pool_pre_ping=True)
    with engine.connect() as connection:
        sequences = connection.scalars(
            text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'")
        ).all()
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    statements = [f'DELETE FROM "{table}"' for table in tables]  # noqa: S608 - the models' own names
    statements += [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences]
    script = "; ".join(statements)

    def reset() -> None:
        with engine.begin() as connection:
            connection.exec_driver_sql(script)

    yield reset
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """A clean, migrated database: a fresh SQLite file, or the session's PostgreSQL emptied."""
    if request.param == "sqlite":
        path = tmp_path / "zapp.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    request.getfixturevalue("postgres_reset")()
    return request.getfixturevalue("postgres_database")


# -- the app -------------------------------------------------------------------


@pytest.fixture
def encryption_keys() -> list[str]:
    return [Fernet.generate_key().decode()]


@pytest.fixture
def app_env(database_url, encryption_keys, tmp_path) -> dict[str, str]:
    """The environment a test app (or a live server) is configured from."""
    return {
        "ZAPP_MODE": "test",
        "ZAPP_DATABASE_URL": database_url,
        "ZAPP_APP_ID": APP_ID,
        "ZAPP_APP_SECRET": APP_SECRET,
        "ZAPP_SIGNING_KEY": SIGNING_KEY,
        "ZAPP_ENCRYPTION_KEYS": ",".join(encryption_keys),
        "ZAPP_PUBLIC_URL": "http://zapp.test",
        # A queue per test: jobs left by one test (retrying against its stopped sandbox) stay there.
        "ZAPP_JOBS_PATH": str(tmp_path / "jobs.db"),
        "ZAPP_LOG_FORMAT": "json",
        "ZAPP_LOG_LEVEL": "INFO",
    }


@pytest.fixture
def app(app_env):
    application = create_app(app_env)
    yield application
    application.extensions["zapp"].database.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def creds() -> dict[str, str]:
    return {"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET}


@pytest.fixture
def install(client, creds):
    """Install an instance with a fresh key and return that key."""

    def _install(enabled: bool | None = True) -> str:
        key = "key-" + uuid.uuid4().hex
        integration = {"apiKey": key} if enabled is None else {"apiKey": key, "enabled": enabled}
        response = client.post("/lifecycle/install", json={"integration": integration}, headers=creds)
        assert response.status_code == 201, response.get_data(as_text=True)
        return key

    return _install


# -- live servers ----------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_for(
    url: str, process: subprocess.Popen, log_path: Path, seconds: float = 30, workers: int = 0
) -> None:
    """Until ``url`` answers and, for gunicorn, its ``workers`` have all loaded the app (its "Worker
    ready" lines): a test timing its answers must not time a worker still starting."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            ready = log_path.read_text(errors="replace").count("Worker ready") >= workers
            if requests.get(url, timeout=1).ok and ready:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not come up at {url}:\n{log_path.read_text()}")


@pytest.fixture
def gunicorn_server(app_env, tmp_path) -> Iterator:
    """Start gunicorn serving zapp with the test environment (plus ``extra`` variables)."""
    started: list[LiveServer] = []
    logs: list[IO[str]] = []

    def _start(extra: dict[str, str] | None = None, workers: int = 2, port: int | None = None) -> LiveServer:
        port = port or free_port()
        env = {**os.environ, **app_env, "ZAPP_PUBLIC_URL": f"http://127.0.0.1:{port}", **(extra or {})}
        log_path = tmp_path / f"gunicorn-{port}.log"
        log_file = log_path.open("w")
        logs.append(log_file)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:zapp.gunicorn_config",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "zapp:create_app()",
            ],
            env=env,
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
        started.append(server)
        _wait_for(server.url + "/healthz", process, log_path, seconds=60, workers=workers)
        return server

    yield _start
    for server in started:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
    for log_file in logs:
        log_file.close()


@pytest.fixture
def zapp_worker(app_env, tmp_path) -> Iterator:
    """Start ``zapp worker`` processes with the test environment (plus ``extra``)."""
    started: list[subprocess.Popen] = []
    logs: list[IO[str]] = []

    def _start(extra: dict[str, str] | None = None) -> subprocess.Popen:
        log_path = tmp_path / f"worker-{len(started)}.log"
        logs.append(log_path.open("w"))
        process = subprocess.Popen(
            [sys.executable, "-m", "zapp.cli", "worker", "--threads", "2"],
            env={**os.environ, **app_env, **(extra or {})},
            cwd=ROOT,
            stdout=logs[-1],
            stderr=subprocess.STDOUT,
        )
        process.log_path = log_path  # type: ignore[attr-defined]
        started.append(process)
        return process

    yield _start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    for log_file in logs:
        log_file.close()


def sent_to(sandbox, prospect_id: str) -> list[dict]:
    """What the sandbox recorded as sent to the prospect (templates, text, files), oldest first."""
    response = requests.get(
        f"{sandbox.base_url}/_sandbox/messages", params={"prospect": prospect_id}, timeout=10
    )
    assert response.ok, response.text
    return response.json()


def contact_writes(sandbox, api_key: str, prospect_id: str, channel: str = "whatsapp", **extra) -> dict:
    """The contact sends a message on ``channel``: Sales records it and opens the conversation window."""
    body = {"apiKey": api_key, "prospect": prospect_id, "channel": channel, "content": "Oi!", **extra}
    response = requests.post(f"{sandbox.base_url}/_sandbox/inbound", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def wait_until(predicate, seconds: float = 30, interval: float = 0.1, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds} s waiting for {message}")


# -- the Sales sandbox -------------------------------------------------------------


class SandboxServers:
    """Sandbox HTTP servers kept for the whole session.

    Building a sandbox's Flask app and starting its server is most of what a
    sandbox costs; each test still gets a Sales of its own: a fresh
    ``Sandbox`` (state, accounts, keys, faults, delivery) served by an idle
    server, handed back when the test ends.
    """

    def __init__(self) -> None:
        self._idle: list[RunningSandbox] = []
        self._started: list[RunningSandbox] = []

    def take(self, options: SandboxOptions) -> RunningSandbox:
        if not self._idle:
            running = start_sandbox(options)
            self._started.append(running)
            return running
        running = self._idle.pop()
        attach_sandbox(running.app, Sandbox(options))
        return running

    def give_back(self, running: RunningSandbox) -> None:
        running.sandbox.stop()  # its delivery thread; the next test gets a new Sandbox
        self._idle.append(running)

    def close(self) -> None:
        for running in self._started:
            running.stop()


@pytest.fixture(scope="session")
def sandbox_servers() -> Iterator[SandboxServers]:
    servers = SandboxServers()
    yield servers
    servers.close()


@pytest.fixture
def sandbox_factory(sandbox_servers):
    """Start Sales sandboxes (real HTTP servers) sharing this app's credentials; each is a fresh Sales,
    done with at teardown."""
    taken = []

    def _start(**options):
        defaults = {
            "prospects": 200,
            "seed": 3,
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "signing_key": SIGNING_KEY,
            "delivery_backoff": 0.05,
        }
        sandbox = sandbox_servers.take(SandboxOptions(**{**defaults, **options}))
        taken.append(sandbox)
        return sandbox

    yield _start
    drifted = [problem for sandbox in taken for problem in sandbox.state.violations]
    for sandbox in taken:
        sandbox_servers.give_back(sandbox)
    forget_breakers()  # the next test's sandbox, at the same address, must not find a breaker this one opened
    assert not drifted, f"the sandbox sent what the Sales reference does not allow: {drifted[:5]}"


@pytest.fixture
def sandbox(sandbox_factory):
    return sandbox_factory()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database for this test, emptied before and after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()
