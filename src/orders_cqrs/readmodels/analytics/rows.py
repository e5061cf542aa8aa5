"""From stream events to analytics rows: pure functions, no I/O.

Every event is a state transfer (the order snapshot at its version), so an ``order_state`` row
is mostly a copy of the snapshot. Two state timestamps are not in the snapshot:
``authorized_at`` and ``declined_at`` exist only as the ``occurred_at`` of their event. They
are carried forward to later versions from the events of the same batch and from the row
already stored, and when a late (out-of-order) event brings one that the stored, newer row
lacks, the stored row is written again with it filled in, at the same ``source_version``
(among equal versions, ReplacingMergeTree keeps the last row inserted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from orders_cqrs.readmodels.port import Outcome
from orders_cqrs.relay.wire import StreamEvent

TS = "DateTime64(3, 'UTC')"
NULLABLE_TS = f"Nullable({TS})"
LOW = "LowCardinality(String)"
# (column, ClickHouse type): inserts name the types so the client need not ask the server to
# describe the table before every insert. The tables come from the frozen migrations in
# schema.py, not from these; a test checks that the live tables match them.
STATE_SCHEMA: tuple[tuple[str, str], ...] = (
    ("order_id", "UUID"),
    ("source_version", "UInt32"),
    ("status", LOW),
    ("region", LOW),
    ("country", LOW),
    ("provider", LOW),
    ("currency", LOW),
    ("total", "Int64"),
    ("authorized_amount", "Int64"),
    ("captured_amount", "Int64"),
    ("refunded_amount", "Int64"),
    ("placed_at", TS),
    ("authorized_at", NULLABLE_TS),
    ("captured_at", NULLABLE_TS),
    ("shipped_at", NULLABLE_TS),
    ("delivered_at", NULLABLE_TS),
    ("cancelled_at", NULLABLE_TS),
    ("declined_at", NULLABLE_TS),
    ("updated_at", TS),
    ("last_event_id", "UUID"),
    ("projected_at", TS),
)
EVENT_SCHEMA: tuple[tuple[str, str], ...] = (
    ("event_id", "UUID"),
    ("event_type", LOW),
    ("order_id", "UUID"),
    ("version", "UInt32"),
    ("occurred_at", TS),
    ("region", LOW),
    ("country", LOW),
    ("provider", LOW),
    ("currency", LOW),
    ("amount", "Int64"),
    ("projected_at", TS),
)
STATE_COLUMNS = tuple(name for name, _ in STATE_SCHEMA)
STATE_TYPES = tuple(kind for _, kind in STATE_SCHEMA)
EVENT_COLUMNS = tuple(name for name, _ in EVENT_SCHEMA)
EVENT_TYPES = tuple(kind for _, kind in EVENT_SCHEMA)
# Timestamps only the event type can tell, by the event that sets them.
MILESTONES: dict[str, str] = {
    "PaymentAuthorized": "authorized_at",
    "PaymentDeclined": "declined_at",
}


def utc(value: datetime | str | None) -> datetime | None:
    """An aware UTC datetime (ClickHouse hands back naive UTC; snapshots carry ISO strings)."""
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def event_amount(event: StreamEvent) -> int:
    """The money fact of an event: the order total when placed, the amount moved otherwise."""
    if event.event_type == "OrderPlaced":
        return int(event.payload["order"]["total"]["amount"])
    if event.event_type in ("PaymentAuthorized", "PaymentCaptured", "RefundIssued"):
        return int(event.payload["facts"]["amount"])
    return 0


def _where(order: Mapping[str, Any]) -> tuple[str, str, str, str]:
    address = order["shipping_address"]
    return (
        str(address["region"]),
        str(address["country"]),
        str(order["payment"]["provider"]),
        str(order["currency"]),
    )


def event_row(event: StreamEvent, projected_at: datetime) -> list[Any]:
    """The ``order_events`` row of one event (raises on a malformed payload)."""
    region, country, provider, currency = _where(event.payload["order"])
    return [
        event.event_id,
        event.event_type,
        event.aggregate_id,
        event.aggregate_version,
        utc(event.occurred_at),
        region,
        country,
        provider,
        currency,
        event_amount(event),
        projected_at,
    ]


def state_row(event: StreamEvent, projected_at: datetime) -> dict[str, Any]:
    """The ``order_state`` row the snapshot of one event gives, before carrying milestones."""
    order = event.payload["order"]
    region, country, provider, currency = _where(order)
    payment = order["payment"]
    shipment = order.get("shipment") or {}
    row: dict[str, Any] = {
        "order_id": event.aggregate_id,
        "source_version": event.aggregate_version,
        "status": str(order["status"]),
        "region": region,
        "country": country,
        "provider": provider,
        "currency": currency,
        "total": int(order["total"]["amount"]),
        "authorized_amount": int(payment["authorized"]),
        "captured_amount": int(payment["captured"]),
        "refunded_amount": int(payment["refunded"]),
        "placed_at": utc(order["placed_at"]),
        "authorized_at": None,
        "captured_at": utc(order.get("captured_at")),
        "shipped_at": utc(shipment.get("shipped_at")),
        "delivered_at": utc(shipment.get("delivered_at")),
        "cancelled_at": utc(order.get("cancelled_at")),
        "declined_at": None,
        "updated_at": utc(order["updated_at"]),
        "last_event_id": event.event_id,
        "projected_at": projected_at,
    }
    if event.event_type in MILESTONES:
        row[MILESTONES[event.event_type]] = utc(event.occurred_at)
    return row


LOOKUP_COLUMNS: tuple[str, ...] = (
    "order_id",
    "source_version",
    "last_event_id",
    *MILESTONES.values(),
)


@dataclass
class BatchPlan:
    """What to write for one batch, and what each event did."""

    outcomes: list[Outcome] = field(default_factory=list)
    event_rows: list[list[Any]] = field(default_factory=list)
    state_rows: list[dict[str, Any]] = field(default_factory=list)
    # Stored rows a late event can complete: order → milestone column → timestamp.
    repairs: dict[UUID, dict[str, datetime]] = field(default_factory=dict)

    def state_values(self) -> list[list[Any]]:
        """The state rows in column order, for the insert."""
        return [[row[column] for column in STATE_COLUMNS] for row in self.state_rows]


def _milestones(
    events: Sequence[StreamEvent], stored: Mapping[UUID, Mapping[str, Any]]
) -> dict[UUID, dict[str, tuple[int, datetime]]]:
    """Per order: each known milestone with the (upper bound of the) version that set it."""
    known: dict[UUID, dict[str, tuple[int, datetime]]] = {}
    for order_id, row in stored.items():
        for name in MILESTONES.values():
            reached = utc(row.get(name))
            if reached is not None:
                known.setdefault(order_id, {})[name] = (int(row["source_version"]), reached)
    for event in events:
        column = MILESTONES.get(event.event_type)
        moment = utc(event.occurred_at)
        if column is None or moment is None:
            continue
        have = known.setdefault(event.aggregate_id, {}).get(column)
        if have is None or event.aggregate_version < have[0]:
            known[event.aggregate_id][column] = (event.aggregate_version, moment)
    return known


def _missing(
    row: Mapping[str, Any], known: Mapping[str, tuple[int, datetime]]
) -> dict[str, datetime]:
    """Milestones reached at or before the row's version that the row lacks."""
    version = int(row["source_version"])
    return {
        column: moment
        for column, (reached, moment) in known.items()
        if row.get(column) is None and reached <= version
    }


def plan_batch(
    events: Sequence[StreamEvent],
    stored: Mapping[UUID, Mapping[str, Any]],
    projected_at: datetime,
) -> BatchPlan:
    """Outcomes like every projection's (newer version applied, equal duplicate, older stale),
    every event's row, one state row per order (its newest applied version), and the stored
    rows that a late event can complete. ``stored`` holds ``LOOKUP_COLUMNS`` per order."""
    plan = BatchPlan()
    newest: dict[UUID, tuple[int, str]] = {
        order_id: (int(row["source_version"]), str(row["last_event_id"]))
        for order_id, row in stored.items()
    }
    winners: dict[UUID, StreamEvent] = {}
    for event in events:
        plan.event_rows.append(event_row(event, projected_at))
        current = newest.get(event.aggregate_id)
        if current is None or event.aggregate_version > current[0]:
            newest[event.aggregate_id] = (event.aggregate_version, str(event.event_id))
            winners[event.aggregate_id] = event
            plan.outcomes.append(Outcome.APPLIED)
        elif event.aggregate_version == current[0] or str(event.event_id) == current[1]:
            plan.outcomes.append(Outcome.DUPLICATE)
        else:
            plan.outcomes.append(Outcome.STALE)
    known = _milestones(events, stored)
    for order_id, event in winners.items():
        row = state_row(event, projected_at)
        row.update(_missing(row, known.get(order_id, {})))
        plan.state_rows.append(row)
    for order_id, old in stored.items():
        fills = _missing(old, known.get(order_id, {}))
        if fills and order_id not in winners:
            plan.repairs[order_id] = fills
    return plan


def repaired_rows(
    full_rows: Sequence[Mapping[str, Any]],
    repairs: Mapping[UUID, Mapping[str, datetime]],
    projected_at: datetime,
) -> list[list[Any]]:
    """Stored rows again, same ``source_version``, with the milestones they lacked."""
    values: list[list[Any]] = []
    for old in full_rows:
        row = {
            column: utc(old[column]) if column.endswith("_at") else old[column]
            for column in STATE_COLUMNS
        }
        row.update(repairs.get(UUID(str(old["order_id"])), {}))
        row["projected_at"] = projected_at
        values.append([row[column] for column in STATE_COLUMNS])
    return values
