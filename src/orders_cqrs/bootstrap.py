"""The composition root: the only place that builds engines, gateways and executors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from orders_cqrs.config import ApiClient, Settings
from orders_cqrs.domain.risk import RiskPolicy
from orders_cqrs.write.executor import Executor
from orders_cqrs.write.handlers.authorize import PaymentSettings
from orders_cqrs.write.handlers.place_order import PlacementPolicy
from orders_cqrs.write.payments.port import PaymentGateway
from orders_cqrs.write.payments.sandbox import sandbox_gateways
from orders_cqrs.write.unit_of_work import UnitOfWork


def build_engine(settings: Settings) -> AsyncEngine:
    """An async pool to PostgreSQL with bounded lock and statement waits."""
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={
            "options": (
                f"-c lock_timeout={settings.db_lock_timeout_ms}"
                f" -c statement_timeout={settings.db_statement_timeout_ms}"
                " -c application_name=orders-cqrs"
            ),
            "connect_timeout": 5,
        },
    )


@dataclass
class Container:
    """Everything a process needs, built once from settings."""

    settings: Settings
    engine: AsyncEngine
    executor: Executor
    gateways: dict[str, PaymentGateway]
    placement: PlacementPolicy
    payment: PaymentSettings
    refund_window: timedelta
    api_clients: tuple[ApiClient, ...]

    async def aclose(self) -> None:
        """Close the pool."""
        await self.engine.dispose()


def build_container(settings: Settings) -> Container:
    """Wire the write side from settings."""
    engine = build_engine(settings)
    gateways = sandbox_gateways(slow_seconds=settings.payment_slow_seconds)
    return Container(
        settings=settings,
        engine=engine,
        executor=Executor(
            lambda: UnitOfWork(engine),
            receipt_ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
            receipt_lease=timedelta(seconds=settings.idempotency_lease_seconds),
        ),
        gateways=gateways,
        placement=PlacementPolicy(
            providers=frozenset(gateways),
            risk=RiskPolicy(
                large_amount_minor=settings.risk_large_amount_minor,
                velocity_max_orders=settings.risk_velocity_max_orders,
            ),
            velocity_window=timedelta(seconds=settings.risk_velocity_window_seconds),
        ),
        payment=PaymentSettings(timeout_seconds=settings.payment_timeout_seconds),
        refund_window=timedelta(days=settings.refund_window_days),
        api_clients=settings.api_clients,
    )
