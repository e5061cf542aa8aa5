"""Step 3 of an authorization, shared by the API and the reconciler: record the result once."""

from __future__ import annotations

from uuid import UUID

from orders_cqrs.domain.errors import DomainError, IllegalTransition
from orders_cqrs.observability import metrics
from orders_cqrs.write.context import CommandContext, CommandOutcome, Trail
from orders_cqrs.write.executor import Executor
from orders_cqrs.write.handlers.common import accepted
from orders_cqrs.write.payments.port import AuthorizationResult


async def record_authorization(
    executor: Executor, attempt_id: UUID, result: AuthorizationResult, ctx: CommandContext
) -> CommandOutcome:
    """Apply the provider's decision to the order, with its event, audit row and receipt.

    The attempt row is locked first: whoever gets it second (a retry, or the reconciler)
    finds it finished and answers with the order as it now stands, without a second event.
    """
    trail = Trail()
    try:
        async with executor.uow_factory() as uow:
            attempt = await uow.attempts.lock(attempt_id)
            assert attempt is not None
            trail.order_id = attempt.order_id
            order = await uow.orders.get_for_update(attempt.order_id)
            assert order is not None
            trail.version_before = order.version
            if attempt.status != "pending":
                # Someone recorded this attempt first: answer with the order as it stands,
                # and still store this request's receipt and audit row (no second event).
                answer, _ = accepted(order, order.version)
                outcome = await executor.finish(uow, ctx, answer, [])
                await uow.commit()
                metrics.COMMANDS.labels(ctx.command, "accepted").inc()
                return outcome
            status = "approved" if result.approved else "declined"
            await uow.attempts.finish(
                attempt_id,
                status=status,
                provider_ref=result.provider_ref,
                reason=result.decline_reason,
            )
            before = order.version
            try:
                if result.approved:
                    assert result.provider_ref is not None
                    order.authorize(authorization_ref=result.provider_ref, now=ctx.now)
                else:
                    released = order.decline(
                        reason=result.decline_reason or "declined", now=ctx.now
                    )
                    await uow.inventory.release(released)
            except IllegalTransition:
                # The order moved on (cancelled) while the provider was deciding: keep the
                # attempt's answer for the record, change nothing else.
                await uow.receipts.release(client_id=ctx.client_id, key=ctx.idempotency_key)
                await uow.commit()
                raise
            await uow.orders.save(order)
            answer, events = accepted(order, before)
            outcome = await executor.finish(uow, ctx, answer, events)
            await uow.commit()
    except DomainError as refusal:
        await executor.audit_refusal(ctx, trail, refusal)
        metrics.COMMANDS.labels(ctx.command, "rejected").inc()
        raise
    metrics.COMMANDS.labels(ctx.command, "accepted").inc()
    metrics.OUTBOX_ROWS.labels(ctx.command).inc(len(events))
    return outcome
