"""Refunds and notes: the commands support staff issue."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from orders_cqrs.domain.commands import AddSupportNote, IssueRefund
from orders_cqrs.write.context import Accepted, CommandContext
from orders_cqrs.write.handlers.common import load_order, save_order
from orders_cqrs.write.unit_of_work import UnitOfWork


async def issue_refund(
    cmd: IssueRefund, uow: UnitOfWork, ctx: CommandContext, *, window: timedelta
) -> Accepted:
    """Refund within the rules the order enforces (``window`` is bound from settings)."""
    order = await load_order(uow, cmd.order_id, ctx)
    order.refund(
        refund_id=uuid4(),
        amount=cmd.amount,
        currency=cmd.currency,
        reason=cmd.reason,
        window=window,
        now=ctx.now,
    )
    await uow.orders.add_refund(order.id, order.refunds[-1])
    return await save_order(uow, order, ctx)


async def add_support_note(cmd: AddSupportNote, uow: UnitOfWork, ctx: CommandContext) -> Accepted:
    """Append a note written by the calling support agent."""
    order = await load_order(uow, cmd.order_id, ctx)
    order.add_note(
        note_id=uuid4(), author=ctx.actor, body=cmd.body, now=ctx.now, author_name=ctx.actor_name
    )
    await uow.orders.add_note(order.id, order.notes[-1])
    return await save_order(uow, order, ctx)
