"""Orders with their lines, payment, shipment, refunds and notes, loaded as one aggregate."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from orders_cqrs.db.session import Deferred, Session, json_text
from orders_cqrs.domain.order import Order
from orders_cqrs.domain.values import (
    Address,
    Customer,
    Note,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentState,
    Refund,
    Shipment,
    StockState,
)

# One round trip for the whole aggregate: the order's row lock, then the read, as two
# statements of one message. The lock serialises commands on one order: the second command
# waits, then sees the first one's version and checks If-Match against it, so two concurrent
# commands can never both build on the same version. The lock is its own statement because
# a READ COMMITTED statement that waits for a row lock re-reads only the locked row once it
# gets it (``FOR UPDATE OF o`` in the read itself): the payment, shipment, lines, refunds
# and notes joined to it would still be those of the statement's start, before the command
# it waited for committed (a cancel queued behind an authorization saw the order AUTHORIZED
# with its payment still pending, and wrote that payment back). The read, a statement of its
# own started after the lock is held, sees everything the previous command committed.
_LOCK_SQL = "SELECT 1 FROM orders WHERE id = %s FOR UPDATE"
_LOAD_SQL = """
    SELECT o.*, p.provider, p.state AS payment_state, p.authorized, p.captured, p.refunded,
           p.authorization_ref, p.decline_reason,
           s.carrier, s.tracking_number, s.shipped_at, s.delivered_at,
           (SELECT coalesce(json_agg(json_build_object(
                'sku', l.sku, 'name', l.name, 'quantity', l.quantity,
                'unit_price', l.unit_price) ORDER BY l.line_no), '[]')
              FROM order_lines l WHERE l.order_id = o.id) AS lines,
           (SELECT coalesce(json_agg(json_build_object(
                'id', r.id, 'amount', r.amount, 'reason', r.reason,
                'created_at', r.created_at) ORDER BY r.created_at, r.id), '[]')
              FROM refunds r WHERE r.order_id = o.id) AS refund_list,
           (SELECT coalesce(json_agg(json_build_object(
                'id', n.id, 'author', n.author, 'author_name', n.author_name,
                'body', n.body, 'created_at', n.created_at)
                ORDER BY n.created_at, n.id), '[]')
              FROM support_notes n WHERE n.order_id = o.id) AS note_list
      FROM orders o
      JOIN payments p ON p.order_id = o.id
      LEFT JOIN shipments s ON s.order_id = o.id
     WHERE o.id = %s
"""


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _order_from_row(m: dict[str, Any]) -> Order:
    shipment = None
    if m["carrier"] is not None:
        shipment = Shipment(m["carrier"], m["tracking_number"], m["shipped_at"], m["delivered_at"])
    return Order(
        id=m["id"],
        version=m["version"],
        status=OrderStatus(m["status"]),
        customer=Customer(
            m["customer_id"], m["customer_email"], m["customer_name"], m["customer_country"]
        ),
        lines=tuple(OrderLine(**line) for line in m["lines"]),
        shipping=Address(
            m["ship_country"],
            m["ship_region"],
            m["ship_city"],
            m["ship_postal_code"],
            m["ship_line1"],
        ),
        currency=m["currency"],
        payment=Payment(
            provider=m["provider"],
            state=PaymentState(m["payment_state"]),
            authorized=m["authorized"],
            captured=m["captured"],
            refunded=m["refunded"],
            authorization_ref=m["authorization_ref"],
            decline_reason=m["decline_reason"],
        ),
        risk_flags=tuple(m["risk_flags"]),
        stock=StockState(m["stock_state"]),
        placed_at=m["placed_at"],
        updated_at=m["updated_at"],
        captured_at=m["captured_at"],
        cancelled_at=m["cancelled_at"],
        cancel_reason=m["cancel_reason"],
        shipment=shipment,
        refunds=tuple(
            Refund(UUID(r["id"]), r["amount"], r["reason"], _ts(r["created_at"]))
            for r in m["refund_list"]
        ),
        notes=tuple(
            Note(UUID(n["id"]), n["author"], n["body"], _ts(n["created_at"]), n["author_name"])
            for n in m["note_list"]
        ),
    )


# A placed order is three tables; one statement writes them all, from one JSON document
# (binding one value instead of thirty keeps the API process's work small). Its foreign keys
# are checked when the statement ends, by which time the order row exists.
_INSERT_PLACED = """
WITH doc AS (SELECT %s::jsonb AS d), placed AS (
  INSERT INTO orders (id, version, status, customer_id, customer_email, customer_name,
    customer_country, ship_country, ship_region, ship_city, ship_postal_code, ship_line1,
    currency, total, risk_flags, stock_state, placed_at, updated_at, captured_at,
    cancelled_at, cancel_reason)
  SELECT o.id, o.version, o.status, o.customer_id, o.customer_email, o.customer_name,
    o.customer_country, o.ship_country, o.ship_region, o.ship_city, o.ship_postal_code,
    o.ship_line1, o.currency, o.total, o.risk_flags, o.stock_state, o.placed_at, o.updated_at,
    o.captured_at, o.cancelled_at, o.cancel_reason
    FROM doc, jsonb_populate_record(NULL::orders, d -> 'order') AS o
), payment AS (
  INSERT INTO payments (order_id, token, provider, state, authorized, captured, refunded,
    authorization_ref, decline_reason)
  SELECT p.order_id, p.token, p.provider, p.state, p.authorized, p.captured, p.refunded,
    p.authorization_ref, p.decline_reason
    FROM doc, jsonb_populate_record(NULL::payments, d -> 'payment') AS p
)
INSERT INTO order_lines (order_id, line_no, sku, name, quantity, unit_price)
SELECT l.order_id, l.line_no, l.sku, l.name, l.quantity, l.unit_price
  FROM doc, jsonb_populate_recordset(NULL::order_lines, d -> 'lines') AS l
"""
_SAVE_ORDER = """
UPDATE orders SET (version, status, customer_id, customer_email, customer_name,
  customer_country, ship_country, ship_region, ship_city, ship_postal_code, ship_line1,
  currency, total, risk_flags, stock_state, placed_at, updated_at, captured_at,
  cancelled_at, cancel_reason) = ROW(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
  %s, %s, %s, %s, %s, %s, %s) WHERE id = %s
"""
_SAVE_PAYMENT = """
UPDATE payments SET (provider, state, authorized, captured, refunded, authorization_ref,
  decline_reason, updated_at) = ROW(%s, %s, %s, %s, %s, %s, %s, %s) WHERE order_id = %s
"""
_COUNT_RECENT = "SELECT count(*) FROM orders WHERE customer_id = %s AND placed_at >= %s"
_INSERT_REFUND = (
    "INSERT INTO refunds (id, order_id, amount, reason, created_at) VALUES (%s, %s, %s, %s, %s)"
)
_INSERT_NOTE = (
    "INSERT INTO support_notes (id, order_id, author, body, created_at, author_name)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)
_UPSERT_SHIPMENT = """
INSERT INTO shipments (order_id, carrier, tracking_number, shipped_at, delivered_at)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (order_id) DO UPDATE
   SET carrier = excluded.carrier, tracking_number = excluded.tracking_number,
       shipped_at = excluded.shipped_at, delivered_at = excluded.delivered_at
"""


class OrderRepository:
    """Reads and writes the order aggregate."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def get_for_update(self, order_id: UUID) -> Order | None:
        """The order, locked until the transaction ends; None when it does not exist."""
        self._session.later(_LOCK_SQL, (order_id,))
        rows = await self._session.run_named(_LOAD_SQL, (order_id,))
        return _order_from_row(rows[0]) if rows else None

    async def get(self, order_id: UUID) -> Order | None:
        """The order as last committed, without a lock: for showing what a command would do
        (the console's confirmation step). The command itself loads it again, locked."""
        rows = await self._session.run_named(_LOAD_SQL, (order_id,))
        return _order_from_row(rows[0]) if rows else None

    def count_recent_by_customer(self, customer_id: UUID, since: datetime) -> Deferred[int]:
        """How many orders the customer placed since ``since`` (velocity risk).

        Deferred: it travels with the next statement that waits for an answer.
        """
        return self._session.defer(_COUNT_RECENT, (customer_id, since), lambda rows: rows[0][0])

    async def add(self, order: Order, *, payment_token: str) -> None:
        """Insert a newly placed order with its lines and payment (no answer is awaited)."""
        doc = {
            "order": {**_order_params(order), "id": order.id},
            "payment": {
                **_payment_params(order),
                "order_id": order.id,
                "token": payment_token,
            },
            "lines": [
                {
                    "order_id": order.id,
                    "line_no": no,
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                }
                for no, line in enumerate(order.lines, start=1)
            ],
        }
        self._session.later(_INSERT_PLACED, (json_text(doc),))

    async def save(self, order: Order) -> None:
        """Write back the order's mutable state (status, version, payment, timestamps)."""
        self._session.later(_SAVE_ORDER, (*_order_values(order), order.id))
        self._session.later(_SAVE_PAYMENT, (*_payment_values(order), order.updated_at, order.id))

    async def add_refund(self, order_id: UUID, refund: Refund) -> None:
        """Record an issued refund."""
        self._session.later(
            _INSERT_REFUND, (refund.id, order_id, refund.amount, refund.reason, refund.created_at)
        )

    async def add_note(self, order_id: UUID, note: Note) -> None:
        """Record a support note."""
        self._session.later(
            _INSERT_NOTE,
            (note.id, order_id, note.author, note.body, note.created_at, note.author_name),
        )

    async def save_shipment(self, order_id: UUID, shipment: Shipment) -> None:
        """Insert or update the order's shipment."""
        self._session.later(
            _UPSERT_SHIPMENT,
            (
                order_id,
                shipment.carrier,
                shipment.tracking_number,
                shipment.shipped_at,
                shipment.delivered_at,
            ),
        )


_ORDER_PARAM_NAMES = (
    "version",
    "status",
    "customer_id",
    "customer_email",
    "customer_name",
    "customer_country",
    "ship_country",
    "ship_region",
    "ship_city",
    "ship_postal_code",
    "ship_line1",
    "currency",
    "total",
    "risk_flags",
    "stock_state",
    "placed_at",
    "updated_at",
    "captured_at",
    "cancelled_at",
    "cancel_reason",
)


_PAYMENT_PARAM_NAMES = (
    "provider",
    "state",
    "authorized",
    "captured",
    "refunded",
    "authorization_ref",
    "decline_reason",
)


def _order_params(order: Order) -> dict[str, Any]:
    return dict(zip(_ORDER_PARAM_NAMES, _order_values(order), strict=True))


def _payment_params(order: Order) -> dict[str, Any]:
    return dict(zip(_PAYMENT_PARAM_NAMES, _payment_values(order), strict=True))


def _order_values(order: Order) -> tuple[Any, ...]:
    return (
        order.version,
        order.status.value,
        order.customer.id,
        order.customer.email,
        order.customer.name,
        order.customer.country,
        order.shipping.country,
        order.shipping.region,
        order.shipping.city,
        order.shipping.postal_code,
        order.shipping.line1,
        order.currency,
        order.total,
        list(order.risk_flags),
        order.stock.value,
        order.placed_at,
        order.updated_at,
        order.captured_at,
        order.cancelled_at,
        order.cancel_reason,
    )


def _payment_values(order: Order) -> tuple[Any, ...]:
    p = order.payment
    return (
        p.provider,
        p.state.value,
        p.authorized,
        p.captured,
        p.refunded,
        p.authorization_ref,
        p.decline_reason,
    )
