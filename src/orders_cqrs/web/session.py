"""The consoles' sign-in sessions: a random id in a signed cookie, the session in PostgreSQL.

One scheme for both consoles, one cookie each (the support console's and the ops page's
differ in name, path and signature domain, so a support cookie never passes for an ops one).
The cookie is ``<random id>.<HMAC>``: the HMAC is keyed with a server secret
(``ORDERS_SESSION_SECRETS``, the first signs, every one verifies, so secrets rotate without
signing everybody out), never with anything derived from an API key. The session itself is a
row (``db/console_sessions.py``) that ends at issue time + ``ORDERS_SESSION_LIFETIME_SECONDS``,
at sign-out, or when its key is no longer configured: an id that is signed but has no live row
opens nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import UTC
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from orders_cqrs.config import ApiClient, ProxyNetwork, Role
from orders_cqrs.db.console_sessions import ConsoleSessionStore, SessionPrincipal
from orders_cqrs.observability.request_context import note_client

API_KEY = "api_key"  # the principal kind of a key's session (a staff account will be another)
SAMESITE: Literal["strict"] = "strict"  # not even sent on a link from another site


@dataclass(frozen=True, slots=True)
class Console:
    """One console's cookie: its name, its path, and the role it admits."""

    role: Role
    cookie: str
    path: str


SUPPORT = Console(role="support", cookie="orders_support", path="/support")
OPS = Console(role="ops", cookie="orders_ops", path="/ops")


class CookieSigner:
    """HMAC-SHA256 of a session id under the server's secrets; the first one signs."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        if not secrets:
            raise ValueError("ORDERS_SESSION_SECRETS names no secret")
        self._keys = tuple(secret.encode() for secret in secrets)

    @staticmethod
    def _mac(key: bytes, console: Console, raw_id: str) -> str:
        message = f"orders-cqrs {console.role} session\n{raw_id}".encode()
        digest = hmac.new(key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, console: Console, raw_id: str) -> str:
        """The cookie value for ``raw_id``."""
        return f"{raw_id}.{self._mac(self._keys[0], console, raw_id)}"

    def unsign(self, console: Console, value: str | None) -> str | None:
        """The session id of a cookie signed with any of the secrets, else None."""
        raw_id, dot, mac = (value or "").rpartition(".")
        if not dot or not raw_id or len(value or "") > 200:
            return None
        valid = False
        for key in self._keys:  # every secret is tried, so timing says nothing about which
            valid |= hmac.compare_digest(self._mac(key, console, raw_id), mac)
        return raw_id if valid else None


def is_https(request: Request, proxies: tuple[ProxyNetwork, ...]) -> bool:
    """Did the browser come over TLS? Directly, or per ``X-Forwarded-Proto`` from a proxy we
    trust (anyone else can send that header)."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "")
    if not forwarded or request.client is None or not proxies:
        return False
    try:
        peer = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    # The first value is what the outermost proxy saw from the browser.
    first = forwarded.split(",", 1)[0].strip().lower()
    return first == "https" and any(peer in network for network in proxies)


class ConsoleSessions:
    """Sign in, recognise, and sign out the people of both consoles."""

    def __init__(
        self,
        store: ConsoleSessionStore,
        signer: CookieSigner,
        *,
        lifetime_seconds: int,
        proxies: tuple[ProxyNetwork, ...],
        api_clients: tuple[ApiClient, ...],
    ) -> None:
        self._store = store
        self._signer = signer
        self._lifetime = lifetime_seconds
        self._proxies = proxies
        # Only keys configured now may hold a session: a key removed from ORDERS_API_KEYS
        # takes its sessions with it on their next use.
        self._keys = {(c.role, c.client_id) for c in api_clients}

    async def start(
        self, request: Request, response: Response, console: Console, client: ApiClient
    ) -> None:
        """Open a session for ``client`` (already checked to be of the console's role) and set
        its cookie on ``response``."""
        principal = SessionPrincipal(API_KEY, client.client_id, client.client_id, client.role)
        opened = await self._store.open(principal, self._lifetime)
        response.set_cookie(
            console.cookie,
            self._signer.sign(console, opened.raw_id),
            max_age=self._lifetime,  # the browser's hint; the row's expires_at is the rule
            expires=opened.expires_at.astimezone(UTC),
            path=console.path,
            secure=is_https(request, self._proxies),
            httponly=True,
            samesite=SAMESITE,
        )

    async def signed_in(self, request: Request, console: Console) -> SessionPrincipal | None:
        """The principal of the request's live session of this console, if any."""
        raw_id = self._signer.unsign(console, request.cookies.get(console.cookie))
        if raw_id is None:
            return None
        principal = await self._store.find(raw_id)
        if principal is None or principal.role != console.role:
            return None
        if principal.kind != API_KEY:
            return None  # no other kind exists yet
        if (principal.role, principal.id) not in self._keys:
            await self._store.revoke(raw_id)  # its key is gone: so is the session, for good
            return None
        note_client(principal.id)  # the request log names who is signed in
        return principal

    async def end(self, request: Request, response: Response, console: Console) -> None:
        """Revoke the request's session, if it has one, and make the browser forget it."""
        raw_id = self._signer.unsign(console, request.cookies.get(console.cookie))
        if raw_id is not None:
            await self._store.revoke(raw_id)
        response.delete_cookie(
            console.cookie,
            path=console.path,
            secure=is_https(request, self._proxies),
            httponly=True,
            samesite=SAMESITE,
        )
