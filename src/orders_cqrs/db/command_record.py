"""What every accepted command leaves besides its state: events, audit row, receipt.

One statement writes all three. They are always written together, at the end of the
command's transaction, and PostgreSQL parses, plans and runs one statement for them instead
of three (one per event, plus the audit row and the receipt).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orders_cqrs.db.audit import AuditEntry
from orders_cqrs.db.session import Session, json_text
from orders_cqrs.domain.events import OrderEvent

# ``position`` and ``txid`` of each outbox row come from PostgreSQL, and so does
# ``occurred_at``: the clock when this statement runs, which is the last one before COMMIT
# in the same message, so it is the commit time to within a fraction of a millisecond (the
# transaction's start, ``now()``, would count the command's own work as replication lag).
# The audit row carries the same instant.
# The relay publishes the rows once this transaction has committed.
_EVENTS_AND_AUDIT = """
WITH clock AS (SELECT clock_timestamp() AS at), events AS (
  INSERT INTO outbox (event_id, aggregate_id, aggregate_version, event_type, schema_version,
                      headers, payload, occurred_at)
  SELECT e.event_id, e.aggregate_id, e.aggregate_version, e.event_type, e.schema_version,
         %(headers)s::jsonb, e.payload, clock.at
    FROM clock, jsonb_to_recordset(%(events)s::jsonb) AS e(event_id uuid, aggregate_id uuid,
         aggregate_version integer, event_type text, schema_version smallint, payload jsonb)
), audit AS (
  INSERT INTO audit_log (actor, command, command_id, idempotency_key, order_id,
                         version_before, version_after, outcome, occurred_at, actor_name,
                         actor_email)
  SELECT %(actor)s, %(command)s, %(command_id)s, %(key)s, %(order_id)s, %(version_before)s,
         %(version_after)s, 'accepted', clock.at, %(actor_name)s, %(actor_email)s
    FROM clock
)"""
_RECORD = (
    _EVENTS_AND_AUDIT
    + """
UPDATE idempotency_receipts
   SET state = 'completed', response_status = %(status)s, response_body = %(body)s,
       response_headers = %(response_headers)s::jsonb, order_id = %(order_id)s, locked_until = NULL
 WHERE client_id = %(client_id)s AND key = %(key)s
"""
)
# A request that goes on after a provider call (a cancel that voids a hold) appends its first
# event before the call and completes its receipt only at the end.
_APPEND = _EVENTS_AND_AUDIT + "\nSELECT 1\n"


class CommandRecordRepository:
    """Writes the record of an accepted command, in the command's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def write(
        self,
        *,
        events: Sequence[OrderEvent],
        event_headers: dict[str, Any],
        audit: AuditEntry,
        client_id: str,
        key: str,
        status: int,
        body: bytes,
        response_headers: dict[str, str],
    ) -> None:
        """Append the events and the audit row, complete the receipt (it travels with the commit).

        The audit row and the receipt share the request's ``key``.
        """
        params = _events_and_audit(events, event_headers, audit, key)
        params.update(
            status=status,
            body=body,
            response_headers=json_text(response_headers),
            client_id=client_id,
        )
        self._session.later(_RECORD, params)

    async def append(
        self,
        *,
        events: Sequence[OrderEvent],
        event_headers: dict[str, Any],
        audit: AuditEntry,
        key: str,
    ) -> None:
        """Append the events and the audit row of a request whose receipt stays in progress."""
        self._session.later(_APPEND, _events_and_audit(events, event_headers, audit, key))


def _events_and_audit(
    events: Sequence[OrderEvent], event_headers: dict[str, Any], audit: AuditEntry, key: str
) -> dict[str, Any]:
    return {
        "events": json_text(
            [
                {
                    "event_id": event.event_id,
                    "aggregate_id": event.aggregate_id,
                    "aggregate_version": event.aggregate_version,
                    "event_type": event.type.value,
                    "schema_version": event.schema_version,
                    "payload": event.to_payload(),
                }
                for event in events
            ]
        ),
        "headers": json_text(event_headers),
        "actor": audit.actor,
        "command": audit.command,
        "command_id": audit.command_id,
        "key": key,
        "order_id": audit.order_id,
        "version_before": audit.version_before,
        "version_after": audit.version_after,
        "actor_name": audit.actor_name,
        "actor_email": audit.actor_email,
    }
