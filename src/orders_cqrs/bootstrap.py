"""The composition root: the only place that builds engines, gateways and executors."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from opensearchpy import AsyncOpenSearch
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from orders_cqrs.api.routes.responses import response_shape
from orders_cqrs.config import ApiClient, Settings
from orders_cqrs.db.connection import libpq_dsn
from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.domain import commands
from orders_cqrs.domain.risk import RiskPolicy
from orders_cqrs.readmodels.analytics.dashboards import Dashboards, StuckSla
from orders_cqrs.readmodels.analytics.projection import AnalyticsProjection
from orders_cqrs.readmodels.analytics.session import ClickHouseSession, build_session
from orders_cqrs.readmodels.engine import EngineSettings
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.rebuild import BlueGreenTarget, RebuildReport
from orders_cqrs.readmodels.search.generations import SearchIndexes
from orders_cqrs.readmodels.search.index import IndexNames
from orders_cqrs.readmodels.search.projection import SearchProjection
from orders_cqrs.readmodels.summary.generations import SummaryNamespaces
from orders_cqrs.readmodels.summary.projection import SummaryProjection
from orders_cqrs.readmodels.summary.reader import SummaryReader
from orders_cqrs.write.executor import Executor, Handlers
from orders_cqrs.write.handlers.authorize import (
    abandon_payment_attempt,
    record_authorization,
    record_payment_attempt,
    record_payment_timeout,
)
from orders_cqrs.write.handlers.inventory import put_product
from orders_cqrs.write.handlers.lifecycle import (
    cancel_order,
    capture_payment,
    deliver_order,
    ship_order,
)
from orders_cqrs.write.handlers.place_order import PlacementPolicy, place_order
from orders_cqrs.write.handlers.support import add_support_note, issue_refund
from orders_cqrs.write.payments import steps
from orders_cqrs.write.payments.authorization import PaymentSettings
from orders_cqrs.write.payments.port import PaymentGateway
from orders_cqrs.write.payments.sandbox import sandbox_gateways
from orders_cqrs.write.unit_of_work import UnitOfWork, UnitOfWorkFactory, WritePool


def build_engine(settings: Settings) -> AsyncEngine:
    """An async pool to PostgreSQL with bounded lock and statement waits."""
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"options": _pg_options(settings), "connect_timeout": 5},
    )


def _pg_options(settings: Settings) -> str:
    return (
        f"-c lock_timeout={settings.db_lock_timeout_ms}"
        f" -c statement_timeout={settings.db_statement_timeout_ms}"
        " -c application_name=orders-cqrs"
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
        kwargs={"options": _pg_options(settings), "connect_timeout": 5, "autocommit": True},
        name="orders-write",
        open=False,
    )


def build_redis(settings: Settings) -> Redis:
    """An async Redis client (text responses) with short timeouts: a dead Redis fails fast."""
    return Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=10,
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
    """An async OpenSearch client with short timeouts and no hidden retries (the engine retries)."""
    return AsyncOpenSearch(hosts=[settings.opensearch_url], timeout=10, max_retries=0)


def build_clickhouse(settings: Settings) -> ClickHouseSession | None:
    """The process's one ClickHouse session (opened on first use); None without analytics.

    Build it once per process and pass it around: with chDB the engine is per process.
    """
    return build_session(settings.clickhouse_url)


def build_dashboards(settings: Settings, clickhouse: ClickHouseSession | None) -> Dashboards | None:
    """The dashboard queries, with the stuck-order SLAs from settings."""
    if clickhouse is None:
        return None
    sla = StuckSla(
        pending_payment=settings.stuck_authorizing_seconds,
        authorized=settings.stuck_authorized_seconds,
        captured=settings.stuck_captured_seconds,
    )
    return Dashboards(clickhouse, sla)


def build_projections(
    redis: Redis,
    search: AsyncOpenSearch,
    *,
    search_alias: str,
    clickhouse: ClickHouseSession | None = None,
) -> dict[str, Projection]:
    """Every read model the stream feeds, by name (analytics only when ClickHouse is set)."""
    projections: dict[str, Projection] = {
        "summary": SummaryProjection(redis),
        "search": SearchProjection(search, index=search_alias),
    }
    if clickhouse is not None:
        projections["analytics"] = AnalyticsProjection(clickhouse)
    return projections


def rebuild_target(
    name: str, redis: Redis, search: AsyncOpenSearch, *, search_alias: str
) -> BlueGreenTarget:
    """The blue/green target of a rebuildable projection."""
    targets: dict[str, BlueGreenTarget] = {
        "summary": SummaryNamespaces(redis),
        "search": SearchIndexes(search, names=IndexNames(search_alias)),
    }
    if name not in targets:
        raise ValueError(f"no rebuild for {name!r}; rebuildable: {', '.join(targets)}")
    return targets[name]


def build_handlers(settings: Settings, providers: frozenset[str]) -> Handlers:
    """Every command's handler, by command type, each called as ``(command, uow, ctx)``.

    What a handler needs besides those three (the placement policy, the refund window) is
    bound here, once, from settings.
    """
    placement = PlacementPolicy(
        providers=providers,
        risk=RiskPolicy(
            large_amount_minor=settings.risk_large_amount_minor,
            velocity_max_orders=settings.risk_velocity_max_orders,
        ),
        velocity_window=timedelta(seconds=settings.risk_velocity_window_seconds),
    )
    return {
        commands.PutProduct: put_product,
        commands.PlaceOrder: partial(place_order, policy=placement),
        commands.CapturePayment: capture_payment,
        commands.CancelOrder: cancel_order,
        commands.ShipOrder: ship_order,
        commands.DeliverOrder: deliver_order,
        commands.IssueRefund: partial(
            issue_refund, window=timedelta(days=settings.refund_window_days)
        ),
        commands.AddSupportNote: add_support_note,
        steps.RecordPaymentAttempt: record_payment_attempt,
        steps.RecordAuthorization: record_authorization,
        steps.RecordPaymentTimeout: record_payment_timeout,
        steps.AbandonPaymentAttempt: abandon_payment_attempt,
    }


def build_executor(
    settings: Settings, uow_factory: UnitOfWorkFactory, providers: frozenset[str]
) -> Executor:
    """The one way commands run: the handler table, with the API's response shapes."""
    return Executor(
        uow_factory,
        build_handlers(settings, providers),
        response_shape,
        receipt_ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
        receipt_lease=timedelta(seconds=settings.idempotency_lease_seconds),
    )


@dataclass
class Container:
    """Everything a process needs, built once from settings."""

    settings: Settings
    engine: AsyncEngine
    write_pool: WritePool
    executor: Executor
    gateways: dict[str, PaymentGateway]
    payment: PaymentSettings
    api_clients: tuple[ApiClient, ...]
    redis: Redis
    summary: SummaryReader
    dead_letters: DeadLetterRepository
    projections: dict[str, Projection]
    search: AsyncOpenSearch
    clickhouse: ClickHouseSession | None = None
    dashboards: Dashboards | None = None
    rebuilds: dict[str, asyncio.Task[RebuildReport]] = field(default_factory=dict)

    async def open(self) -> None:
        """Open the write pool (it needs the running event loop)."""
        await self.write_pool.open()

    async def aclose(self) -> None:
        """Close the pools and the store clients."""
        await self.write_pool.close()
        await self.redis.aclose()
        await self.search.close()
        if self.clickhouse is not None:
            await self.clickhouse.close()
        await self.engine.dispose()


def build_container(settings: Settings) -> Container:
    """Wire the write side from settings."""
    engine = build_engine(settings)
    write_pool = build_write_pool(settings)
    redis = build_redis(settings)
    search = build_opensearch(settings)
    clickhouse = build_clickhouse(settings)
    gateways = sandbox_gateways(slow_seconds=settings.payment_slow_seconds)
    return Container(
        settings=settings,
        engine=engine,
        write_pool=write_pool,
        executor=build_executor(settings, lambda: UnitOfWork(write_pool), frozenset(gateways)),
        gateways=gateways,
        payment=PaymentSettings(timeout_seconds=settings.payment_timeout_seconds),
        api_clients=settings.api_clients,
        redis=redis,
        summary=SummaryReader(redis, wait_budget_seconds=settings.read_wait_budget_seconds),
        dead_letters=DeadLetterRepository(engine),
        projections=build_projections(
            redis, search, search_alias=settings.search_alias, clickhouse=clickhouse
        ),
        search=search,
        clickhouse=clickhouse,
        dashboards=build_dashboards(settings, clickhouse),
    )
