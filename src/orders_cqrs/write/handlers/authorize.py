"""AuthorizePayment: the one command that calls out, so it spans three short steps.

1. record the attempt (commit) — the provider's idempotency key is the attempt id;
2. call the provider with no transaction open, bounded by a timeout;
3. record the result with its event (commit).
A crash between 2 and 3 leaves a pending attempt that ``orders-cqrs reconcile`` (or a retry
of the same request) finishes by asking the provider again with the same key.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import uuid4

from orders_cqrs.db.payment_attempts import PaymentAttempt
from orders_cqrs.domain.commands import AuthorizePayment
from orders_cqrs.domain.errors import DomainError
from orders_cqrs.observability import metrics
from orders_cqrs.write.context import CommandContext, CommandOutcome, Trail
from orders_cqrs.write.errors import PaymentTimeout
from orders_cqrs.write.executor import Executor
from orders_cqrs.write.handlers.common import load_order
from orders_cqrs.write.payments.port import AuthorizationRequest, PaymentGateway, ProviderTimeout
from orders_cqrs.write.payments.recording import record_authorization


@dataclass(frozen=True, slots=True)
class PaymentSettings:
    """How long a provider may take."""

    timeout_seconds: float


async def authorize_payment(
    cmd: AuthorizePayment,
    ctx: CommandContext,
    *,
    executor: Executor,
    gateways: dict[str, PaymentGateway],
    settings: PaymentSettings,
) -> CommandOutcome:
    """Authorize the order's total with its provider, exactly once per order."""
    trail = Trail()
    try:
        step = await _record_attempt(cmd, ctx, executor, trail)
    except DomainError as refusal:
        await executor.audit_refusal(ctx, trail, refusal)
        metrics.COMMANDS.labels(ctx.command, "rejected").inc()
        raise
    if isinstance(step, CommandOutcome):
        return step
    gateway = gateways[step.attempt.provider]
    try:
        result = await asyncio.wait_for(gateway.authorize(step.request), settings.timeout_seconds)
    except (TimeoutError, ProviderTimeout):
        metrics.PAYMENT_CALLS.labels(gateway.name, "timeout").inc()
        timeout = PaymentTimeout(
            "the payment provider did not answer in time; retry with the same Idempotency-Key"
            " or wait for reconciliation"
        )
        # Keep the receipt bound to the attempt: if the reconciler finishes the attempt, it
        # completes this receipt and a retry replays the result; until then a retry takes
        # the claim over at once and asks the provider again with the same attempt key.
        async with executor.uow_factory() as uow:
            await uow.receipts.end_lease(client_id=ctx.client_id, key=ctx.idempotency_key)
            await uow.commit()
        await executor.audit_refusal(ctx, trail, timeout)
        metrics.COMMANDS.labels(ctx.command, "rejected").inc()
        raise timeout from None
    metrics.PAYMENT_CALLS.labels(gateway.name, "approved" if result.approved else "declined").inc()
    return await record_authorization(executor, step.attempt.id, result, ctx)


@dataclass(frozen=True, slots=True)
class _Attempted:
    attempt: PaymentAttempt
    request: AuthorizationRequest


async def _record_attempt(
    cmd: AuthorizePayment, ctx: CommandContext, executor: Executor, trail: Trail
) -> _Attempted | CommandOutcome:
    """Step 1: claim the key and record (or take over) the order's pending attempt."""
    async with executor.uow_factory() as uow:
        stored = await executor.claim(uow, ctx)
        if stored is not None:
            return executor.replay(ctx, stored)
        order = await load_order(uow, cmd.order_id, ctx, trail)
        order.ensure_can("authorize")
        attempt = await uow.attempts.pending_for_order(order.id)
        if attempt is None:
            attempt = PaymentAttempt(
                id=uuid4(),
                order_id=order.id,
                provider=order.payment.provider,
                amount=order.total,
                currency=order.currency,
                status="pending",
                receipt_client_id=ctx.client_id,
                receipt_key=ctx.idempotency_key,
                created_at=ctx.now,
            )
            await uow.attempts.start(attempt)
        else:
            # A retry after a timeout or a crash reuses the attempt, hence the provider's
            # idempotency key: the provider answers with the decision it already made.
            await uow.attempts.hand_over(
                attempt.id, client_id=ctx.client_id, key=ctx.idempotency_key
            )
        token = await uow.attempts.token_for(order.id)
        await uow.commit()
    request = AuthorizationRequest(
        idempotency_key=attempt.id,
        order_id=attempt.order_id,
        amount=attempt.amount,
        currency=attempt.currency,
        token=token,
    )
    return _Attempted(attempt, request)
