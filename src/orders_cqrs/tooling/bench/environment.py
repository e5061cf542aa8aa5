"""The bench's own stores: a database, a Redis DB index, a stream, a scratch directory.

A benchmark that shares the dev database measures whatever else is in it and leaves rows
behind. So the bench creates ``orders_bench`` (migrated with Alembic, the same schema as
production), uses its own Redis DB index and stream name, keeps chDB data and generated
scripts in a temporary directory, and removes all of it at the end. It refuses to start on
a Redis DB that holds keys it did not put there: that is someone else's data.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from orders_cqrs.config import Settings
from orders_cqrs.db.connection import libpq_dsn

OWNER_KEY = "orders-bench:owner"
# SKUs are numbered 1000..1199: a four-digit number needs no padding, so the wrk and pgbench
# scripts turn a random integer into a seeded SKU (and its product name) by concatenation.
SKU_FIRST = 1000
SKU_COUNT = 200
SKU_LAST = SKU_FIRST + SKU_COUNT - 1
SKU_STOCK = 1_000_000_000  # the API's limit: no run can sell out
SKU_PRICE = 1999


def sku_name(number: int) -> str:
    """The seeded SKU with this number (``SKU_FIRST``..``SKU_LAST``)."""
    return f"SKU-BENCH-{number}"


def product_name(number: int) -> str:
    """The seeded product name of that SKU."""
    return f"Bench product {number}"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _with_redis_db(url: str, index: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{index}"))


@dataclass
class BenchEnv:
    """Names and addresses of everything the bench owns, derived from the dev settings."""

    base: Settings
    database: str = "orders_bench"
    redis_db: int = 9
    stream: str = "orders.bench.events"
    api_port: int = 18080
    keep: bool = False
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="orders-bench-")))
    checkout_key: str = field(default_factory=lambda: "ck_bench_" + secrets.token_hex(12))
    ops_key: str = field(default_factory=lambda: "ok_bench_" + secrets.token_hex(12))
    support_key: str = field(default_factory=lambda: "sk_bench_" + secrets.token_hex(12))

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the bench database."""
        return _with_database(self.base.database_url, self.database)

    @property
    def dsn(self) -> str:
        """libpq DSN of the bench database (pgbench, psycopg)."""
        return libpq_dsn(self.database_url)

    @property
    def admin_dsn(self) -> str:
        """libpq DSN of the maintenance database, to create and drop the bench database."""
        return libpq_dsn(_with_database(self.base.database_url, "postgres"))

    @property
    def redis_url(self) -> str:
        """The bench's Redis DB index on the dev Redis server."""
        return _with_redis_db(self.base.redis_url, self.redis_db)

    @property
    def api_url(self) -> str:
        """Where the bench's API process listens."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def chdb_dir(self) -> Path:
        """chDB data of the freshness phase's API process."""
        return self.scratch / "chdb"

    def env(self, **settings: str) -> dict[str, str]:
        """Environment of a service process started by the bench (``ORDERS_<KEY>`` overrides)."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("ORDERS_")}
        env.update(
            {
                "ORDERS_ENVIRONMENT": "test",
                # Production's log lines (one JSON line per request), not the console's
                # padded columns: the figures are those of the service as deployed.
                "ORDERS_LOG_FORMAT": "json",
                "ORDERS_DATABASE_URL": self.database_url,
                "ORDERS_REDIS_URL": self.redis_url,
                "ORDERS_OPENSEARCH_URL": self.base.opensearch_url,
                "ORDERS_CLICKHOUSE_URL": "",
                "ORDERS_STREAM_NAME": self.stream,
                "ORDERS_HOST": "127.0.0.1",
                "ORDERS_PORT": str(self.api_port),
                "ORDERS_API_KEYS": (
                    f"checkout:{self.checkout_key},ops:{self.ops_key},support:{self.support_key}"
                ),
                "ORDERS_RELAY_METRICS_PORT": "0",
                "ORDERS_PROJECTION_METRICS_PORT": "0",
                # up to 64 connections from wrk share the workers' pools
                "ORDERS_DB_POOL_SIZE": "20",
                "ORDERS_DB_MAX_OVERFLOW": "20",
            }
        )
        env.update({f"ORDERS_{key.upper()}": value for key, value in settings.items()})
        return env

    def settings(self) -> Settings:
        """Settings for in-process work against the bench stores (capture, probes)."""
        return Settings(
            environment="test",
            database_url=self.database_url,
            redis_url=self.redis_url,
            opensearch_url=self.base.opensearch_url,
            clickhouse_url="",
            stream_name=self.stream,
            api_keys=f"checkout:{self.checkout_key}",
        )

    def redis(self) -> redis.Redis:
        """A synchronous client on the bench's Redis DB (text replies)."""
        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    # ------------------------------------------------------------------ set-up

    def create(self) -> None:
        """Claim the Redis DB index; a fresh bench database at the newest schema, seeded."""
        self._claim_redis()
        self.create_database()

    def create_database(self) -> None:
        """(Re)create the database, ``alembic upgrade head`` it, seed the catalogue."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.database}"')
        migrated = subprocess.run(
            [sys.executable, "-m", "orders_cqrs.entrypoints.cli", "migrate"],
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"alembic upgrade head failed:\n{migrated.stderr[-2000:]}")
        self.seed()

    def seed(self) -> None:
        """200 SKUs, one price, stock no run can exhaust."""
        rows = [
            (sku_name(n), product_name(n), SKU_PRICE, "EUR", SKU_STOCK)
            for n in range(SKU_FIRST, SKU_LAST + 1)
        ]
        with psycopg.connect(self.dsn, autocommit=True) as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO products (sku, name, unit_price, currency, on_hand)"
                " VALUES (%s, %s, %s, %s, %s)",
                rows,
            )

    def _claim_redis(self) -> None:
        client = self.redis()
        try:
            owner = client.get(OWNER_KEY)
            if client.dbsize() and owner is None:
                raise SystemExit(
                    f"Redis DB {self.redis_db} holds keys the bench did not write;"
                    " pick another with --redis-db"
                )
            client.set(OWNER_KEY, str(os.getpid()))
        finally:
            client.close()

    # ---------------------------------------------------------------- clean-up

    def drop(self) -> None:
        """Remove everything the bench made (unless ``keep``): database, Redis DB, scratch."""
        if self.keep:
            return
        shutil.rmtree(self.scratch, ignore_errors=True)
        client = self.redis()
        try:
            if client.get(OWNER_KEY) is not None:  # ours: the claim put it there
                client.flushdb()
        finally:
            client.close()
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
