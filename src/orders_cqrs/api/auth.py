"""API-key auth: ``Authorization: Bearer <key>``, compared by SHA-256 digest in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orders_cqrs.config import ApiClient, Role, hash_api_key
from orders_cqrs.observability.request_context import note_client

bearer = HTTPBearer(auto_error=False, description="An API key of role checkout, support or ops.")


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: an API key's client, or a person signed in to a console
    (``client_id`` ``staff:<id>``, with their ``name`` and ``email`` for the audit trail)."""

    role: Role
    client_id: str
    name: str | None = None
    email: str | None = None


def authenticate(clients: tuple[ApiClient, ...], key: str) -> ApiClient | None:
    """The client whose digest matches; every digest is compared, so timing leaks nothing."""
    digest = hash_api_key(key)
    found: ApiClient | None = None
    for client in clients:
        if hmac.compare_digest(client.key_sha256, digest):
            found = client
    return found


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only the given roles: 401 without a valid key, 403 otherwise."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(401, "send Authorization: Bearer <api key>", headers=challenge)
        client = authenticate(request.app.state.container.api_clients, credentials.credentials)
        if client is None:
            raise HTTPException(401, "unknown API key", headers=challenge)
        note_client(client.client_id)  # the request log names the caller, never the key
        if client.role not in roles:
            raise HTTPException(
                403, f"role {client.role} may not do this; needs {', '.join(roles)}"
            )
        return Principal(role=client.role, client_id=client.client_id)

    return dependency


Checkout = Annotated[Principal, Depends(require("checkout"))]
CheckoutOrSupport = Annotated[Principal, Depends(require("checkout", "support"))]
Support = Annotated[Principal, Depends(require("support"))]
SupportOrOps = Annotated[Principal, Depends(require("ops", "support"))]
Ops = Annotated[Principal, Depends(require("ops"))]
