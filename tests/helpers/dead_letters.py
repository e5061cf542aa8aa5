"""Dead letters made the way a projection makes them, for the suites that replay them.

``park_outbox_event`` parks a real event of the outbox as the engine would after its last
attempt (the projection never applied it); ``park_poison`` parks an event no projection can
apply (its payload has no order snapshot), so a replay fails again. ``publish_poison`` lets a
running projector park such an event itself, and ``repair_poison`` fixes it for a replay.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import psycopg

_EVENT = """
SELECT event_id, position, aggregate_version, event_type, schema_version, occurred_at,
       headers, payload
  FROM outbox WHERE aggregate_id = %s ORDER BY aggregate_version DESC LIMIT 1
"""
_PARK = """
INSERT INTO projection_dead_letters (projection, stream_id, event_id, position, aggregate_id,
       aggregate_version, event_type, entry, error, attempts, first_failed_at, failed_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now() - interval '5 minutes', now())
RETURNING id
"""


def _park(db: psycopg.Connection[Any], projection: str, entry: dict[str, str], error: str) -> int:
    row = db.execute(
        _PARK,
        (
            projection,
            entry["stream_id"],
            entry["event_id"],
            int(entry["position"]),
            entry["aggregate_id"],
            int(entry["aggregate_version"]),
            entry["event_type"],
            json.dumps(entry),
            error,
            5,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def park_outbox_event(
    db: psycopg.Connection[Any], order_id: str, projection: str = "summary"
) -> tuple[int, str]:
    """Park the order's latest outbox event for ``projection``; (dead letter id, event id)."""
    row = db.execute(_EVENT, (order_id,)).fetchone()
    assert row is not None, f"no event of {order_id} in the outbox"
    event_id, position, version, event_type, schema_version, occurred_at, hdrs, payload = row
    entry = {
        "stream_id": f"{position}-0",
        "event_id": str(event_id),
        "position": str(position),
        "aggregate_id": order_id,
        "aggregate_version": str(version),
        "event_type": event_type,
        "schema_version": str(schema_version),
        "occurred_at": occurred_at.isoformat(),
        "headers": json.dumps(hdrs),
        "payload": json.dumps(payload),
    }
    return _park(db, projection, entry, "ConnectionError('redis went away')"), str(event_id)


def park_poison(
    db: psycopg.Connection[Any], order_id: str, version: int, projection: str = "summary"
) -> tuple[int, str]:
    """Park an event of the order at ``version`` whose payload lacks ``order``: every apply
    fails with KeyError; (dead letter id, event id)."""
    event_id = str(uuid.uuid4())
    entry = {
        "stream_id": "9999999999999-0",
        "event_id": event_id,
        "position": "999999",
        "aggregate_id": order_id,
        "aggregate_version": str(version),
        "event_type": "OrderNoted",
        "schema_version": "1",
        "occurred_at": "2026-11-30T00:00:00+00:00",
        "headers": "{}",
        "payload": json.dumps({"facts": {}}),
    }
    return _park(db, projection, entry, "KeyError('order')"), event_id


def open_dead_letters(db: psycopg.Connection[Any], projection: str = "summary") -> list[int]:
    """Ids of the projection's dead letters still waiting for a replay."""
    rows = db.execute(
        "SELECT id FROM projection_dead_letters WHERE projection = %s AND replayed_at IS NULL"
        " ORDER BY id",
        (projection,),
    ).fetchall()
    return [int(row[0]) for row in rows]


def publish_poison(db: psycopg.Connection[Any], order_id: str, version: int) -> str:
    """An outbox row (so the relay publishes it) for the order at ``version`` whose payload
    lacks ``order``: the summary projector retries it, then parks it; its event id."""
    event_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO outbox (event_id, aggregate_id, aggregate_version, event_type,"
        " schema_version, headers, payload)"
        " VALUES (%s, %s, %s, 'OrderNoted', 1, '{}'::jsonb, '{\"facts\": {}}'::jsonb)",
        (event_id, order_id, version),
    )
    return event_id


def wait_parked(
    db: psycopg.Connection[Any], event_id: str, projection: str = "summary", seconds: float = 30
) -> int:
    """Poll until ``projection`` parked the event; the dead letter's id."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = db.execute(
            "SELECT id FROM projection_dead_letters WHERE projection = %s AND event_id = %s",
            (projection, event_id),
        ).fetchone()
        if row is not None:
            return int(row[0])
        time.sleep(0.1)
    raise AssertionError(f"{projection} never parked {event_id}")


def repair_poison(db: psycopg.Connection[Any], letter: int, order_id: str, version: int) -> None:
    """Fix the cause where a replay reads it: the parked entry gets the order's snapshot (from
    its previous event) at ``version``."""
    row = db.execute(
        "SELECT payload -> 'order' FROM outbox WHERE aggregate_id = %s AND aggregate_version = %s",
        (order_id, version - 1),
    ).fetchone()
    assert row is not None
    payload = json.dumps({"order": {**row[0], "version": version}, "facts": {}})
    db.execute(
        "UPDATE projection_dead_letters"
        " SET entry = jsonb_set(entry, '{payload}', to_jsonb(%s::text)) WHERE id = %s",
        (payload, letter),
    )
