"""The commands an authorization runs through the executor, one transaction each.

They are not the client's commands: the client sends ``AuthorizePayment``, and
``authorization.py`` turns it into these steps around the provider call. All of them run
under the client's request (its Idempotency-Key and command name, ``authorize_payment``).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from orders_cqrs.domain.commands import Command
from orders_cqrs.write.executor import FollowUp, Step
from orders_cqrs.write.payments.port import AuthorizationRequest, AuthorizationResult


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
    """Apply the provider's decision on the attempt to its order."""

    attempt_id: UUID
    result: AuthorizationResult


@dataclass(frozen=True, slots=True)
class RecordPaymentTimeout(Command, FollowUp):
    """The provider did not answer in time: refuse the request, leave the attempt pending."""


@dataclass(frozen=True, slots=True)
class AbandonPaymentAttempt(Step[None], FollowUp):
    """The provider never saw the attempt: close it, and free its receipt if it has one."""

    attempt_id: UUID
    release_receipt: bool
