"""The commands an authorization or a void runs through the executor, one transaction each.

They are not the client's commands: the client sends ``AuthorizePayment`` (or
``CancelOrder``), and ``authorization.py`` (or ``voiding.py``) turns it into these steps
around the provider call. All of them run under the client's request (its Idempotency-Key
and command name, ``authorize_payment`` or ``cancel_order``).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from orders_cqrs.domain.commands import Command
from orders_cqrs.write.executor import FollowUp, Step
from orders_cqrs.write.payments.port import (
    AuthorizationRequest,
    AuthorizationResult,
    VoidRequest,
    VoidResult,
)


@dataclass(frozen=True, slots=True)
class PaymentCall:
    """What the provider is asked, and which provider."""

    provider: str
    request: AuthorizationRequest


@dataclass(frozen=True, slots=True)
class RecordPaymentAttempt(Step[PaymentCall]):
    """Claim the key and record (or take over) the order's pending attempt."""

    order_id: UUID


@dataclass(frozen=True, slots=True)
class RecordAuthorization(Command, FollowUp):
    """Apply the provider's decision on the attempt to its order.

    ``reconciling``: the reconciler records it, for a request that has already ended. If
    the attempt is no longer pending by then, someone recorded it first and answered their
    request; the reconciler has nobody to answer, so it writes nothing (``AttemptMovedOn``).
    """

    order_id: UUID
    attempt_id: UUID
    result: AuthorizationResult
    reconciling: bool = False


@dataclass(frozen=True, slots=True)
class RecordPaymentTimeout(Command, FollowUp):
    """The provider did not answer in time: refuse the request, leave the attempt pending."""


@dataclass(frozen=True, slots=True)
class AbandonPaymentAttempt(Step[None], FollowUp):
    """The provider never saw the attempt: close it, and free its receipt if it has one.

    Only the reconciler sends it, under the receipt it read from the attempt; if the attempt
    has moved on since (finished, taken over by a retry, or being asked about by one right
    now), nothing is written (``AttemptMovedOn``).
    """

    order_id: UUID
    attempt_id: UUID
    release_receipt: bool


@dataclass(frozen=True, slots=True)
class VoidCall:
    """The void the provider is asked for, and which provider."""

    provider: str
    request: VoidRequest


@dataclass(frozen=True, slots=True)
class RecordCancellation(Step[VoidCall]):
    """Cancel the order (stock released); if it holds an authorization, record the pending
    void and continue to the provider. Without a hold the request ends here."""

    order_id: UUID
    reason: str


@dataclass(frozen=True, slots=True)
class RecordVoid(Command, FollowUp):
    """The provider released the hold: the payment is voided, the request answered.

    ``reconciling``: as for ``RecordAuthorization``.
    """

    order_id: UUID
    attempt_id: UUID
    result: VoidResult
    reconciling: bool = False


@dataclass(frozen=True, slots=True)
class RecordVoidTimeout(Command, FollowUp):
    """The provider did not confirm the void in time: the cancel stands and is answered
    (``void_pending``); the void attempt stays pending for the reconciler."""

    order_id: UUID
    attempt_id: UUID


class AttemptMovedOn(Exception):
    """Between the reconciler's read of an attempt and its write, a client's request finished
    the attempt or took it over: what that request did stands, and the reconciler's step
    rolls back with nothing written. Not a ``DomainError``: nobody's request was refused,
    so there is nothing to audit."""

    def __init__(self, attempt_id: UUID, why: str) -> None:
        super().__init__(f"payment attempt {attempt_id}: {why}")
        self.attempt_id = attempt_id
