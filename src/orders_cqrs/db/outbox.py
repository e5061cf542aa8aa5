"""Claiming and marking outbox rows (PostgreSQL side of the relay), on a plain psycopg connection.

The relay's hot loop runs these statements thousands of times a second: it talks to psycopg
directly (no SQLAlchemy result machinery) and reads ``headers``/``payload`` as text, so a row
goes from PostgreSQL to the stream without being parsed into dicts and dumped again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from orders_cqrs.db.session import Session
from orders_cqrs.relay.wire import StreamEvent, load_json

# Claim by the published marker, never by "position > last offset": positions come from an
# identity sequence and are handed out at INSERT, but transactions commit in any order. A
# reader that remembered "I published up to 1041" would skip row 1040 if its transaction
# committed a moment later (the bug class behind Marten #4953 and Watermill #311). The
# partial index on unpublished rows keeps this scan as cheap as an offset.
#
# SKIP LOCKED lets several relays run: each claims rows nobody else holds instead of
# queueing behind them. Claim and mark are one statement: the rows are marked in the relay's
# transaction, which commits only after the stream took them; until then nobody else sees
# the mark, and a failed publish rolls it back (the rows are published again: a duplicate,
# never a gap). The columns come in the stream's field order (``stream.STREAM_FIELDS``).
CLAIM_SQL = """
WITH claimed AS (
  UPDATE outbox SET published_at = now()
   WHERE position IN (SELECT position FROM outbox
                       WHERE published_at IS NULL
                       ORDER BY position
                       LIMIT %s
                         FOR UPDATE SKIP LOCKED)
  RETURNING event_id::text, position, aggregate_id::text, aggregate_version, event_type,
            schema_version, occurred_at, headers::text, payload::text
)
SELECT * FROM claimed ORDER BY position
"""
BACKLOG_SQL = (
    "SELECT count(*), extract(epoch FROM now() - min(occurred_at))::float8"
    " FROM outbox WHERE published_at IS NULL"
)

# The wake-up handshake (see Relay._go_idle): arm, then list the write transactions that were
# in flight when the arm became visible; their rows may still come without a NOTIFY.
ARM_SQL = "UPDATE relay_wakeup SET armed = true WHERE NOT armed"
IN_FLIGHT_SQL = (
    "SELECT coalesce(array_agg(x::text), '{}') FROM pg_snapshot_xip(pg_current_snapshot()) x"
)
STILL_RUNNING_SQL = (
    "SELECT count(*) FROM unnest(%s::text[]) x WHERE pg_xact_status(x::xid8) = 'in progress'"
)

OutboxRow = tuple[str, int, str, int, str, int, Any, str, str]
EVENT_ID, POSITION, AGGREGATE_VERSION, EVENT_TYPE, OCCURRED_AT, HEADERS = 0, 1, 3, 4, 6, 7


async def claim_unpublished(session: Session, limit: int) -> list[OutboxRow]:
    """Lock and mark up to ``limit`` unpublished rows, oldest first, in ``session``'s
    transaction (BEGIN travels with the statement: one round trip)."""
    return await session.run(CLAIM_SQL, (limit,))


async def backlog(conn: AsyncConnection[Any]) -> tuple[int, float]:
    """Unpublished rows and the age in seconds of the oldest one."""
    cursor = await conn.execute(BACKLOG_SQL)
    row = await cursor.fetchone()
    count, age = row if row is not None else (0, None)
    return int(count), float(age or 0.0)


def row_to_event(row: Any, stream_id: str = "") -> StreamEvent:
    """An outbox row selected like ``CLAIM_SQL`` (JSON as text) as a stream event."""
    event_id, position, aggregate_id, version, event_type, schema, occurred_at, hdr, body = row
    return StreamEvent(
        event_id=UUID(event_id),
        position=position,
        aggregate_id=UUID(aggregate_id),
        aggregate_version=version,
        event_type=event_type,
        schema_version=schema,
        occurred_at=occurred_at,
        headers=load_json(hdr),
        payload=load_json(body),
        stream_id=stream_id,
    )
