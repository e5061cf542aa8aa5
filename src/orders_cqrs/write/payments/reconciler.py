"""The reconciler: finishes payment attempts left pending by a crash or a timeout."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from orders_cqrs.db.payment_attempts import VOID, PaymentAttempt
from orders_cqrs.domain.errors import DomainError
from orders_cqrs.observability import metrics
from orders_cqrs.write.context import CommandContext
from orders_cqrs.write.executor import Executor
from orders_cqrs.write.payments.calls import record_call
from orders_cqrs.write.payments.port import (
    AuthorizationRequest,
    PaymentGateway,
    ProviderTimeout,
    VoidRequest,
    VoidResult,
)
from orders_cqrs.write.payments.steps import (
    AbandonPaymentAttempt,
    AttemptMovedOn,
    RecordAuthorization,
    RecordVoid,
)

log = structlog.get_logger(__name__)

# How long the reconciler waits for a provider's void before leaving it for the next pass.
VOID_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What one pass did."""

    examined: int
    recorded: int
    abandoned: int
    failed: int
    moved_on: int = 0  # finished or taken over by a client's request while the pass asked
    voided: int = 0  # holds of cancelled orders released


async def reconcile(
    executor: Executor,
    gateways: dict[str, PaymentGateway],
    *,
    older_than: timedelta,
    limit: int = 500,
    void_timeout_seconds: float = VOID_TIMEOUT_SECONDS,
) -> ReconcileReport:
    """Ask each stale attempt's provider what it decided, and record that decision.

    The decision is recorded by the API's own last step (``RecordAuthorization``,
    ``RecordVoid``), under the request that started the attempt if it is still open: its
    receipt is completed, so a retry replays it. A void whose cancel was already answered
    (``void_pending``) is recorded under the reconciler's own key.

    The attempt is read without a lock (no transaction is held while the provider is asked)
    and a client may retry meanwhile; the steps that write lock the order and then the
    attempt, like every step of an authorization, and check it again under those locks.
    """
    cutoff = datetime.now(UTC) - older_than
    async with executor.uow_factory() as uow:
        stale = await uow.attempts.stale(cutoff, limit)
    recorded = abandoned = failed = moved_on = voided = 0
    for attempt_id in stale:
        async with executor.uow_factory() as uow:
            attempt = await uow.attempts.get(attempt_id)
            if attempt is None or attempt.status != "pending":
                continue
            token = await uow.attempts.token_for(attempt.order_id)
            ref = await uow.attempts.authorization_ref_for(attempt.order_id)
        ctx = CommandContext(
            command="cancel_order" if attempt.kind == VOID else "authorize_payment",
            actor="system:reconciler",
            client_id=attempt.receipt_client_id or "system:reconciler",
            idempotency_key=attempt.receipt_key or f"reconcile:{attempt.id}",
            fingerprint="",
        )
        try:
            if attempt.kind == VOID:
                void = VoidRequest(
                    attempt.id, attempt.order_id, ref, attempt.amount, attempt.currency, token
                )
                if await _finish_void(executor, gateways, attempt, void, ctx, void_timeout_seconds):
                    voided += 1
                    metrics.RECONCILED.labels("voided").inc()
                else:
                    failed += 1
                    metrics.RECONCILED.labels("void_timeout").inc()
                continue
            request = AuthorizationRequest(
                attempt.id, attempt.order_id, attempt.amount, attempt.currency, token
            )
            started = time.perf_counter()
            result = await gateways[attempt.provider].retrieve(request)
            decided = "unknown" if result is None else "approved" if result.approved else "declined"
            record_call(attempt.provider, "retrieve", decided, started, counted=False)
            if result is None:
                has_receipt = bool(attempt.receipt_client_id and attempt.receipt_key)
                abandon = AbandonPaymentAttempt(attempt.order_id, attempt.id, has_receipt)
                await executor.execute(abandon, ctx)
                abandoned += 1
                metrics.RECONCILED.labels("abandoned").inc()
                continue
            record = RecordAuthorization(attempt.order_id, attempt.id, result, reconciling=True)
            await executor.execute(record, ctx)
        except AttemptMovedOn as moved:
            log.info("reconcile_left_to_request", attempt_id=str(attempt.id), reason=str(moved))
            moved_on += 1
            metrics.RECONCILED.labels("moved_on").inc()
            continue
        except DomainError as refusal:
            log.warning("reconcile_refused", attempt_id=str(attempt.id), reason=refusal.detail)
            failed += 1
            metrics.RECONCILED.labels("refused").inc()
            continue
        recorded += 1
        metrics.RECONCILED.labels("approved" if result.approved else "declined").inc()
    return ReconcileReport(len(stale), recorded, abandoned, failed, moved_on, voided)


async def _finish_void(
    executor: Executor,
    gateways: dict[str, PaymentGateway],
    attempt: PaymentAttempt,
    request: VoidRequest,
    ctx: CommandContext,
    timeout_seconds: float,
) -> bool:
    """Ask the provider about the void; if it never saw it, void again with the same key (a
    provider answers a repeated key with its first answer, so a hold is never voided twice).
    False when it still does not answer: the attempt stays pending for the next pass."""
    gateway = gateways[attempt.provider]
    started = time.perf_counter()
    result: VoidResult | None = await gateway.retrieve_void(request)
    known = "unknown" if result is None else "voided"
    record_call(gateway.name, "retrieve", known, started, counted=False)
    if result is None:
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(gateway.void(request), timeout_seconds)
        except (TimeoutError, ProviderTimeout):
            record_call(gateway.name, "void", "void_timeout", started, counted=False)
            log.warning("reconcile_void_unanswered", attempt_id=str(attempt.id))
            return False
        record_call(gateway.name, "void", "voided", started, counted=False)
    await executor.execute(RecordVoid(attempt.order_id, attempt.id, result, reconciling=True), ctx)
    return True
