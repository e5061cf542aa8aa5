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
