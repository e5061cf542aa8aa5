"""An order's history from the write side: its events from the event log and the commands
the audit log refused, oldest first.

Read from PostgreSQL, not a projection: history is asked for when something went wrong, and
then the answer must be the truth, not a copy that may lag. The event log (``event_log``, the
outbox and its archive) holds one row per accepted command; refusals left no event, only
their audit row (DESIGN §2.6), so they are read from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_EVENTS = text(
    """
    SELECT aggregate_version, event_type, event_id, occurred_at, headers
      FROM event_log
     WHERE aggregate_id = :id
     ORDER BY aggregate_version
    """
)
_REFUSED = text(
    """
    SELECT occurred_at, actor, command, command_id, version_before, reason, problem_type,
           actor_name, actor_email
      FROM audit_log
     WHERE order_id = :id AND outcome = 'rejected'
     ORDER BY id
    """
)
_EXISTS = text("SELECT 1 FROM orders WHERE id = :id")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of an order's history: an event it went through, or a command it refused."""

    kind: str  # "event" | "refused"
    at: datetime
    actor: str | None
    command: str | None
    command_id: str | None
    version: int | None  # the event's version; for a refusal, the version it was refused at
    event_type: str | None = None
    event_id: str | None = None
    reason: str | None = None
    problem_type: str | None = None
    actor_name: str | None = None  # a person's (console commands), as it was then
    actor_email: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """As the API shows it (the members of the other kind left out)."""
        shown = {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "version": self.version,
            "actor": self.actor,
            "actor_name": self.actor_name,
            "actor_email": self.actor_email,
            "command": self.command,
            "command_id": self.command_id,
        }
        if self.kind == "event":
            shown |= {"event_type": self.event_type, "event_id": self.event_id}
        else:
            shown |= {"reason": self.reason, "problem_type": self.problem_type}
        return shown


class OrderHistory:
    """Reads one order's history; None when the write model has no such order."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def of(self, order_id: UUID) -> list[HistoryEntry] | None:
        """Events and refusals, oldest first (an event before a refusal of the same instant:
        a refusal is audited after the transaction it was refused in rolled back)."""
        async with self.engine.connect() as conn:
            events = (await conn.execute(_EVENTS, {"id": order_id})).all()
            refused = (await conn.execute(_REFUSED, {"id": order_id})).all()
            if not events and (await conn.execute(_EXISTS, {"id": order_id})).first() is None:
                return None
        entries = [_event(row) for row in events] + [_refusal(row) for row in refused]
        # A stable sort by time only: events keep their version order, refusals their audit order.
        return sorted(entries, key=lambda entry: (entry.at, entry.kind != "event"))


def _event(row: Any) -> HistoryEntry:
    headers = row.headers or {}
    return HistoryEntry(
        kind="event",
        at=row.occurred_at,
        actor=headers.get("actor"),
        command=headers.get("command"),
        command_id=headers.get("command_id"),
        version=int(row.aggregate_version),
        event_type=row.event_type,
        event_id=str(row.event_id),
        actor_name=headers.get("actor_name"),
        actor_email=headers.get("actor_email"),
    )


def _refusal(row: Any) -> HistoryEntry:
    return HistoryEntry(
        kind="refused",
        at=row.occurred_at,
        actor=row.actor,
        command=row.command,
        command_id=str(row.command_id),
        version=row.version_before,
        reason=row.reason,
        problem_type=row.problem_type,
        actor_name=row.actor_name,
        actor_email=row.actor_email,
    )
