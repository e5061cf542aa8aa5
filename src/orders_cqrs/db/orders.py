"""Orders with their lines, payment, shipment, refunds and notes, loaded as one aggregate."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from orders_cqrs.db.tables import (
    order_lines,
    orders,
    payments,
    refunds,
    shipments,
    support_notes,
)
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

# One round trip for the whole aggregate. ``FOR UPDATE OF o`` serialises commands on one
# order: the second command waits, then sees the first one's version and checks If-Match
# against it, so two concurrent commands can never both build on the same version.
_LOAD_SQL = text(
    """
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
                'id', n.id, 'author', n.author, 'body', n.body,
                'created_at', n.created_at) ORDER BY n.created_at, n.id), '[]')
              FROM support_notes n WHERE n.order_id = o.id) AS note_list
      FROM orders o
      JOIN payments p ON p.order_id = o.id
      LEFT JOIN shipments s ON s.order_id = o.id
     WHERE o.id = :order_id
    """
)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _order_from_row(row: Any) -> Order:
    m = row._mapping
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
            Note(UUID(n["id"]), n["author"], n["body"], _ts(n["created_at"]))
            for n in m["note_list"]
        ),
    )


class OrderRepository:
    """Reads and writes the order aggregate."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get_for_update(self, order_id: UUID) -> Order | None:
        """The order, locked until the transaction ends; None when it does not exist."""
        result = await self._conn.execute(
            text(f"{_LOAD_SQL.text} FOR UPDATE OF o"), {"order_id": order_id}
        )
        row = result.first()
        return _order_from_row(row) if row is not None else None

    async def count_recent_by_customer(self, customer_id: UUID, since: datetime) -> int:
        """How many orders the customer placed since ``since`` (velocity risk)."""
        result = await self._conn.execute(
            text("SELECT count(*) FROM orders WHERE customer_id = :cid AND placed_at >= :since"),
            {"cid": customer_id, "since": since},
        )
        return int(result.scalar_one())

    async def add(self, order: Order, *, payment_token: str) -> None:
        """Insert a newly placed order with its lines and payment."""
        await self._conn.execute(insert(orders).values(**_order_columns(order), id=order.id))
        await self._conn.execute(
            insert(order_lines),
            [
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
        )
        await self._conn.execute(
            insert(payments).values(
                order_id=order.id, token=payment_token, **_payment_columns(order)
            )
        )

    async def save(self, order: Order) -> None:
        """Write back the order's mutable state (status, version, payment, timestamps)."""
        await self._conn.execute(
            update(orders).where(orders.c.id == order.id).values(**_order_columns(order))
        )
        await self._conn.execute(
            update(payments)
            .where(payments.c.order_id == order.id)
            .values(**_payment_columns(order), updated_at=order.updated_at)
        )

    async def add_refund(self, order_id: UUID, refund: Refund) -> None:
        """Record an issued refund."""
        await self._conn.execute(
            insert(refunds).values(
                id=refund.id,
                order_id=order_id,
                amount=refund.amount,
                reason=refund.reason,
                created_at=refund.created_at,
            )
        )

    async def add_note(self, order_id: UUID, note: Note) -> None:
        """Record a support note."""
        await self._conn.execute(
            insert(support_notes).values(
                id=note.id,
                order_id=order_id,
                author=note.author,
                body=note.body,
                created_at=note.created_at,
            )
        )

    async def save_shipment(self, order_id: UUID, shipment: Shipment) -> None:
        """Insert or update the order's shipment."""
        values = {
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "shipped_at": shipment.shipped_at,
            "delivered_at": shipment.delivered_at,
        }
        exists = await self._conn.execute(
            select(shipments.c.order_id).where(shipments.c.order_id == order_id)
        )
        if exists.first() is None:
            await self._conn.execute(insert(shipments).values(order_id=order_id, **values))
        else:
            await self._conn.execute(
                update(shipments).where(shipments.c.order_id == order_id).values(**values)
            )


def _order_columns(order: Order) -> dict[str, Any]:
    return {
        "version": order.version,
        "status": order.status.value,
        "customer_id": order.customer.id,
        "customer_email": order.customer.email,
        "customer_name": order.customer.name,
        "customer_country": order.customer.country,
        "ship_country": order.shipping.country,
        "ship_region": order.shipping.region,
        "ship_city": order.shipping.city,
        "ship_postal_code": order.shipping.postal_code,
        "ship_line1": order.shipping.line1,
        "currency": order.currency,
        "total": order.total,
        "risk_flags": list(order.risk_flags),
        "stock_state": order.stock.value,
        "placed_at": order.placed_at,
        "updated_at": order.updated_at,
        "captured_at": order.captured_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
    }


def _payment_columns(order: Order) -> dict[str, Any]:
    p = order.payment
    return {
        "provider": p.provider,
        "state": p.state.value,
        "authorized": p.authorized,
        "captured": p.captured,
        "refunded": p.refunded,
        "authorization_ref": p.authorization_ref,
        "decline_reason": p.decline_reason,
    }
