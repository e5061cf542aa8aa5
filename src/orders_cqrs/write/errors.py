"""Refusals of the command side that are not business rules of an order."""

from __future__ import annotations

from orders_cqrs.domain.errors import DomainError


class IdempotencyMismatch(DomainError):
    """The Idempotency-Key was already used with a different request."""

    problem_type = "idempotency-mismatch"


class RequestInFlight(DomainError):
    """A request with this Idempotency-Key is still being processed."""

    problem_type = "idempotency-in-flight"


class PaymentTimeout(DomainError):
    """The payment provider did not answer in time; retrying with the same key is safe."""

    problem_type = "payment-timeout"


class PaymentInFlight(DomainError):
    """An authorization of the order is under way: cancelling now could leave its hold behind,
    so the cancel waits for its answer (retry once it is settled)."""

    problem_type = "payment-in-flight"
