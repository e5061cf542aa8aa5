"""The Unit of Work: one PostgreSQL transaction holding every repository a command needs.

It is the only place that commits. Leaving the block without ``commit()`` rolls back, so a
rejected or crashed command leaves no trace in the write model.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from orders_cqrs.db.audit import AuditRepository
from orders_cqrs.db.errors import as_store_error
from orders_cqrs.db.inventory import InventoryRepository
from orders_cqrs.db.orders import OrderRepository
from orders_cqrs.db.outbox import OutboxRepository
from orders_cqrs.db.payment_attempts import PaymentAttemptRepository
from orders_cqrs.db.receipts import ReceiptRepository


class UnitOfWork:
    """``async with uow: ...; await uow.commit()`` — one transaction, all repositories."""

    orders: OrderRepository
    inventory: InventoryRepository
    receipts: ReceiptRepository
    audit: AuditRepository
    outbox: OutboxRepository
    attempts: PaymentAttemptRepository

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None

    async def __aenter__(self) -> UnitOfWork:
        try:
            self._conn = await self._engine.connect()
            self._tx = await self._conn.begin()
        except Exception as error:
            converted = as_store_error(error)
            if converted is None:
                raise
            raise converted from error
        self.orders = OrderRepository(self._conn)
        self.inventory = InventoryRepository(self._conn)
        self.receipts = ReceiptRepository(self._conn)
        self.audit = AuditRepository(self._conn)
        self.outbox = OutboxRepository(self._conn)
        self.attempts = PaymentAttemptRepository(self._conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:
            if self._tx is not None and self._tx.is_active:
                await self._tx.rollback()
        finally:
            if self._conn is not None:
                await self._conn.close()
        converted = as_store_error(exc) if exc is not None else None
        if converted is not None:
            raise converted from exc
        return None

    async def commit(self) -> None:
        """Make everything done in this unit durable, atomically."""
        assert self._tx is not None
        await self._tx.commit()


UnitOfWorkFactory = Callable[[], UnitOfWork]
