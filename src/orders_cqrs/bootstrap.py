"""The composition root: every client, port and the executor are built here and nowhere else.

Each process opens what it needs with ``open_container`` and gets one object that builds
each part on first use and closes all of them at the end of the block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import cached_property, partial

from opensearchpy import AsyncOpenSearch
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from orders_cqrs.api.routes.responses import response_shape
from orders_cqrs.config import ApiClient, Settings
from orders_cqrs.db.connection import libpq_dsn
from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.db.event_log import EventLog
from orders_cqrs.db.lookups import WriteModelLookups
from orders_cqrs.db.rebuilds import RebuildRegistry
from orders_cqrs.domain import commands
from orders_cqrs.domain.risk import RiskPolicy
from orders_cqrs.readmodels.admin import ProjectionAdmin
from orders_cqrs.readmodels.analytics.dashboards import Dashboards, StuckSla
from orders_cqrs.readmodels.analytics.projection import NAME as ANALYTICS
from orders_cqrs.readmodels.analytics.projection import AnalyticsProjection
from orders_cqrs.readmodels.analytics.session import ClickHouseSession, build_session
from orders_cqrs.readmodels.engine import EngineSettings
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.rebuild import BlueGreenTarget
from orders_cqrs.readmodels.search.generations import SearchIndexes
from orders_cqrs.readmodels.search.index import IndexNames
from orders_cqrs.readmodels.search.projection import SearchProjection
from orders_cqrs.readmodels.search.reader import SupportSearch
from orders_cqrs.readmodels.summary.generations import SummaryNamespaces
from orders_cqrs.readmodels.summary.projection import SummaryProjection
from orders_cqrs.readmodels.summary.reader import SummaryReader
from orders_cqrs.relay.relay import Relay
from orders_cqrs.write import admin_requests
from orders_cqrs.write.executor import Executor, Handlers
from orders_cqrs.write.handlers.admin import (
    close_admin_request,
    open_admin_request,
    release_admin_request,
)
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
from orders_cqrs.write.payments.authorization import PaymentAuthorizer, PaymentSettings
from orders_cqrs.write.payments.port import PaymentGateway
from orders_cqrs.write.payments.sandbox import sandbox_gateways
from orders_cqrs.write.unit_of_work import UnitOfWork, UnitOfWorkFactory, WritePool

# Every read model the stream feeds, whether or not this process runs it: their consumer groups
# are the live ones for stream retention (with the rebuilds running now). Not the projections
# this process's settings enable: a relay started without ClickHouse settings must still keep
# what a separate analytics projector has not read. A group of a name not here is orphaned.
STREAM_PROJECTIONS: frozenset[str] = frozenset({"summary", "search", ANALYTICS})


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


def _pg_options(settings: Settings, application: str = "orders-cqrs") -> str:
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
        admin_requests.OpenAdminRequest: open_admin_request,
        admin_requests.CloseAdminRequest: close_admin_request,
        admin_requests.ReleaseAdminRequest: release_admin_request,
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


class Container:
    """What one process has opened, each part built on first use and closed with the rest.

    A relay needs Redis, a projector its store and the dead-letter table, the API all of
    them: nothing is built before someone asks for it, so every process opens only what it
    uses, and everything in one process shares one engine and one client per store.
    """

    def __init__(self, settings: Settings, write_pool: WritePool | None = None) -> None:
        self.settings = settings
        self.api_clients: tuple[ApiClient, ...] = settings.api_clients
        self._write_pool = write_pool

    @property
    def write_pool(self) -> WritePool:
        """The command side's pool; only a container opened with ``commands=True`` has one."""
        if self._write_pool is None:
            raise RuntimeError("this process was opened without the command side")
        return self._write_pool

    @cached_property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine for everything that is not a command."""
        return build_engine(self.settings)

    @cached_property
    def redis(self) -> Redis:
        """The process's Redis client."""
        return build_redis(self.settings)

    @cached_property
    def search(self) -> AsyncOpenSearch:
        """The process's OpenSearch client."""
        return build_opensearch(self.settings)

    @cached_property
    def clickhouse(self) -> ClickHouseSession | None:
        """The process's one ClickHouse session; None without analytics."""
        return build_clickhouse(self.settings)

    @cached_property
    def gateways(self) -> dict[str, PaymentGateway]:
        """The payment providers, by name."""
        return sandbox_gateways(slow_seconds=self.settings.payment_slow_seconds)

    @cached_property
    def payment(self) -> PaymentSettings:
        """How long a provider may take."""
        return PaymentSettings(timeout_seconds=self.settings.payment_timeout_seconds)

    @cached_property
    def executor(self) -> Executor:
        """The one way a command runs."""
        pool = self.write_pool
        return build_executor(self.settings, lambda: UnitOfWork(pool), frozenset(self.gateways))

    @cached_property
    def authorizer(self) -> PaymentAuthorizer:
        """Payment authorization: executor steps around the provider call."""
        return PaymentAuthorizer(self.executor, self.gateways, self.payment)

    @cached_property
    def dead_letters(self) -> DeadLetterRepository:
        """Parked events of every projection."""
        return DeadLetterRepository(self.engine)

    @cached_property
    def event_log(self) -> EventLog:
        """The outbox read as the event log (rebuild scans, the unpublished count)."""
        return EventLog(self.engine)

    @cached_property
    def rebuilds(self) -> RebuildRegistry:
        """Rebuild leases (one rebuild per projection anywhere) and every rebuild's state."""
        settings = self.settings
        return RebuildRegistry(
            self.engine,
            dsn=libpq_dsn(settings.database_url),
            options=_pg_options(settings, "orders-cqrs-rebuild"),
        )

    @cached_property
    def lookups(self) -> WriteModelLookups:
        """Read-only questions to the write model."""
        return WriteModelLookups(self.engine)

    @cached_property
    def summary(self) -> SummaryReader:
        """Reads of the Redis order summary."""
        return SummaryReader(self.redis, wait_budget_seconds=self.settings.read_wait_budget_seconds)

    @cached_property
    def dashboards(self) -> Dashboards | None:
        """The dashboard queries; None without analytics."""
        return build_dashboards(self.settings, self.clickhouse)

    @cached_property
    def projections(self) -> dict[str, Projection]:
        """Every read model the stream feeds, by name."""
        return build_projections(
            self.redis,
            self.search,
            search_alias=self.settings.search_alias,
            clickhouse=self.clickhouse,
        )

    def relay(self) -> Relay:
        """A relay on this process's Redis client (it opens its own PostgreSQL connections:
        one of them LISTENs, which a pooled connection cannot)."""
        settings = self.settings
        return Relay(
            self.redis,
            dsn=libpq_dsn(settings.database_url),
            stream=settings.stream_name,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
            busy_poll_seconds=settings.relay_busy_poll_seconds,
            coalesce_seconds=settings.relay_coalesce_seconds,
            publish_delay_seconds=settings.relay_publish_delay_seconds,
            retention_seconds=settings.stream_retention_seconds,
            projections=STREAM_PROJECTIONS,
            connect_options=_pg_options(settings, "orders-cqrs-relay"),
        )

    @cached_property
    def admin(self) -> ProjectionAdmin:
        """Status, dead letters and rebuilds of every projection."""
        return ProjectionAdmin(
            self.projections,
            self.redis,
            self.dead_letters,
            self.event_log,
            self.engine_settings,
            self.rebuild_target,
            self.rebuilds,
            STREAM_PROJECTIONS,
        )

    @cached_property
    def support_search(self) -> SupportSearch:
        """The support index's search."""
        return SupportSearch(self.search, alias=self.settings.search_alias)

    @property
    def engine_settings(self) -> EngineSettings:
        """The projection engine's knobs."""
        return engine_settings(self.settings)

    def rebuild_target(self, name: str) -> BlueGreenTarget:
        """The blue/green target of a rebuildable projection (``ValueError`` if none)."""
        return rebuild_target(
            name, self.redis, self.search, search_alias=self.settings.search_alias
        )

    async def aclose(self) -> None:
        """Close what was opened, the write pool first (commands end before reads)."""
        if self._write_pool is not None:
            await self._write_pool.close()
        built = self.__dict__
        if "redis" in built:
            await self.redis.aclose()
        if "search" in built:
            await self.search.close()
        if built.get("clickhouse") is not None:
            await self.clickhouse.close()  # type: ignore[union-attr]
        if "engine" in built:
            await self.engine.dispose()


@asynccontextmanager
async def open_container(settings: Settings, *, commands: bool = False) -> AsyncIterator[Container]:
    """Everything a process uses, opened on demand and closed when the block ends.

    ``commands`` opens the write pool first (it needs the running event loop): the API, the
    reconciler, ``cleanup`` and the demo seed run commands; workers and ``verify`` do not.
    """
    write_pool = build_write_pool(settings) if commands else None
    if write_pool is not None:
        await write_pool.open()
    container = Container(settings, write_pool)
    try:
        yield container
    finally:
        await container.aclose()
