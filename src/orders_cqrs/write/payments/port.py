"""The payment gateway port. Providers are third parties; the service only sees this."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """One authorization; ``idempotency_key`` makes a repeated call return the same result."""

    idempotency_key: UUID
    order_id: UUID
    amount: int
    currency: str
    token: str


@dataclass(frozen=True, slots=True)
class AuthorizationResult:
    """The provider's decision."""

    approved: bool
    provider_ref: str | None = None
    decline_reason: str | None = None


@dataclass(frozen=True, slots=True)
class VoidRequest:
    """Release one authorization's hold; ``idempotency_key`` (the void attempt's id) makes a
    repeated call return the same result."""

    idempotency_key: UUID
    order_id: UUID
    authorization_ref: str
    amount: int
    currency: str
    token: str


@dataclass(frozen=True, slots=True)
class VoidResult:
    """The provider's confirmation. ``released`` is False when it held nothing under that
    authorization (never made, expired, or voided before): the outcome is the same, no hold."""

    provider_ref: str
    released: bool = True


class ProviderTimeout(Exception):
    """The provider did not answer in time; the outcome is unknown until retrieved."""


class PaymentGateway(ABC):
    """A payment provider."""

    name: str

    @abstractmethod
    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        """Authorize the amount; the same idempotency key always yields the same result."""

    @abstractmethod
    async def retrieve(self, request: AuthorizationRequest) -> AuthorizationResult | None:
        """What the provider decided for this idempotency key; None if it never saw it."""

    @abstractmethod
    async def void(self, request: VoidRequest) -> VoidResult:
        """Release the hold; the same key always yields the same result, and voiding an
        authorization twice, or one the provider does not know, succeeds (nothing is held)."""

    @abstractmethod
    async def retrieve_void(self, request: VoidRequest) -> VoidResult | None:
        """The void the provider made for this idempotency key; None if it never saw it."""
