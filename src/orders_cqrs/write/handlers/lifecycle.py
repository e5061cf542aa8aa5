"""Capture, ship and deliver: each loads the order, lets it decide, writes it back.

Cancel, which may have to void a hold with the provider, is in ``handlers/cancel.py``.
"""

from __future__ import annotations

from orders_cqrs.domain.commands import CapturePayment, DeliverOrder, ShipOrder
from orders_cqrs.domain.order import Order
from orders_cqrs.write.context import Accepted, CommandContext
from orders_cqrs.write.handlers.common import load_order, save_order
from orders_cqrs.write.unit_of_work import UnitOfWork


async def capture_payment(cmd: CapturePayment, uow: UnitOfWork, ctx: CommandContext) -> Accepted:
    """Capture up to the authorized amount; the reserved stock becomes sold."""
    order = await load_order(uow, cmd.order_id, ctx)
    await uow.inventory.sell(order.capture(amount=cmd.amount, currency=cmd.currency, now=ctx.now))
    return await save_order(uow, order, ctx)


async def ship_order(cmd: ShipOrder, uow: UnitOfWork, ctx: CommandContext) -> Accepted:
    """Record carrier and tracking."""
    order = await load_order(uow, cmd.order_id, ctx)
    order.ship(carrier=cmd.carrier, tracking_number=cmd.tracking_number, now=ctx.now)
    return await _save_with_shipment(uow, order, ctx)


async def deliver_order(cmd: DeliverOrder, uow: UnitOfWork, ctx: CommandContext) -> Accepted:
    """Mark delivered."""
    order = await load_order(uow, cmd.order_id, ctx)
    order.deliver(now=ctx.now)
    return await _save_with_shipment(uow, order, ctx)


async def _save_with_shipment(uow: UnitOfWork, order: Order, ctx: CommandContext) -> Accepted:
    """Shipping and delivery change the shipment row as well as the order."""
    assert order.shipment is not None
    await uow.orders.save_shipment(order.id, order.shipment)
    return await save_order(uow, order, ctx)
