"""Runs one command in one transaction: claim the key, decide, write outbox + audit + receipt.

Everything the command changes, its outbox event, its audit row and its idempotency receipt
commit together or not at all. A refusal rolls all of that back and is then audited in a
small transaction of its own, so the log shows it while the write model does not.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from orders_cqrs.db.audit import AuditEntry
from orders_cqrs.db.receipts import StoredReceipt
from orders_cqrs.domain.errors import DomainError
from orders_cqrs.domain.events import OrderEvent
from orders_cqrs.observability import metrics
from orders_cqrs.write.context import Accepted, CommandContext, CommandOutcome, Trail, render
from orders_cqrs.write.errors import IdempotencyMismatch, RequestInFlight
from orders_cqrs.write.unit_of_work import UnitOfWork, UnitOfWorkFactory

Handler = Callable[
    [UnitOfWork, CommandContext, Trail], Awaitable[tuple[Accepted, list[OrderEvent]]]
]


class KeyHeld(Exception):
    """The idempotency key belongs to a completed request: answer with its receipt."""

    def __init__(self, receipt: StoredReceipt) -> None:
        super().__init__("idempotency key held")
        self.receipt = receipt


class Executor:
    """Executes handlers with the idempotency, outbox and audit rules every command shares."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, *, receipt_ttl: timedelta, receipt_lease: timedelta
    ) -> None:
        self.uow_factory = uow_factory
        self.receipt_ttl = receipt_ttl
        self.receipt_lease = receipt_lease

    async def run(self, ctx: CommandContext, handler: Handler) -> CommandOutcome:
        """Execute ``handler`` exactly once per idempotency key."""
        started = time.perf_counter()
        trail = Trail()
        try:
            async with self.uow_factory() as uow:
                self.claim_with_first_reads(uow, ctx)
                try:
                    accepted, events = await handler(uow, ctx, trail)
                except DomainError:
                    await uow.settle()  # the key's owner answers before any refusal does
                    raise
                outcome = await self.finish(uow, ctx, accepted, events)
                await uow.commit()
        except KeyHeld as held:
            return self.replay(ctx, held.receipt)
        except DomainError as refusal:
            await self.audit_refusal(ctx, trail, refusal)
            metrics.COMMANDS.labels(ctx.command, "rejected").inc()
            raise
        metrics.COMMANDS.labels(ctx.command, "accepted").inc()
        metrics.COMMAND_SECONDS.labels(ctx.command).observe(time.perf_counter() - started)
        metrics.OUTBOX_ROWS.labels(ctx.command).inc(len(events))
        return outcome

    def claim_with_first_reads(self, uow: UnitOfWork, ctx: CommandContext) -> None:
        """Queue the claim so it travels with the handler's first reads, then check it.

        The claim is still the transaction's first statement, so concurrent duplicates queue
        on the receipt's unique index exactly as with a claim of its own. Its answer is
        checked before the handler sees anything that came back with it: if the key is
        held, ``KeyHeld`` (or a mismatch, or in-flight refusal) ends the unit of work and
        everything the handler's reads did is rolled back.
        """
        claimed = uow.receipts.claim_with_next(
            client_id=ctx.client_id,
            key=ctx.idempotency_key,
            fingerprint=ctx.fingerprint,
            command=ctx.command,
            ttl=self.receipt_ttl,
            lease=self.receipt_lease,
        )

        async def check() -> None:
            if claimed.value:
                return
            stored = await uow.receipts.held(client_id=ctx.client_id, key=ctx.idempotency_key)
            self.raise_unless_replayable(ctx, stored)
            raise KeyHeld(stored)

        uow.verify_with_next_answer(check)

    async def claim(self, uow: UnitOfWork, ctx: CommandContext) -> StoredReceipt | None:
        """Claim the key now; a stored receipt means this request was handled (replay it)."""
        self.claim_with_first_reads(uow, ctx)
        try:
            await uow.settle()
        except KeyHeld as held:
            return held.receipt
        return None

    @staticmethod
    def raise_unless_replayable(ctx: CommandContext, stored: StoredReceipt) -> None:
        """A held key replays only for the same request, and only once it completed."""
        if stored.fingerprint != ctx.fingerprint:
            raise IdempotencyMismatch(
                "this Idempotency-Key was already used with a different request"
            )
        if stored.state != "completed":
            raise RequestInFlight("a request with this Idempotency-Key is still in progress")

    def replay(self, ctx: CommandContext, stored: StoredReceipt) -> CommandOutcome:
        """The stored response, byte for byte."""
        assert stored.response_status is not None and stored.response_body is not None
        metrics.IDEMPOTENT_REPLAYS.labels(ctx.command).inc()
        headers = dict(stored.response_headers or {})
        headers["Idempotent-Replayed"] = "true"
        return CommandOutcome(stored.response_status, stored.response_body, headers, True)

    async def finish(
        self,
        uow: UnitOfWork,
        ctx: CommandContext,
        accepted: Accepted,
        events: list[OrderEvent],
    ) -> CommandOutcome:
        """Write the outbox rows, the audit row and the receipt; the caller commits."""
        body = render(accepted.body)
        await uow.records.write(
            events=events,
            event_headers=ctx.event_headers(),
            audit=AuditEntry(
                actor=ctx.actor,
                command=ctx.command,
                command_id=ctx.command_id,
                idempotency_key=ctx.idempotency_key,
                order_id=accepted.order_id,
                version_before=accepted.version_before,
                version_after=accepted.version_after,
                outcome="accepted",
            ),
            client_id=ctx.client_id,
            key=ctx.idempotency_key,
            status=accepted.status_code,
            body=body,
            response_headers=accepted.headers,
        )
        return CommandOutcome(accepted.status_code, body, accepted.headers)

    async def audit_refusal(self, ctx: CommandContext, trail: Trail, refusal: DomainError) -> None:
        """Record a refused command in its own transaction."""
        async with self.uow_factory() as uow:
            await uow.audit.append(
                AuditEntry(
                    actor=ctx.actor,
                    command=ctx.command,
                    command_id=ctx.command_id,
                    idempotency_key=ctx.idempotency_key,
                    order_id=trail.order_id,
                    version_before=trail.version_before,
                    version_after=None,
                    outcome="rejected",
                    reason=refusal.detail[:1000],
                    problem_type=refusal.problem_type,
                )
            )
            await uow.commit()
