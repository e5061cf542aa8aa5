"""The steps of a cancel: cancel the order and record the pending void, then the void's answer.

A cancel of an order that holds no authorization is one step, like any command. One that
holds an authorization is executor steps around the provider's void
(``write/payments/voiding.py``), in the lock order of ``handlers/authorize.py``: the
request's receipt, then the order, then the payment attempt.

A cancel that meets an authorization under way is refused (``PaymentInFlight``). The
authorization's attempt is recorded under the order's lock before the provider is asked, and
the cancel looks for it under the same lock, so exactly one of two things holds: the cancel
came first (the authorization then finds the order cancelled and never calls the provider),
or the attempt did (the cancel is refused until the authorization's answer is recorded;
then the order is authorized, can be captured, and a cancel voids it). Never a hold on a
cancelled order that nothing will release.
"""

from __future__ import annotations

from uuid import uuid4

from orders_cqrs.db.payment_attempts import VOID, PaymentAttempt
from orders_cqrs.domain.order import Order
from orders_cqrs.domain.values import PaymentState
from orders_cqrs.write.context import Accepted, CommandContext, Continued
from orders_cqrs.write.errors import PaymentInFlight
from orders_cqrs.write.handlers.authorize import (
    answer_if_finished,
    as_it_stands,
    lock_order_then_attempt,
)
from orders_cqrs.write.handlers.common import accepted, load_order
from orders_cqrs.write.payments.port import VoidRequest
from orders_cqrs.write.payments.steps import (
    RecordCancellation,
    RecordVoid,
    RecordVoidTimeout,
    VoidCall,
)
from orders_cqrs.write.unit_of_work import UnitOfWork


async def record_cancellation(
    cmd: RecordCancellation, uow: UnitOfWork, ctx: CommandContext
) -> Accepted | Continued[VoidCall]:
    """Cancel before capture, releasing the reservation exactly once; start the hold's void.

    The claim is settled first (as for an authorization): while the provider is asked to
    void, a duplicate of the request is refused or replayed without locking the order.
    """
    await uow.settle()
    order = await load_order(uow, cmd.order_id, ctx)
    void = await uow.attempts.pending_for_order(order.id, VOID)
    mine = (ctx.client_id, ctx.idempotency_key)
    if void is not None and (void.receipt_client_id, void.receipt_key) == mine:
        # The request was cut off (its process died) after the cancel and before the void's
        # answer; its retry takes the claim over and asks again with the same void key.
        return Continued(await _void_call(uow, void))
    if await uow.attempts.pending_for_order(order.id) is not None:
        raise PaymentInFlight(
            "an authorization of this order is under way; retry once it has been answered"
        )
    holds = order.payment.state is PaymentState.AUTHORIZED
    await uow.inventory.release(order.cancel(reason=cmd.reason, now=ctx.now))
    await uow.orders.save(order)
    if not holds:
        return accepted(order, ctx.trail.version_before)
    void = PaymentAttempt(
        id=uuid4(),
        order_id=order.id,
        provider=order.payment.provider,
        amount=order.payment.authorized,
        currency=order.currency,
        status="pending",
        receipt_client_id=ctx.client_id,
        receipt_key=ctx.idempotency_key,
        created_at=ctx.now,
        kind=VOID,
    )
    await uow.attempts.start(void)
    return Continued(await _void_call(uow, void, order), events=list(order.events))


async def record_void(cmd: RecordVoid, uow: UnitOfWork, ctx: CommandContext) -> Accepted:
    """Mark the payment voided, with its event, audit row and the request's receipt.

    Whoever locks the void attempt second (the request or the reconciler) finds it finished:
    the request answers with the order as it stands, the reconciler writes nothing.
    """
    order, attempt = await lock_order_then_attempt(uow, cmd.order_id, cmd.attempt_id, ctx)
    if (answered := answer_if_finished(order, attempt, reconciling=cmd.reconciling)) is not None:
        return answered
    result = cmd.result
    await uow.attempts.finish(
        attempt.id,
        status="voided",
        provider_ref=result.provider_ref,
        reason=None if result.released else "nothing held",
    )
    before = order.version
    order.void(void_ref=result.provider_ref, released=result.released, now=ctx.now)
    await uow.orders.save(order)
    return accepted(order, before)


async def record_void_timeout(
    cmd: RecordVoidTimeout, uow: UnitOfWork, ctx: CommandContext
) -> Accepted:
    """Answer the cancel with the order as it stands (``void_pending``) and complete its
    receipt; the void attempt, now bound to no request, is the reconciler's to finish."""
    order, attempt = await lock_order_then_attempt(uow, cmd.order_id, cmd.attempt_id, ctx)
    if attempt.status == "pending":
        await uow.attempts.hand_over(attempt.id, client_id=None, key=None)
    return as_it_stands(order)


async def _void_call(uow: UnitOfWork, void: PaymentAttempt, order: Order | None = None) -> VoidCall:
    """What the provider is asked: release the order's authorization, keyed by the attempt."""
    ref = order.payment.authorization_ref if order is not None else None
    request = VoidRequest(
        idempotency_key=void.id,
        order_id=void.order_id,
        authorization_ref=ref or await uow.attempts.authorization_ref_for(void.order_id),
        amount=void.amount,
        currency=void.currency,
        token=await uow.attempts.token_for(void.order_id),
    )
    return VoidCall(void.provider, request)
