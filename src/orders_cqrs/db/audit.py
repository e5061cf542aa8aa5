"""The audit log: append-only (a trigger refuses UPDATE and DELETE)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from orders_cqrs.db.session import Session

_APPEND = """
INSERT INTO audit_log (actor, command, command_id, idempotency_key, order_id, version_before,
                       version_after, outcome, reason, problem_type, actor_name, actor_email)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


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
    actor_name: str | None = None  # a person's, as it was when they acted
    actor_email: str | None = None


class AuditRepository:
    """Appends to ``audit_log``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def append(self, entry: AuditEntry) -> None:
        """Add one row (it travels with the next statement sent, or the commit)."""
        self._session.later(
            _APPEND,
            (
                entry.actor,
                entry.command,
                entry.command_id,
                entry.idempotency_key,
                entry.order_id,
                entry.version_before,
                entry.version_after,
                entry.outcome,
                entry.reason,
                entry.problem_type,
                entry.actor_name,
                entry.actor_email,
            ),
        )
