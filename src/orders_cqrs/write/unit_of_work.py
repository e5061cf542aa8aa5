"""The Unit of Work: one PostgreSQL transaction holding every repository a command needs.

It is the only place that commits. Leaving the block without ``commit()`` rolls back, so a
rejected or crashed command leaves no trace in the write model.

Its statements go through a ``Session`` (``db/session.py``), which sends writes whose answers
nobody waits for together with the next statement that needs an answer, or with the COMMIT:
a checkout is two round trips (claim, reservations and velocity; writes and COMMIT).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

from psycopg_pool import AsyncConnectionPool

from orders_cqrs.db.audit import AuditRepository
from orders_cqrs.db.command_record import CommandRecordRepository
from orders_cqrs.db.connection import Connection, server_hung_up
from orders_cqrs.db.errors import as_store_error
from orders_cqrs.db.inventory import InventoryRepository
from orders_cqrs.db.orders import OrderRepository
from orders_cqrs.db.payment_attempts import PaymentAttemptRepository
from orders_cqrs.db.receipts import ReceiptRepository
from orders_cqrs.db.session import Session
from orders_cqrs.failures.stores import StoreUnavailable

WritePool = AsyncConnectionPool[Connection]


class UnitOfWork:
    """``async with uow: ...; await uow.commit()`` — one transaction, all repositories."""

    orders: OrderRepository
    inventory: InventoryRepository
    receipts: ReceiptRepository
    audit: AuditRepository
    records: CommandRecordRepository
    attempts: PaymentAttemptRepository

    def __init__(self, pool: WritePool, *, recorder: list[str] | None = None) -> None:
        """``recorder``, when given, receives every message sent (``make bench`` replays a
        recorded checkout through pgbench, so its baseline is the service's own SQL)."""
        self._pool = pool
        self._recorder = recorder
        self._conn: Connection | None = None
        self._session: Session | None = None

    async def __aenter__(self) -> UnitOfWork:
        try:
            self._conn = await self._live_connection()
        except Exception as error:
            converted = as_store_error(error)
            if converted is None:
                raise
            raise converted from error
        session = self._session = Session(self._conn, recorder=self._recorder)
        self.orders = OrderRepository(session)
        self.inventory = InventoryRepository(session)
        self.receipts = ReceiptRepository(session)
        self.audit = AuditRepository(session)
        self.records = CommandRecordRepository(session)
        self.attempts = PaymentAttemptRepository(session)
        return self

    async def _live_connection(self) -> Connection:
        """A pooled connection the server has not ended.

        After a restart every idle connection in the pool is dead, and each would fail the
        one command that drew it (a burst of 503s from a healthy database). A dead one is
        closed, so the pool replaces it, and the next is drawn: at most one per connection
        the pool can hold, then one that it opens new.
        """
        for _ in range(self._pool.max_size + 1):
            conn = await self._pool.getconn()
            if not server_hung_up(conn):
                return conn
            await conn.close()
            await self._pool.putconn(conn)
        raise StoreUnavailable("write store unavailable (every pooled connection was closed)")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        cleanup_error: Exception | None = None
        try:
            if self._session is not None:
                await self._session.rollback()  # a no-op after a commit
        except Exception as error:  # the connection broke: the pool drops it
            cleanup_error = error
        finally:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await self._pool.putconn(conn)
        original = exc if exc is not None else cleanup_error
        converted = as_store_error(original) if original is not None else None
        if converted is not None:
            raise converted from original
        if exc is None and cleanup_error is not None:
            raise cleanup_error
        return None

    def verify_with_next_answer(self, check: Callable[[], Awaitable[None]]) -> None:
        """Run ``check`` when the next round trip is back, before its answers are used."""
        assert self._session is not None
        self._session.check_after_next_answer(check)

    async def settle(self) -> None:
        """Send what is queued now if a check waits on it (before answering a refusal, or
        to learn whether the key's claim is ours before the command reads anything)."""
        assert self._session is not None
        await self._session.settle()

    async def commit(self) -> None:
        """Make everything done in this unit durable, atomically."""
        assert self._session is not None
        await self._session.commit()


UnitOfWorkFactory = Callable[[], UnitOfWork]
