"""What the order handlers share: loading under lock and shaping the accepted answer."""

from __future__ import annotations

from uuid import UUID

from orders_cqrs.domain.errors import OrderNotFound
from orders_cqrs.domain.events import OrderEvent
from orders_cqrs.domain.order import Order
from orders_cqrs.write.context import Accepted, CommandContext, Trail
from orders_cqrs.write.unit_of_work import UnitOfWork


def etag(version: int) -> str:
    """The strong ETag of an order version."""
    return f'"{version}"'


async def load_order(uow: UnitOfWork, order_id: UUID, ctx: CommandContext, trail: Trail) -> Order:
    """The order, locked, after the client's If-Match check."""
    trail.order_id = order_id
    order = await uow.orders.get_for_update(order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    trail.version_before = order.version
    order.expect_version(ctx.if_match)
    return order


def accepted(
    order: Order, version_before: int | None, *, status_code: int = 200
) -> tuple[Accepted, list[OrderEvent]]:
    """The order's snapshot as the response, with its ETag, plus the events to append."""
    headers = {"ETag": etag(order.version)}
    if status_code == 201:
        headers["Location"] = f"/v1/orders/{order.id}"
    answer = Accepted(
        status_code=status_code,
        body=order.snapshot(),
        order_id=order.id,
        version_before=version_before,
        version_after=order.version,
        headers=headers,
    )
    return answer, list(order.events)
