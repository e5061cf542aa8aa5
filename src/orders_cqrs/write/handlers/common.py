"""What the order handlers share: loading under lock, saving, and the accepted answer."""

from __future__ import annotations

from uuid import UUID

from orders_cqrs.domain.errors import OrderNotFound
from orders_cqrs.domain.order import Order
from orders_cqrs.write.context import Accepted, CommandContext
from orders_cqrs.write.unit_of_work import UnitOfWork


async def load_order(uow: UnitOfWork, order_id: UUID, ctx: CommandContext) -> Order:
    """The order, locked, after the client's If-Match check."""
    ctx.trail.order_id = order_id
    order = await uow.orders.get_for_update(order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    ctx.trail.version_before = order.version
    order.expect_version(ctx.if_match)
    return order


def accepted(order: Order, version_before: int | None) -> Accepted:
    """The order's snapshot as the answer, plus the events the command appended to it."""
    return Accepted(
        body=order.snapshot(),
        order_id=order.id,
        version_before=version_before,
        version_after=order.version,
        events=list(order.events),
    )


async def save_order(uow: UnitOfWork, order: Order, ctx: CommandContext) -> Accepted:
    """Write the changed order back; the answer reports the version ``load_order`` found."""
    await uow.orders.save(order)
    return accepted(order, ctx.trail.version_before)
