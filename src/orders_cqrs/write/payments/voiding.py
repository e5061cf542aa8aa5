"""CancelOrder: cancelling an authorized order releases its hold, as executor steps around the
provider's void, like an authorization.

1. ``RecordCancellation``: claim the key, cancel the order (stock released, payment
   ``void_pending``, ``OrderCancelled``) and record the pending void attempt; commit. The
   provider's idempotency key is the void attempt's id. An order with no hold ends here.
2. Ask the provider to void, with no transaction open, bounded by a timeout.
3. ``RecordVoid``: the payment is voided (``PaymentVoided``), the request answered; commit.
   No answer in time: ``RecordVoidTimeout`` answers the cancel with ``void_pending`` and
   leaves the attempt to ``orders-cqrs reconcile``, which asks the provider again with the
   same key and records the void under its own key.
A crash between 1 and 3 leaves a pending void that the reconciler (or a retry of the same
request) finishes the same way.

This module is the only code that knows the order of the steps; the executor commits each.
"""

from __future__ import annotations

import time

from orders_cqrs.domain.commands import CancelOrder
from orders_cqrs.write.context import CommandContext, CommandOutcome
from orders_cqrs.write.executor import Executor
from orders_cqrs.write.payments.authorization import (
    PaymentSettings,
    ProviderCommand,
    within_timeout,
)
from orders_cqrs.write.payments.calls import record_call
from orders_cqrs.write.payments.port import PaymentGateway
from orders_cqrs.write.payments.steps import RecordCancellation, RecordVoid, RecordVoidTimeout


async def cancel_order(
    cmd: CancelOrder,
    ctx: CommandContext,
    *,
    executor: Executor,
    gateways: dict[str, PaymentGateway],
    settings: PaymentSettings,
) -> CommandOutcome:
    """Cancel the order; if it holds an authorization, void it with its provider."""
    call = await executor.execute(RecordCancellation(cmd.order_id, cmd.reason), ctx)
    if isinstance(call, CommandOutcome):
        return call  # no hold to release, or the key's stored answer
    gateway = gateways[call.provider]
    request = call.request
    started = time.perf_counter()
    result = await within_timeout(gateway.void(request), settings)
    if result is None:
        record_call(gateway.name, "void", "void_timeout", started)
        timeout = RecordVoidTimeout(request.order_id, request.idempotency_key)
        return await executor.execute(timeout, ctx)
    record_call(gateway.name, "void", "voided", started)
    return await executor.execute(
        RecordVoid(request.order_id, request.idempotency_key, result), ctx
    )


class OrderCanceller(ProviderCommand):
    """``cancel_order`` bound to the process's executor, providers and timeout."""

    async def cancel(self, cmd: CancelOrder, ctx: CommandContext) -> CommandOutcome:
        """Cancel the order and void its hold (see ``cancel_order``)."""
        return await cancel_order(
            cmd, ctx, executor=self.executor, gateways=self.gateways, settings=self.settings
        )
