"""The audit log: append-only (a trigger refuses UPDATE and DELETE)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from uuid import UUID

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from orders_cqrs.db.tables import audit_log


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What one command did, or why it was refused."""

    actor: str
    command: str
    command_id: UUID
    idempotency_key: str | None
    order_id: UUID | None
    version_before: int | None
    version_after: int | None
    outcome: str
    reason: str | None = None
    problem_type: str | None = None


class AuditRepository:
    """Appends to ``audit_log``."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(self, entry: AuditEntry) -> None:
        """Add one row."""
        await self._conn.execute(insert(audit_log).values(**asdict(entry)))
