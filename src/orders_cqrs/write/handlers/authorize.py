"""The steps of an authorization: record the attempt, then the provider's answer (or none).

Each runs in its own transaction through the executor; ``write/payments/authorization.py``
calls the provider between them with no transaction open.

Lock order: every one of these transactions locks the request's idempotency receipt, then
the order, then the payment attempt. Two transactions that lock the same rows in opposite
orders can each hold what the other waits for: PostgreSQL breaks such a deadlock by aborting
one of them, which a client sees as a 503 and which used to end ``reconcile --loop``. Why
this order and not another:

- the receipt first, because a claim must be a command's first statement (concurrent
  duplicates queue on the receipt's unique index before anything else is touched); the
  executor locks a follow-up's receipt first for the same reason;
- the order before the attempt, because the first step can only find the attempt through
  its order, and only under the order's lock is "the order's pending attempt" a question
  with a stable answer (an attempt is started or taken over under that lock alone). So the
  later steps and the reconciler, which know the attempt, lock its order by id first too.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from orders_cqrs.db.payment_attempts import PaymentAttempt
from orders_cqrs.domain.errors import IllegalTransition
from orders_cqrs.domain.order import Order
from orders_cqrs.write.context import Accepted, CommandContext, Continued, Refused
from orders_cqrs.write.errors import PaymentTimeout
from orders_cqrs.write.handlers.common import accepted, load_order
from orders_cqrs.write.payments.port import AuthorizationRequest
from orders_cqrs.write.payments.steps import (
    AbandonPaymentAttempt,
    AttemptMovedOn,
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

    Whoever locks the attempt second (a retry, or the reconciler) finds it finished. A retry
    answers with the order as it now stands, without a second event; the reconciler, which
    has no client waiting, writes nothing (``AttemptMovedOn``).
    """
    order, attempt = await lock_order_then_attempt(uow, cmd.order_id, cmd.attempt_id, ctx)
    if (answered := answer_if_finished(order, attempt, reconciling=cmd.reconciling)) is not None:
        return answered
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
        # The order moved on while the provider was deciding. A cancel waits for a pending
        # attempt (``handlers/cancel.py``), so this is not expected; should it happen, keep
        # the attempt's answer for the record, set the key free, change nothing else.
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
    """Close an attempt the provider never saw; its request's key is free for a retry.

    The reconciler asked the provider with no lock held, so the attempt is checked again
    here, under its lock: still pending, still bound to the request whose receipt the
    reconciler read (``ctx``), and that request not asking the provider right now (its lease
    ended). Otherwise a retry finished it, took it over or is about to: its answer stands.
    """
    _, attempt = await lock_order_then_attempt(uow, cmd.order_id, cmd.attempt_id, ctx)
    if attempt.status != "pending":
        raise AttemptMovedOn(attempt.id, f"already {attempt.status}")
    read = (ctx.client_id, ctx.idempotency_key) if cmd.release_receipt else (None, None)
    if (attempt.receipt_client_id, attempt.receipt_key) != read:
        raise AttemptMovedOn(attempt.id, "taken over by another request")
    if cmd.release_receipt and await uow.receipts.leased(
        client_id=ctx.client_id, key=ctx.idempotency_key
    ):
        raise AttemptMovedOn(attempt.id, "its request is asking the provider again")
    await uow.attempts.finish(
        cmd.attempt_id, status="abandoned", provider_ref=None, reason="unknown to provider"
    )
    if cmd.release_receipt:
        await uow.receipts.release(client_id=ctx.client_id, key=ctx.idempotency_key)
    return Continued(None)


async def lock_order_then_attempt(
    uow: UnitOfWork, order_id: UUID, attempt_id: UUID, ctx: CommandContext
) -> tuple[Order, PaymentAttempt]:
    """The attempt's order and the attempt, locked in that order (see the module's text)."""
    ctx.trail.order_id = order_id
    order = await uow.orders.get_for_update(order_id)
    assert order is not None, f"no order {order_id}"
    ctx.trail.version_before = order.version
    attempt = await uow.attempts.lock(attempt_id)
    assert attempt is not None and attempt.order_id == order_id, f"no attempt {attempt_id}"
    return order, attempt


def answer_if_finished(
    order: Order, attempt: PaymentAttempt, *, reconciling: bool
) -> Accepted | None:
    """What a step that records the provider's answer does when someone recorded it first.

    None while the attempt is still pending (the step records the answer). Otherwise a request
    answers with the order as it stands, and still stores its receipt and audit row (no second
    event); the reconciler, which has no client waiting, writes nothing (``AttemptMovedOn``).
    """
    if attempt.status == "pending":
        return None
    if reconciling:
        raise AttemptMovedOn(attempt.id, f"already {attempt.status}")
    return as_it_stands(order)


def as_it_stands(order: Order) -> Accepted:
    """An answer that changes nothing: the order's current snapshot, no event."""
    return Accepted(order.snapshot(), order.id, order.version, order.version)
