"""Payment attempts: the record that lets a provider call be finished after a crash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from orders_cqrs.db.session import Session

AUTHORIZE = "authorize"
VOID = "void"


@dataclass(frozen=True, slots=True)
class PaymentAttempt:
    """One request to a provider, an authorization or a void (``kind``); ``id`` is its
    idempotency key there."""

    id: UUID
    order_id: UUID
    provider: str
    amount: int
    currency: str
    status: str
    receipt_client_id: str | None
    receipt_key: str | None
    created_at: datetime
    kind: str = AUTHORIZE


_PENDING_FOR_ORDER = """
SELECT id, order_id, provider, amount, currency, status, receipt_client_id, receipt_key,
  created_at, kind FROM payment_attempts WHERE order_id = %s AND status = 'pending' AND kind = %s
"""
_START = """
INSERT INTO payment_attempts (id, order_id, provider, amount, currency, status,
                              receipt_client_id, receipt_key, kind)
VALUES (%s, %s, %s, %s, %s, 'pending', %s, %s, %s)
"""
_HAND_OVER = "UPDATE payment_attempts SET receipt_client_id = %s, receipt_key = %s WHERE id = %s"
_GET = """
SELECT id, order_id, provider, amount, currency, status, receipt_client_id, receipt_key,
  created_at, kind FROM payment_attempts WHERE id = %s
"""
_LOCK = _GET + " FOR UPDATE"
_FINISH = """
UPDATE payment_attempts
   SET status = %s, provider_ref = %s, decline_reason = %s, completed_at = now()
 WHERE id = %s
"""
_STALE = """
SELECT id FROM payment_attempts WHERE status = 'pending' AND created_at < %s
 ORDER BY created_at LIMIT %s
"""
_TOKEN = "SELECT token FROM payments WHERE order_id = %s"  # noqa: S105 - a query, not a secret
_AUTHORIZATION_REF = "SELECT authorization_ref FROM payments WHERE order_id = %s"


class PaymentAttemptRepository:
    """Rows of ``payment_attempts``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def pending_for_order(
        self, order_id: UUID, kind: str = AUTHORIZE
    ) -> PaymentAttempt | None:
        """The order's unfinished attempt of ``kind``, if a call has not got its answer yet."""
        rows = await self._session.run(_PENDING_FOR_ORDER, (order_id, kind))
        return PaymentAttempt(*rows[0]) if rows else None

    async def start(self, attempt: PaymentAttempt) -> None:
        """Record the attempt before the provider is called."""
        self._session.later(
            _START,
            (
                attempt.id,
                attempt.order_id,
                attempt.provider,
                attempt.amount,
                attempt.currency,
                attempt.receipt_client_id,
                attempt.receipt_key,
                attempt.kind,
            ),
        )

    async def hand_over(self, attempt_id: UUID, *, client_id: str | None, key: str | None) -> None:
        """A retry of the same request now owns the attempt's receipt (None: no request does)."""
        self._session.later(_HAND_OVER, (client_id, key, attempt_id))

    async def get(self, attempt_id: UUID) -> PaymentAttempt | None:
        """The attempt as last committed, unlocked (decisions re-check it under ``lock``)."""
        rows = await self._session.run(_GET, (attempt_id,))
        return PaymentAttempt(*rows[0]) if rows else None

    async def lock(self, attempt_id: UUID) -> PaymentAttempt | None:
        """The attempt, locked, so the API and the reconciler never both record a result.

        Lock its order first (``orders.get_for_update``): see ``write/handlers/authorize.py``.
        """
        rows = await self._session.run(_LOCK, (attempt_id,))
        return PaymentAttempt(*rows[0]) if rows else None

    async def finish(
        self, attempt_id: UUID, *, status: str, provider_ref: str | None, reason: str | None
    ) -> None:
        """Record the provider's answer."""
        self._session.later(_FINISH, (status, provider_ref, reason, attempt_id))

    async def stale(self, older_than: datetime, limit: int = 100) -> list[UUID]:
        """Pending attempts started before ``older_than``: work for the reconciler."""
        return [row[0] for row in await self._session.run(_STALE, (older_than, limit))]

    async def token_for(self, order_id: UUID) -> str:
        """The payment token the customer gave at checkout."""
        rows = await self._session.run(_TOKEN, (order_id,))
        return str(rows[0][0])

    async def authorization_ref_for(self, order_id: UUID) -> str:
        """The provider's reference of the order's authorization (what a void releases)."""
        rows = await self._session.run(_AUTHORIZATION_REF, (order_id,))
        return str(rows[0][0] or "")
