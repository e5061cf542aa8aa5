"""AuthorizePayment: the one command that calls out, so it runs as executor steps around the call.

1. ``RecordPaymentAttempt``: claim the key, record (or take over) the order's attempt; commit.
   The provider's idempotency key is the attempt id.
2. Call the provider with no transaction open, bounded by a timeout.
3. ``RecordAuthorization``: apply the decision with its event, audit row and receipt; commit.
   No answer in time: ``RecordPaymentTimeout`` refuses the request instead.
A crash between 2 and 3 leaves a pending attempt that ``orders-cqrs reconcile`` (or a retry
of the same request) finishes by asking the provider again with the same key.

This module is the only code that knows the order of the steps; the executor commits each.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from orders_cqrs.domain.commands import AuthorizePayment
from orders_cqrs.write.context import CommandContext, CommandOutcome
from orders_cqrs.write.executor import Executor
from orders_cqrs.write.payments.calls import record_call
from orders_cqrs.write.payments.port import PaymentGateway, ProviderTimeout
from orders_cqrs.write.payments.steps import (
    RecordAuthorization,
    RecordPaymentAttempt,
    RecordPaymentTimeout,
)


@dataclass(frozen=True, slots=True)
class PaymentSettings:
    """How long a provider may take."""

    timeout_seconds: float


Answer = TypeVar("Answer")


async def within_timeout(call: Awaitable[Answer], settings: PaymentSettings) -> Answer | None:
    """The provider's answer, or None if it gave none in time.

    A provider that hangs and one that reports its own timeout are the same to a request: it
    does not know whether the provider acted, so the step that follows records "no answer" and
    leaves the attempt pending for a retry or the reconciler to ask again with the same key.
    """
    try:
        return await asyncio.wait_for(call, settings.timeout_seconds)
    except (TimeoutError, ProviderTimeout):
        return None


class ProviderCommand:
    """A command handler bound to the process's executor, providers and timeout.

    The API holds one per provider-calling command, built once in ``bootstrap/``, so the
    routes need not know what a payment step needs.
    """

    def __init__(
        self, executor: Executor, gateways: dict[str, PaymentGateway], settings: PaymentSettings
    ) -> None:
        self.executor = executor
        self.gateways = gateways
        self.settings = settings


async def authorize_payment(
    cmd: AuthorizePayment,
    ctx: CommandContext,
    *,
    executor: Executor,
    gateways: dict[str, PaymentGateway],
    settings: PaymentSettings,
) -> CommandOutcome:
    """Authorize the order's total with its provider, exactly once per order."""
    call = await executor.execute(RecordPaymentAttempt(cmd.order_id), ctx)
    if isinstance(call, CommandOutcome):
        return call  # the key's stored answer
    gateway = gateways[call.provider]
    started = time.perf_counter()
    result = await within_timeout(gateway.authorize(call.request), settings)
    if result is None:
        record_call(gateway.name, "authorize", "timeout", started)
        return await executor.execute(RecordPaymentTimeout(), ctx)  # refused: PaymentTimeout
    record_call(gateway.name, "authorize", "approved" if result.approved else "declined", started)
    request = call.request
    return await executor.execute(
        RecordAuthorization(request.order_id, request.idempotency_key, result), ctx
    )


class PaymentAuthorizer(ProviderCommand):
    """``authorize_payment`` bound to the process's executor, providers and timeout."""

    async def authorize(self, cmd: AuthorizePayment, ctx: CommandContext) -> CommandOutcome:
        """Authorize the order's total with its provider (see ``authorize_payment``)."""
        return await authorize_payment(
            cmd, ctx, executor=self.executor, gateways=self.gateways, settings=self.settings
        )
