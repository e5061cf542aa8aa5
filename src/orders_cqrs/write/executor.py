"""Runs every command: claim the key, decide, write outbox + audit + receipt, commit.

Everything a command changes, its outbox event, its audit row and its idempotency receipt
commit together or not at all. A refusal rolls all of that back and is then audited in a
small transaction of its own, so the log shows it while the write model does not.

This is the only code that commits a command's work, audits refusals and counts commands.
A handler is ``(command, uow, ctx)`` with its dependencies bound by ``bootstrap/handlers.py``; it
answers (``write/context.py``) ``Accepted`` to complete the request, raises a
``DomainError`` to refuse it, returns ``Refused`` to refuse it but keep what it wrote, or,
for a ``Step``, returns ``Continued`` to commit and leave the request open for a
``FollowUp`` after a call that must not hold a transaction (``write/payments/``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Generic, TypeVar, overload
from uuid import UUID

from orders_cqrs.db.audit import AuditEntry
from orders_cqrs.db.receipts import StoredReceipt
from orders_cqrs.domain.commands import Command
from orders_cqrs.domain.errors import DomainError
from orders_cqrs.domain.events import OrderEvent
from orders_cqrs.observability import metrics
from orders_cqrs.write.context import (
    Accepted,
    Answer,
    CommandContext,
    CommandOutcome,
    Continued,
    Refused,
    render,
)
from orders_cqrs.write.errors import IdempotencyMismatch, RequestInFlight
from orders_cqrs.write.unit_of_work import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")


class Step(Generic[T]):
    """A command whose handler answers ``Continued[T]``: the part of a request that comes
    before a call outside any transaction. ``execute`` returns the ``T`` (or, when the key
    already has its answer, the stored outcome)."""

    __slots__ = ()


class FollowUp:
    """A command that continues a request an earlier step claimed: its key is held (in
    progress), so the executor does not claim it again. It locks the key's receipt first
    instead, so that its locks come in the order a claiming command takes them: the
    receipt, then what the handler locks (``write/handlers/authorize.py`` says why)."""

    __slots__ = ()


Handler = Callable[[Any, UnitOfWork, CommandContext], Awaitable[Answer]]
Handlers = Mapping[type[Command | Step[Any]], Handler]
ResponseShape = Callable[[Command | Step[Any], Accepted], tuple[int, dict[str, str]]]
"""The status code and headers of an accepted command's response: decided by the API, stored
in the receipt with the body, so that replays (and a receipt the reconciler completes) match."""


class KeyHeld(Exception):
    """The idempotency key belongs to a completed request: answer with its receipt."""

    def __init__(self, receipt: StoredReceipt) -> None:
        super().__init__("idempotency key held")
        self.receipt = receipt


class Executor:
    """Executes commands with the idempotency, outbox and audit rules every command shares.

    ``uow_factory`` stays public for reads that are not commands (a product's stock, the
    reconciler's scan); they commit nothing of a command's.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        handlers: Handlers,
        shape: ResponseShape,
        *,
        receipt_ttl: timedelta,
        receipt_lease: timedelta,
    ) -> None:
        self.uow_factory = uow_factory
        self._handlers = handlers
        self._shape = shape
        self._receipt_ttl = receipt_ttl
        self._receipt_lease = receipt_lease

    @overload
    async def execute(self, command: Step[T], ctx: CommandContext) -> T | CommandOutcome: ...

    @overload
    async def execute(self, command: Command, ctx: CommandContext) -> CommandOutcome: ...

    async def execute(self, command: Command | Step[Any], ctx: CommandContext) -> Any:
        """Run ``command``'s handler in one unit of work, exactly once per idempotency key.

        A refusal is raised after it is audited; a key that already has its answer gets the
        stored outcome instead of a second run.
        """
        handler = self._handlers[type(command)]
        claims = not isinstance(command, FollowUp)
        started = time.perf_counter()
        try:
            async with self.uow_factory() as uow:
                if claims:
                    self._claim_with_first_reads(uow, ctx)
                else:
                    uow.receipts.lock_first(client_id=ctx.client_id, key=ctx.idempotency_key)
                try:
                    answer = await handler(command, uow, ctx)
                except DomainError:
                    await uow.settle()  # the key's owner answers before any refusal does
                    raise
                outcome = None
                if isinstance(answer, Accepted):
                    outcome = await self._finish(uow, command, ctx, answer)
                elif isinstance(answer, Continued) and answer.events:
                    await self._append(uow, ctx, answer.events)
                await uow.commit()
        except KeyHeld as held:
            return self._replay(ctx, held.receipt)
        except DomainError as refusal:
            await self._refuse(ctx, refusal)
            self._time(ctx, "rejected", started, claims)
            raise
        if isinstance(answer, Refused):
            await self._refuse(ctx, answer.error)
            self._time(ctx, "rejected", started, claims)
            raise answer.error
        if isinstance(answer, Continued):
            metrics.OUTBOX_ROWS.labels(ctx.command).inc(len(answer.events))
            return answer.value
        assert outcome is not None
        metrics.COMMANDS.labels(ctx.command, "accepted").inc()
        self._time(ctx, "accepted", started, claims)
        metrics.OUTBOX_ROWS.labels(ctx.command).inc(len(answer.events))
        return outcome

    @staticmethod
    def _time(ctx: CommandContext, outcome: str, started: float, claims: bool) -> None:
        """Time a command, accepted or rejected alike (a slow refusal is as slow to the caller).

        A follow-up is not timed: it ran only the end of its request, after the provider call.
        """
        if claims:
            elapsed = time.perf_counter() - started
            metrics.COMMAND_SECONDS.labels(ctx.command, outcome).observe(elapsed)

    def _claim_with_first_reads(self, uow: UnitOfWork, ctx: CommandContext) -> None:
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
            ttl=self._receipt_ttl,
            lease=self._receipt_lease,
        )

        async def check() -> None:
            if claimed.value:
                return
            stored = await uow.receipts.held(client_id=ctx.client_id, key=ctx.idempotency_key)
            _raise_unless_replayable(ctx, stored)
            raise KeyHeld(stored)

        uow.verify_with_next_answer(check)

    def _replay(self, ctx: CommandContext, stored: StoredReceipt) -> CommandOutcome:
        """The stored response, byte for byte."""
        assert stored.response_status is not None and stored.response_body is not None
        metrics.IDEMPOTENT_REPLAYS.labels(ctx.command).inc()
        headers = dict(stored.response_headers or {})
        headers["Idempotent-Replayed"] = "true"
        return CommandOutcome(stored.response_status, stored.response_body, headers, True)

    async def _finish(
        self, uow: UnitOfWork, command: Command | Step[Any], ctx: CommandContext, answer: Accepted
    ) -> CommandOutcome:
        """Write the outbox rows, the audit row and the receipt; the caller commits."""
        status, headers = self._shape(command, answer)
        body = render(answer.body)
        await uow.records.write(
            events=answer.events,
            event_headers=ctx.event_headers(),
            audit=_audit_row(
                ctx, "accepted", answer.order_id, answer.version_before, answer.version_after
            ),
            client_id=ctx.client_id,
            key=ctx.idempotency_key,
            status=status,
            body=body,
            response_headers=headers,
        )
        return CommandOutcome(status, body, headers)

    async def _append(self, uow: UnitOfWork, ctx: CommandContext, events: list[OrderEvent]) -> None:
        """Write a continuing step's events and audit row; its receipt stays in progress."""
        await uow.records.append(
            events=events,
            event_headers=ctx.event_headers(),
            audit=_audit_row(
                ctx,
                "accepted",
                ctx.trail.order_id,
                ctx.trail.version_before,
                events[-1].aggregate_version,
            ),
            key=ctx.idempotency_key,
        )

    async def _refuse(self, ctx: CommandContext, refusal: DomainError) -> None:
        """Audit a refused command in its own transaction, and count it."""
        async with self.uow_factory() as uow:
            await uow.audit.append(
                _audit_row(
                    ctx,
                    "rejected",
                    ctx.trail.order_id,
                    ctx.trail.version_before,
                    None,
                    reason=refusal.detail[:1000],
                    problem_type=refusal.problem_type,
                )
            )
            await uow.commit()
        metrics.COMMANDS.labels(ctx.command, "rejected").inc()


def _raise_unless_replayable(ctx: CommandContext, stored: StoredReceipt) -> None:
    """A held key replays only for the same request, and only once it completed."""
    if stored.fingerprint != ctx.fingerprint:
        raise IdempotencyMismatch("this Idempotency-Key was already used with a different request")
    if stored.state != "completed":
        raise RequestInFlight("a request with this Idempotency-Key is still in progress")


def _audit_row(
    ctx: CommandContext,
    outcome: str,
    order_id: UUID | None,
    version_before: int | None,
    version_after: int | None,
    *,
    reason: str | None = None,
    problem_type: str | None = None,
) -> AuditEntry:
    """An audit row naming ``ctx``'s request: who sent which command under which key.

    Every row the executor writes (accepted, a continuing step's, refused) names the request
    the same way, so one Idempotency-Key can be followed through all of its steps.
    """
    return AuditEntry(
        actor=ctx.actor,
        command=ctx.command,
        command_id=ctx.command_id,
        idempotency_key=ctx.idempotency_key,
        order_id=order_id,
        version_before=version_before,
        version_after=version_after,
        outcome=outcome,
        reason=reason,
        problem_type=problem_type,
        actor_name=ctx.actor_name,
        actor_email=ctx.actor_email,
    )
