"""Sandbox providers, like a payment company's test mode: the token decides the outcome.

``tok_approve…`` approves, ``tok_decline…`` declines, ``tok_slow…`` approves after a delay,
``tok_timeout…`` never answers in time (but the provider did authorize: retrieve says so),
anything else is declined as an invalid token. Results are a pure function of the token and
the idempotency key, so a repeated call never authorizes twice.

Voids follow the same tokens: ``tok_slow…`` voids after the delay, ``tok_timeout…`` never
answers in time (but the void happened: ``retrieve_void`` says so). A void always succeeds:
an authorization the sandbox would not have issued (a declined token, a foreign reference) is
answered with ``released=False``, since nothing was held; voiding twice gives the same answer.
"""

from __future__ import annotations

import asyncio
from uuid import NAMESPACE_URL, uuid5

from orders_cqrs.write.payments.port import (
    AuthorizationRequest,
    AuthorizationResult,
    PaymentGateway,
    VoidRequest,
    VoidResult,
)


class SandboxGateway(PaymentGateway):
    """A deterministic provider for development, tests and demos."""

    def __init__(self, name: str, *, slow_seconds: float, hang_seconds: float = 3600.0) -> None:
        self.name = name
        self._slow_seconds = slow_seconds
        self._hang_seconds = hang_seconds

    def _decide(self, request: AuthorizationRequest) -> AuthorizationResult:
        token = request.token
        if token.startswith(("tok_approve", "tok_slow", "tok_timeout")):
            ref = uuid5(NAMESPACE_URL, f"{self.name}/{request.idempotency_key}")
            return AuthorizationResult(approved=True, provider_ref=f"auth_{ref.hex[:24]}")
        if token.startswith("tok_decline"):
            return AuthorizationResult(approved=False, decline_reason="card_declined")
        return AuthorizationResult(approved=False, decline_reason="invalid_token")

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        """Decide by token; slow tokens wait, timeout tokens hang past any caller's budget."""
        if request.token.startswith("tok_timeout"):
            await asyncio.sleep(self._hang_seconds)
        elif request.token.startswith("tok_slow"):
            await asyncio.sleep(self._slow_seconds)
        return self._decide(request)

    async def retrieve(self, request: AuthorizationRequest) -> AuthorizationResult | None:
        """The decision the sandbox made (or would make) for this key."""
        return self._decide(request)

    def _void(self, request: VoidRequest) -> VoidResult:
        ref = uuid5(NAMESPACE_URL, f"{self.name}/void/{request.idempotency_key}")
        held = request.token.startswith(("tok_approve", "tok_slow", "tok_timeout"))
        issued = request.authorization_ref.startswith("auth_")
        return VoidResult(provider_ref=f"void_{ref.hex[:24]}", released=held and issued)

    async def void(self, request: VoidRequest) -> VoidResult:
        """Release the hold; slow tokens wait, timeout tokens hang past any caller's budget."""
        if request.token.startswith("tok_timeout"):
            await asyncio.sleep(self._hang_seconds)
        elif request.token.startswith("tok_slow"):
            await asyncio.sleep(self._slow_seconds)
        return self._void(request)

    async def retrieve_void(self, request: VoidRequest) -> VoidResult | None:
        """The void the sandbox made (or would make) for this key."""
        return self._void(request)


def sandbox_gateways(*, slow_seconds: float) -> dict[str, PaymentGateway]:
    """The providers that ship with the service."""
    return {
        name: SandboxGateway(name, slow_seconds=slow_seconds)
        for name in ("sandbox-card", "sandbox-wallet")
    }
