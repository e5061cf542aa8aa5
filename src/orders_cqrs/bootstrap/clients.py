"""The store clients, each built from settings with short timeouts; nothing else builds them."""

from __future__ import annotations

import httpx
from opensearchpy import AsyncOpenSearch
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from orders_cqrs.config import Settings
from orders_cqrs.db.connection import libpq_dsn
from orders_cqrs.observability.db_pool import TimedQueuePool
from orders_cqrs.observability.prometheus_api import PrometheusApi
from orders_cqrs.readmodels.analytics.session import ClickHouseSession, build_session
from orders_cqrs.readmodels.engine import EngineSettings
from orders_cqrs.write.unit_of_work import WritePool


def build_engine(settings: Settings) -> AsyncEngine:
    """An async pool to PostgreSQL with bounded lock and statement waits, hiding parameters.

    The pool class is the default one, measured (``orders_db_pool_*``).
    """
    return create_async_engine(
        settings.database_url,
        poolclass=TimedQueuePool,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"options": pg_options(settings), "connect_timeout": 5},
        # A failed statement's error must not carry its parameters into a log (a payment
        # token, an email): SQLAlchemy shows "[parameters hidden]" instead.
        hide_parameters=True,
    )


def pg_options(settings: Settings, application: str = "orders-cqrs") -> str:
    return (
        f"-c lock_timeout={settings.db_lock_timeout_ms}"
        f" -c statement_timeout={settings.db_statement_timeout_ms}"
        f" -c application_name={application}"
    )


def build_write_pool(settings: Settings) -> WritePool:
    """The command side's psycopg pool (opened by ``Container.open``).

    Autocommit connections: each unit of work sends its own BEGIN and COMMIT, batched with
    its first and last statements (``db/session.py``).

    No check on checkout: a ping per command is a round trip per command. A connection that
    broke is dropped by the pool when it comes back, and the command fails as unavailable.
    """
    return AsyncConnectionPool(
        libpq_dsn(settings.database_url),
        min_size=min(4, settings.db_pool_size),
        max_size=settings.db_pool_size + settings.db_max_overflow,
        timeout=10,
        kwargs={"options": pg_options(settings), "connect_timeout": 5, "autocommit": True},
        name="orders-write",
        open=False,
    )


def build_redis(settings: Settings) -> Redis:
    """An async Redis client (text responses) with short timeouts: a dead Redis fails fast.

    After a restart or failover every pooled connection is dead and nothing notices until
    it is used: without a retry, each one fails one request. A *connection* error is retried
    on a new connection (twice, jittered): the command either never reached the server or,
    if the reply was lost, runs again, and every command of ours may: reads, the projector's
    version-guarded scripts, XADD (a duplicate entry is delivered at least once anyway), XACK.
    Timeouts are not retried: a slow Redis would only get slower requests.
    """
    return Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=10,
        retry=Retry(
            ExponentialWithJitterBackoff(base=0.02, cap=0.5),
            retries=2,
            supported_errors=(RedisConnectionError,),
        ),
    )


def engine_settings(settings: Settings) -> EngineSettings:
    """The projection engine's knobs."""
    return EngineSettings(
        stream=settings.stream_name,
        batch_size=settings.projection_batch_size,
        block_ms=settings.projection_block_ms,
        claim_idle_ms=settings.projection_claim_idle_ms,
        max_attempts=settings.projection_max_attempts,
        retry_base_seconds=settings.projection_retry_base_seconds,
    )


def build_opensearch(settings: Settings) -> AsyncOpenSearch:
    """An async OpenSearch client with short timeouts.

    It retries a request once on a connection error only (not on a timeout, not on a status):
    after a restart the kept-alive HTTP connections are dead, and the first request on each
    would fail. Our writes are versioned (external versioning) and reads are reads, so a
    request sent twice changes nothing.
    """
    return AsyncOpenSearch(
        hosts=[settings.opensearch_url],
        timeout=10,
        max_retries=1,
        retry_on_timeout=False,
        retry_on_status=(),
    )


def build_clickhouse(settings: Settings) -> ClickHouseSession | None:
    """The process's one ClickHouse session (opened on first use); None without analytics.

    Build it once per process and pass it around: with chDB the engine is per process.
    """
    return build_session(settings.clickhouse_url)


def build_prometheus(settings: Settings) -> PrometheusApi | None:
    """Prometheus' query API for the ops page; None when ``ORDERS_PROMETHEUS_URL`` is empty.

    Short timeouts: the page waits for it, and a Prometheus that is down must cost the page
    a message, not its responsiveness.
    """
    if not settings.prometheus_url:
        return None
    client = httpx.AsyncClient(
        base_url=settings.prometheus_url, timeout=httpx.Timeout(3.0, connect=1.0)
    )
    return PrometheusApi(client)
