"""Fixtures shared by every suite: real PostgreSQL and Redis, migrated, and real API processes.

Nothing here fakes a store. If the stores are not running, ``scripts/services`` starts them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from tests.helpers.processes import ApiServer, Worker, worker_env
from tests.helpers.search import reset_search_state
from tests.helpers.stores import DEFAULT_TEST_DB, ROOT, TABLES, TEST_REDIS_URL, plain_dsn


def _reachable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def database_url() -> str:
    """The migrated test database; the stores are started and the schema upgraded if needed."""
    url = os.environ.get("ORDERS_DATABASE_URL", DEFAULT_TEST_DB)
    if not (_reachable("127.0.0.1", 55432) and _reachable("127.0.0.1", 56379)):
        subprocess.run([str(ROOT / "scripts" / "services"), "start"], check=True)
    dbname = url.rsplit("/", 1)[1]
    admin = plain_dsn(url.rsplit("/", 1)[0] + "/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if exists is None:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    env = {**os.environ, "ORDERS_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to an emptied test database, for arranging and asserting."""
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    with psycopg.connect(plain_dsn(database_url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
        yield conn


@pytest.fixture
def fresh_search_state() -> None:
    """Delete the support indexes and their template before the test (OpenSearch is shared)."""
    reset_search_state()


@pytest.fixture
def start_worker(database_url: str) -> Iterator[Callable[..., Worker]]:
    """Start relay / projector processes with extra settings; all are stopped after the test."""
    workers: list[Worker] = []

    def start(*args: str, **settings: str) -> Worker:
        worker = Worker(list(args), worker_env(database_url, settings)).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.process is not None and worker.process.poll() is None:
            worker.kill9()


@pytest.fixture
def start_api(database_url: str) -> Iterator[Callable[..., ApiServer]]:
    """Start API processes with extra settings; all are stopped after the test."""
    servers: list[ApiServer] = []

    def start(**settings: str) -> ApiServer:
        server = ApiServer(env=worker_env(database_url, settings)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def start_pipeline(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
) -> Callable[..., ApiServer]:
    """Start the read pipeline on an empty database: an API, a relay and projectors behind it.

    ``projections`` names the projectors to run (the summary unless told otherwise),
    ``relay`` and ``projector`` are extra settings of those processes; the other keywords are
    the API's settings.
    """

    def start(
        projections: Sequence[str] = ("summary",),
        relay: Mapping[str, str] | None = None,
        projector: Mapping[str, str] | None = None,
        **api_settings: str,
    ) -> ApiServer:
        api = start_api(**api_settings)
        start_worker("relay", **(relay or {}))
        for name in projections:
            start_worker("project", name, **(projector or {}))
        return api

    return start


@pytest.fixture
def dashboards_api(start_pipeline: Callable[..., ApiServer], tmp_path: Path) -> ApiServer:
    """An API that projects analytics itself (chDB is in-process, on the test's own path), with
    1 s SLAs so that pending and authorized orders are stuck soon, and a relay polling often."""
    return start_pipeline(
        projections=(),
        relay={"relay_poll_seconds": "0.2"},
        clickhouse_url=f"chdb://{tmp_path / 'chdb'}",
        stuck_authorizing_seconds="1",
        stuck_authorized_seconds="1",
        projection_block_ms="200",
    )


@pytest.fixture
def api(db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]) -> ApiServer:
    """One API process on an empty database."""
    return start_api()
