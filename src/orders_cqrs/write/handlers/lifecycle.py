"""Capture, cancel, ship and deliver: each loads the order, lets it decide, writes it back."""

from __future__ import annotations

from orders_cqrs.domain.commands import CancelOrder, CapturePayment, DeliverOrder, ShipOrder
from orders_cqrs.write.context import Accepted, CommandContext
from orders_cqrs.write.handlers.common import accepted, load_order
from orders_cqrs.write.unit_of_work import UnitOfWork


async def capture_payment(cmd: CapturePayment, uow: UnitOfWork, ctx: CommandContext) -> Accepted:
    """Capture up to the authorized amount; the reserved stock becomes sold."""
    order = await load_order(uow, cmd.order_id, ctx)
    before = order.version
    sold = order.capture(amount=cmd.amount, currency=cmd.currency, now=ctx.now)
    await uow.inventory.sell(sold)
    await uow.orders.save(order)
    return accepted(order, before)


async def cancel_order(cmd: CancelOrder, uow: UnitOfWork, ctx: CommandContext) -> Accepted:
    """Cancel before capture; the reservation is released exactly once."""
    order = await load_order(uow, cmd.order_id, ctx)
    before = order.version
    released = order.cancel(reason=cmd.reason, now=ctx.now)
    await uow.inventory.release(released)
    await uow.orders.save(order)
    return accepted(order, before)


async def ship_order(cmd: ShipOrder, uow: UnitOfWork, ctx: CommandContext) -> Accepted:
    """Record carrier and tracking."""
    order = await load_order(uow, cmd.order_id, ctx)
    before = order.version
    order.ship(carrier=cmd.carrier, tracking_number=cmd.tracking_number, now=ctx.now)
    assert order.shipment is not None
    await uow.orders.save_shipment(order.id, order.shipment)
    await uow.orders.save(order)
    return accepted(order, before)


async def deliver_order(cmd: DeliverOrder, uow: UnitOfWork, ctx: CommandContext) -> Accepted:
    """Mark delivered."""
    order = await load_order(uow, cmd.order_id, ctx)
    before = order.version
    order.deliver(now=ctx.now)
    assert order.shipment is not None
    await uow.orders.save_shipment(order.id, order.shipment)
    await uow.orders.save(order)
    return accepted(order, before)
