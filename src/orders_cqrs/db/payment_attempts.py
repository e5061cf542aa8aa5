"""Payment attempts: the record that lets a provider call be finished after a crash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from orders_cqrs.db.tables import payment_attempts as attempts
from orders_cqrs.db.tables import payments


@dataclass(frozen=True, slots=True)
class PaymentAttempt:
    """One authorization request to a provider; ``id`` is its idempotency key there."""

    id: UUID
    order_id: UUID
    provider: str
    amount: int
    currency: str
    status: str
    receipt_client_id: str | None
    receipt_key: str | None
    created_at: datetime


_COLUMNS = (
    attempts.c.id,
    attempts.c.order_id,
    attempts.c.provider,
    attempts.c.amount,
    attempts.c.currency,
    attempts.c.status,
    attempts.c.receipt_client_id,
    attempts.c.receipt_key,
    attempts.c.created_at,
)


class PaymentAttemptRepository:
    """Rows of ``payment_attempts``."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def pending_for_order(self, order_id: UUID) -> PaymentAttempt | None:
        """The order's unfinished attempt, if a previous call never got its answer."""
        row = (
            await self._conn.execute(
                select(*_COLUMNS).where(
                    attempts.c.order_id == order_id, attempts.c.status == "pending"
                )
            )
        ).first()
        return PaymentAttempt(**row._mapping) if row is not None else None

    async def start(self, attempt: PaymentAttempt) -> None:
        """Record the attempt before the provider is called."""
        await self._conn.execute(
            insert(attempts).values(
                id=attempt.id,
                order_id=attempt.order_id,
                provider=attempt.provider,
                amount=attempt.amount,
                currency=attempt.currency,
                status="pending",
                receipt_client_id=attempt.receipt_client_id,
                receipt_key=attempt.receipt_key,
            )
        )

    async def hand_over(self, attempt_id: UUID, *, client_id: str, key: str) -> None:
        """A retry of the same authorization now owns the attempt's receipt."""
        await self._conn.execute(
            update(attempts)
            .where(attempts.c.id == attempt_id)
            .values(receipt_client_id=client_id, receipt_key=key)
        )

    async def lock(self, attempt_id: UUID) -> PaymentAttempt | None:
        """The attempt, locked, so the API and the reconciler never both record a result."""
        row = (
            await self._conn.execute(
                select(*_COLUMNS).where(attempts.c.id == attempt_id).with_for_update()
            )
        ).first()
        return PaymentAttempt(**row._mapping) if row is not None else None

    async def finish(
        self, attempt_id: UUID, *, status: str, provider_ref: str | None, reason: str | None
    ) -> None:
        """Record the provider's answer."""
        await self._conn.execute(
            update(attempts)
            .where(attempts.c.id == attempt_id)
            .values(
                status=status,
                provider_ref=provider_ref,
                decline_reason=reason,
                completed_at=func.now(),
            )
        )

    async def stale(self, older_than: datetime, limit: int = 100) -> list[UUID]:
        """Pending attempts started before ``older_than``: work for the reconciler."""
        rows = await self._conn.execute(
            select(attempts.c.id)
            .where(attempts.c.status == "pending", attempts.c.created_at < older_than)
            .order_by(attempts.c.created_at)
            .limit(limit)
        )
        return [row.id for row in rows]

    async def token_for(self, order_id: UUID) -> str:
        """The payment token the customer gave at checkout."""
        row = await self._conn.execute(
            select(payments.c.token).where(payments.c.order_id == order_id)
        )
        return str(row.scalar_one())
