"""Fixtures shared by every suite: real PostgreSQL and Redis, migrated, and real API processes.

Nothing here fakes a store. If the stores are not running, ``scripts/services`` starts them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEST_DB = "postgresql+psycopg://orders:orders@127.0.0.1:55432/orders_test"
TEST_REDIS_URL = os.environ.get("ORDERS_TEST_REDIS_URL", "redis://127.0.0.1:56379/1")
OPENSEARCH_URL = os.environ.get("ORDERS_OPENSEARCH_URL", "http://127.0.0.1:19200")
TABLES = (
    "audit_log, idempotency_receipts, outbox, payment_attempts, refunds, shipments,"
    " support_notes, order_lines, payments, orders, products, projection_dead_letters"
)


def plain_dsn(url: str) -> str:
    """A libpq DSN from an SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")


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


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ApiServer:
    """A real ``orders-cqrs api`` process (uvicorn) on its own port."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # A file, not a pipe: a pipe nobody reads fills up and hangs a chatty server.
    log: Any = field(default_factory=lambda: tempfile.TemporaryFile())  # noqa: SIM115

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        env = {**os.environ, **self.env, "ORDERS_PORT": str(self.port)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orders_cqrs.entrypoints.cli", "api"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"api exited: {self.log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("api did not become ready")

    def kill9(self) -> None:
        """SIGKILL: no shutdown hooks, no flush, like a crashed host."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def worker_env(database_url: str, settings: dict[str, str]) -> dict[str, str]:
    """Environment of a process under test: the test stores plus ``ORDERS_<KEY>`` settings."""
    env = {
        "ORDERS_DATABASE_URL": database_url,
        "ORDERS_REDIS_URL": TEST_REDIS_URL,
        "ORDERS_OPENSEARCH_URL": OPENSEARCH_URL,
        # Analytics (an in-process chDB engine per API) only where a test asks for it.
        "ORDERS_CLICKHOUSE_URL": "",
        "ORDERS_ENVIRONMENT": "test",
        # One API process unless a test asks for more: kill -9 must take the whole API down.
        "ORDERS_API_WORKERS": "1",
        "ORDERS_RELAY_METRICS_PORT": "0",
        "ORDERS_PROJECTION_METRICS_PORT": "0",
    }
    env.update({f"ORDERS_{k.upper()}": str(v) for k, v in settings.items()})
    return env


@dataclass
class Worker:
    """A real ``orders-cqrs relay`` or ``orders-cqrs project <name>`` process."""

    args: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orders_cqrs.entrypoints.cli", *self.args],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def kill9(self) -> None:
        """SIGKILL mid-whatever-it-was-doing."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM and wait: the graceful path."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


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
def api(db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]) -> ApiServer:
    """One API process on an empty database."""
    return start_api()
