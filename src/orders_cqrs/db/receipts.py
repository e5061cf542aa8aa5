"""Idempotency receipts: claimed in the command's own transaction, replayed byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from orders_cqrs.db.tables import idempotency_receipts as receipts


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    """A receipt that someone else already holds."""

    fingerprint: str
    state: str
    response_status: int | None
    response_body: bytes | None
    response_headers: dict[str, str] | None


class ReceiptRepository:
    """Rows of ``idempotency_receipts``, keyed by (API client, Idempotency-Key)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(
        self,
        *,
        client_id: str,
        key: str,
        fingerprint: str,
        command: str,
        ttl: timedelta,
        lease: timedelta,
    ) -> StoredReceipt | None:
        """Take the key for this request, or return the receipt that already holds it.

        The INSERT goes first in the transaction on purpose: a concurrent request with the
        same key blocks on the unique index until this transaction ends, then finds the
        committed receipt and replays it, so duplicates never run the command twice. An
        expired receipt, or an in-progress one whose lease ran out (its process died), is
        taken over by the same statement.
        """
        stmt = insert(receipts).values(
            client_id=client_id,
            key=key,
            fingerprint=fingerprint,
            command=command,
            state="in_progress",
            expires_at=func.now() + ttl,
            locked_until=func.now() + lease,
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=[receipts.c.client_id, receipts.c.key],
            set_={
                "fingerprint": stmt.excluded.fingerprint,
                "command": stmt.excluded.command,
                "state": "in_progress",
                "response_status": None,
                "response_body": None,
                "response_headers": None,
                "order_id": None,
                "created_at": func.now(),
                "expires_at": stmt.excluded.expires_at,
                "locked_until": stmt.excluded.locked_until,
            },
            where=(receipts.c.expires_at < func.now())
            | (
                (receipts.c.state == "in_progress")
                & (receipts.c.locked_until < func.now())
                & (receipts.c.fingerprint == stmt.excluded.fingerprint)
            ),
        ).returning(receipts.c.key)
        if (await self._conn.execute(upsert)).first() is not None:
            return None
        row = (
            await self._conn.execute(
                select(receipts).where(receipts.c.client_id == client_id, receipts.c.key == key)
            )
        ).one()
        return StoredReceipt(
            fingerprint=row.fingerprint,
            state=row.state,
            response_status=row.response_status,
            response_body=row.response_body,
            response_headers=row.response_headers,
        )

    async def complete(
        self,
        *,
        client_id: str,
        key: str,
        status: int,
        body: bytes,
        headers: dict[str, Any],
        order_id: UUID | None,
    ) -> None:
        """Store the response that every replay of this key will get."""
        await self._conn.execute(
            update(receipts)
            .where(receipts.c.client_id == client_id, receipts.c.key == key)
            .values(
                state="completed",
                response_status=status,
                response_body=body,
                response_headers=headers,
                order_id=order_id,
                locked_until=None,
            )
        )

    async def release(self, *, client_id: str, key: str) -> None:
        """Forget an in-progress claim so the client may retry with the same key."""
        await self._conn.execute(
            delete(receipts).where(
                receipts.c.client_id == client_id,
                receipts.c.key == key,
                receipts.c.state == "in_progress",
            )
        )

    async def end_lease(self, *, client_id: str, key: str) -> None:
        """Let a retry with the same key take over this in-progress claim at once."""
        await self._conn.execute(
            update(receipts)
            .where(
                receipts.c.client_id == client_id,
                receipts.c.key == key,
                receipts.c.state == "in_progress",
            )
            .values(locked_until=func.now() - timedelta(seconds=1))
        )

    async def delete_expired(self, batch: int = 5000) -> int:
        """Remove one batch of expired receipts; returns how many went."""
        result = await self._conn.execute(
            text(
                "DELETE FROM idempotency_receipts WHERE ctid IN ("
                " SELECT ctid FROM idempotency_receipts WHERE expires_at < now() LIMIT :n)"
            ),
            {"n": batch},
        )
        return result.rowcount
