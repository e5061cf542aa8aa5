"""The steps of an authorization: record the attempt, then the provider's answer (or none).

Each runs in its own transaction through the executor; ``write/payments/authorization.py``
calls the provider between them with no transaction open.
"""

from __future__ import annotations

from uuid import uuid4

from orders_cqrs.db.payment_attempts import PaymentAttempt
from orders_cqrs.domain.errors import IllegalTransition
from orders_cqrs.write.context import Accepted, CommandContext, Continued, Refused
from orders_cqrs.write.errors import PaymentTimeout
from orders_cqrs.write.handlers.common import accepted, load_order
from orders_cqrs.write.payments.port import AuthorizationRequest
from orders_cqrs.write.payments.steps import (
    AbandonPaymentAttempt,
    PaymentCall,
    RecordAuthorization,
    RecordPaymentAttempt,
    RecordPaymentTimeout,
)
from orders_cqrs.write.unit_of_work import UnitOfWork


async def record_payment_attempt(
    cmd: RecordPaymentAttempt, uow: UnitOfWork, ctx: CommandContext
) -> Continued[PaymentCall]:
    """Record the order's pending attempt, or take over the one a timeout or crash left.

    The claim is settled before the order is touched: while a provider call is under way
    the key is held in progress, and a duplicate is refused (or a finished one replayed)
    without locking the order; such a refusal names no order in the audit log.
    """
    await uow.settle()
    order = await load_order(uow, cmd.order_id, ctx)
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
        await uow.attempts.hand_over(attempt.id, client_id=ctx.client_id, key=ctx.idempotency_key)
    token = await uow.attempts.token_for(order.id)
    request = AuthorizationRequest(
        idempotency_key=attempt.id,
        order_id=attempt.order_id,
        amount=attempt.amount,
        currency=attempt.currency,
        token=token,
    )
    return Continued(PaymentCall(attempt.provider, request))


async def record_authorization(
    cmd: RecordAuthorization, uow: UnitOfWork, ctx: CommandContext
) -> Accepted | Refused:
    """Apply the provider's decision to the order, with its event, audit row and receipt.

    The attempt row is locked first: whoever gets it second (a retry, or the reconciler)
    finds it finished and answers with the order as it now stands, without a second event.
    """
    attempt = await uow.attempts.lock(cmd.attempt_id)
    assert attempt is not None
    ctx.trail.order_id = attempt.order_id
    order = await uow.orders.get_for_update(attempt.order_id)
    assert order is not None
    ctx.trail.version_before = order.version
    if attempt.status != "pending":
        # Someone recorded this attempt first: answer with the order as it stands, and
        # still store this request's receipt and audit row (no second event).
        return Accepted(order.snapshot(), order.id, order.version, order.version)
    result = cmd.result
    await uow.attempts.finish(
        cmd.attempt_id,
        status="approved" if result.approved else "declined",
        provider_ref=result.provider_ref,
        reason=result.decline_reason,
    )
    before = order.version
    try:
        if result.approved:
            assert result.provider_ref is not None
            order.authorize(authorization_ref=result.provider_ref, now=ctx.now)
        else:
            released = order.decline(reason=result.decline_reason or "declined", now=ctx.now)
            await uow.inventory.release(released)
    except IllegalTransition as refusal:
        # The order moved on (cancelled) while the provider was deciding: keep the
        # attempt's answer for the record, set the key free, change nothing else.
        await uow.receipts.release(client_id=ctx.client_id, key=ctx.idempotency_key)
        return Refused(refusal)
    await uow.orders.save(order)
    return accepted(order, before)


async def record_payment_timeout(
    cmd: RecordPaymentTimeout, uow: UnitOfWork, ctx: CommandContext
) -> Refused:
    """Refuse the request, but keep its receipt bound to the attempt.

    If the reconciler finishes the attempt, it completes this receipt and a retry replays
    the result; until then a retry takes the claim over at once (the lease ends now) and
    asks the provider again with the same attempt key.
    """
    await uow.receipts.end_lease(client_id=ctx.client_id, key=ctx.idempotency_key)
    return Refused(
        PaymentTimeout(
            "the payment provider did not answer in time; retry with the same Idempotency-Key"
            " or wait for reconciliation"
        )
    )


async def abandon_payment_attempt(
    cmd: AbandonPaymentAttempt, uow: UnitOfWork, ctx: CommandContext
) -> Continued[None]:
    """Close an attempt the provider never saw; its request's key is free for a retry."""
    await uow.attempts.finish(
        cmd.attempt_id, status="abandoned", provider_ref=None, reason="unknown to provider"
    )
    if cmd.release_receipt:
        await uow.receipts.release(client_id=ctx.client_id, key=ctx.idempotency_key)
    return Continued(None)
