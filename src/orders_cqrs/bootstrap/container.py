"""The container of one process, and ``open_container``: build on first use, close at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property

from opensearchpy import AsyncOpenSearch
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from orders_cqrs.bootstrap.clients import (
    build_clickhouse,
    build_engine,
    build_opensearch,
    build_prometheus,
    build_redis,
    build_write_pool,
    engine_settings,
    pg_options,
)
from orders_cqrs.bootstrap.handlers import build_executor
from orders_cqrs.bootstrap.readmodels import (
    STREAM_PROJECTIONS,
    build_dashboards,
    build_projections,
    rebuild_target,
)
from orders_cqrs.config import ApiClient, Settings
from orders_cqrs.db.backfills import BackfillLocks
from orders_cqrs.db.connection import libpq_dsn
from orders_cqrs.db.console_sessions import ConsoleSessionStore
from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.db.event_log import EventLog
from orders_cqrs.db.history import OrderHistory
from orders_cqrs.db.login_throttle import LoginThrottle
from orders_cqrs.db.lookups import WriteModelLookups
from orders_cqrs.db.outbox_archive import OutboxArchive
from orders_cqrs.db.rebuilds import RebuildRegistry
from orders_cqrs.db.staff_accounts import StaffAccounts
from orders_cqrs.observability.prometheus_api import PrometheusApi
from orders_cqrs.readmodels.admin import ProjectionAdmin
from orders_cqrs.readmodels.analytics.dashboards import Dashboards
from orders_cqrs.readmodels.analytics.projection import NAME as ANALYTICS
from orders_cqrs.readmodels.analytics.session import ClickHouseSession
from orders_cqrs.readmodels.backfill import Backfill
from orders_cqrs.readmodels.engine import EngineSettings
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.rebuild import BlueGreenTarget
from orders_cqrs.readmodels.search.reader import SupportSearch
from orders_cqrs.readmodels.summary.reader import SummaryReader
from orders_cqrs.relay.relay import Relay
from orders_cqrs.staff.passwords import Passwords
from orders_cqrs.staff.signin import StaffSignIn, ThrottleRules
from orders_cqrs.web.session import ConsoleSessions, CookieSigner
from orders_cqrs.write.executor import Executor
from orders_cqrs.write.payments.authorization import PaymentAuthorizer, PaymentSettings
from orders_cqrs.write.payments.port import PaymentGateway
from orders_cqrs.write.payments.sandbox import sandbox_gateways
from orders_cqrs.write.payments.voiding import OrderCanceller
from orders_cqrs.write.unit_of_work import UnitOfWork, WritePool


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
    def canceller(self) -> OrderCanceller:
        """Cancel: executor steps around the provider's void of a hold."""
        return OrderCanceller(self.executor, self.gateways, self.payment)

    @cached_property
    def dead_letters(self) -> DeadLetterRepository:
        """Parked events of every projection."""
        return DeadLetterRepository(self.engine)

    @cached_property
    def event_log(self) -> EventLog:
        """The outbox read as the event log (rebuild scans, the unpublished count)."""
        return EventLog(self.engine)

    @cached_property
    def outbox_archive(self) -> OutboxArchive:
        """Archiving published outbox rows past the retention, pruning the archive."""
        return OutboxArchive(self.engine, batch=self.settings.outbox_archive_batch_size)

    @cached_property
    def rebuilds(self) -> RebuildRegistry:
        """Rebuild leases (one rebuild per projection anywhere) and every rebuild's state."""
        settings = self.settings
        return RebuildRegistry(
            self.engine,
            dsn=libpq_dsn(settings.database_url),
            options=pg_options(settings, "orders-cqrs-rebuild"),
        )

    @cached_property
    def session_store(self) -> ConsoleSessionStore:
        """The console sessions' rows."""
        return ConsoleSessionStore(self.engine)

    @cached_property
    def console_sessions(self) -> ConsoleSessions:
        """The consoles' sign-ins (server-side sessions behind signed cookies)."""
        settings = self.settings
        return ConsoleSessions(
            self.session_store,
            CookieSigner(settings.session_keys),
            lifetime_seconds=settings.session_lifetime_seconds,
            proxies=settings.proxy_networks,
        )

    @cached_property
    def staff_accounts(self) -> StaffAccounts:
        """The people who may sign in to the consoles."""
        return StaffAccounts(self.engine)

    @cached_property
    def staff_sign_in(self) -> StaffSignIn:
        """Sign-in by email and password, throttled per account and per address."""
        settings = self.settings
        rules = ThrottleRules.of(
            settings.login_max_failures,
            settings.login_max_failures_per_address,
            settings.login_window_seconds,
        )
        return StaffSignIn(self.staff_accounts, self.login_throttle, Passwords(), rules)

    @cached_property
    def login_throttle(self) -> LoginThrottle:
        """Sign-in attempts counted per account and per address."""
        return LoginThrottle(self.engine, window_seconds=self.settings.login_window_seconds)

    @cached_property
    def backfill(self) -> Backfill:
        """How a projector whose consumer group is missing fills in the history first."""
        settings = self.settings
        locks = BackfillLocks(
            dsn=libpq_dsn(settings.database_url),
            options=pg_options(settings, "orders-cqrs-backfill"),
        )
        return Backfill(self.event_log, locks)

    @cached_property
    def history(self) -> OrderHistory:
        """Orders' histories from the event log and the audit log."""
        return OrderHistory(self.engine)

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
    def prometheus(self) -> PrometheusApi | None:
        """Prometheus' query API (the ops page's lag history); None when not configured."""
        return build_prometheus(self.settings)

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
            min_replicas=settings.relay_min_replicas,
            replica_timeout_ms=settings.relay_replica_timeout_ms,
            retention_seconds=settings.stream_retention_seconds,
            projections=STREAM_PROJECTIONS,
            connect_options=pg_options(settings, "orders-cqrs-relay"),
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
            name,
            self.redis,
            self.search,
            search_alias=self.settings.search_alias,
            clickhouse=self.clickhouse if name == ANALYTICS else None,
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
        if built.get("prometheus") is not None:
            await self.prometheus.aclose()  # type: ignore[union-attr]


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
