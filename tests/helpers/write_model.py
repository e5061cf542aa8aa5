"""What the write side recorded, read straight from PostgreSQL rather than through the API.

The payment suites check the events a command wrote, not only its answer: an answer can be
right while the outbox holds a second event or misses one.
"""

from __future__ import annotations

from typing import Any

import psycopg


def outbox_event_types(db: psycopg.Connection[Any], order_id: str) -> list[str]:
    """The types of the order's events in the outbox, in version order."""
    sql = "SELECT event_type FROM outbox WHERE aggregate_id = %s ORDER BY aggregate_version"
    return [row[0] for row in db.execute(sql, (order_id,))]
