"""PlaceOrder: reserve stock in sorted SKU order, assess risk, open the order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import uuid4

from orders_cqrs.domain.commands import PlaceOrder
from orders_cqrs.domain.errors import InvalidOrder, OutOfStock, UnknownSku
from orders_cqrs.domain.order import Order
from orders_cqrs.domain.risk import RiskPolicy, assess_risk
from orders_cqrs.domain.values import OrderLine
from orders_cqrs.write.context import Accepted, CommandContext
from orders_cqrs.write.handlers.common import accepted
from orders_cqrs.write.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class PlacementPolicy:
    """Settings the placement consults."""

    providers: frozenset[str]
    risk: RiskPolicy
    velocity_window: timedelta


async def place_order(
    cmd: PlaceOrder, uow: UnitOfWork, ctx: CommandContext, *, policy: PlacementPolicy
) -> Accepted:
    """Reserve every line or none (a refusal rolls the reservations back), then open the order."""
    if cmd.provider not in policy.providers:
        raise InvalidOrder(f"unknown payment provider {cmd.provider!r}")
    if len({sku for sku, _ in cmd.items}) != len(cmd.items):
        raise InvalidOrder("each SKU may appear on one line only")
    order_id = uuid4()
    ctx.trail.order_id = order_id
    quantities = dict(cmd.items)
    # The velocity count rides along with the reservations: one round trip for both.
    recent = uow.orders.count_recent_by_customer(cmd.customer.id, ctx.now - policy.velocity_window)
    reserved = await uow.inventory.reserve_lines(quantities.items())
    lines: dict[str, OrderLine] = {}
    for (sku, qty), product in zip(sorted(quantities.items()), reserved, strict=True):
        if product is None:
            if not await uow.inventory.exists(sku):
                raise UnknownSku(f"no product with SKU {sku}")
            raise OutOfStock(sku)
        lines[sku] = OrderLine(sku, product.name, qty, product.unit_price)
    currencies = {product.currency for product in reserved if product is not None}
    if len(currencies) != 1:
        raise InvalidOrder("all items of an order must be priced in one currency")
    ordered = tuple(lines[sku] for sku, _ in cmd.items)
    order = Order.place(
        order_id=order_id,
        customer=cmd.customer,
        lines=ordered,
        shipping=cmd.shipping,
        currency=currencies.pop(),
        provider=cmd.provider,
        risk_flags=assess_risk(
            total=sum(line.line_total for line in ordered),
            shipping_country=cmd.shipping.country,
            customer_country=cmd.customer.country,
            recent_orders_by_customer=recent.value,
            policy=policy.risk,
        ),
        now=ctx.now,
    )
    await uow.orders.add(order, payment_token=cmd.token)
    return accepted(order, None)
