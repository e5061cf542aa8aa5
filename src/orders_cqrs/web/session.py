"""The consoles' sign-in sessions: a random id in a signed cookie, the session in PostgreSQL.

One scheme for both consoles, one cookie each (the support console's and the ops page's
differ in name, path and signature domain, so a support cookie never passes for an ops one).
The cookie is ``<random id>.<HMAC>``: the HMAC is keyed with a server secret
(``ORDERS_SESSION_SECRETS``, the first signs, every one verifies, so secrets rotate without
signing everybody out), never with anything derived from a password or a key. The session
itself is a row (``db/console_sessions.py``) of a staff account that ends at issue time +
``ORDERS_SESSION_LIFETIME_SECONDS``, at sign-out, when the account is disabled or its password
set anew: an id that is signed but has no live row of an enabled account opens nothing.

People sign in as staff accounts, never with an API key (keys are for machines): a session
of any other principal kind, such as one opened with a key before staff accounts existed,
is revoked on its next use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import UTC
from typing import Literal, cast

from starlette.requests import Request
from starlette.responses import Response

from orders_cqrs.api.auth import Principal
from orders_cqrs.config import ProxyNetwork, Role
from orders_cqrs.db.console_sessions import STAFF, ConsoleSessionStore, SessionPrincipal
from orders_cqrs.db.staff_accounts import StaffAccount
from orders_cqrs.observability.request_context import note_client

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


def _peer(request: Request) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if request.client is None:
        return None
    try:
        return ipaddress.ip_address(request.client.host)
    except ValueError:
        return None


def is_https(request: Request, proxies: tuple[ProxyNetwork, ...]) -> bool:
    """Did the browser come over TLS? Directly, or per ``X-Forwarded-Proto`` from a proxy we
    trust (anyone else can send that header)."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "")
    peer = _peer(request)
    if not forwarded or peer is None or not proxies:
        return False
    # The first value is what the outermost proxy saw from the browser.
    first = forwarded.split(",", 1)[0].strip().lower()
    return first == "https" and any(peer in network for network in proxies)


def client_address(request: Request, proxies: tuple[ProxyNetwork, ...]) -> str:
    """The browser's address, as sign-in throttling counts it: the peer, or behind proxies we
    trust, the nearest ``X-Forwarded-For`` hop that is not one of them (the hops further
    left are whatever the client chose to send)."""
    peer = _peer(request)
    if peer is None:
        return "unknown"
    if not any(peer in network for network in proxies):
        return str(peer)
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return str(peer)  # a garbled chain: count the proxy, the one hop we know
        if not any(address in network for network in proxies):
            return str(address)
    return str(peer)


def acting_principal(session: SessionPrincipal) -> Principal:
    """The principal a console request acts as: ``staff:<id>`` (receipts are scoped per
    person, audit rows and events name them) with the person's name and email."""
    return Principal(
        role=cast(Role, session.role),  # a console's role: support or ops
        client_id=f"{STAFF}:{session.id}",
        name=session.display_name,
        email=session.email,
    )


class ConsoleSessions:
    """Sign in, recognise, and sign out the people of both consoles."""

    def __init__(
        self,
        store: ConsoleSessionStore,
        signer: CookieSigner,
        *,
        lifetime_seconds: int,
        proxies: tuple[ProxyNetwork, ...],
    ) -> None:
        self._store = store
        self._signer = signer
        self._lifetime = lifetime_seconds
        self._proxies = proxies

    async def start(
        self, request: Request, response: Response, console: Console, account: StaffAccount
    ) -> None:
        """Open a session for ``account`` (its password checked, its role the console's) and
        set its cookie on ``response``."""
        principal = SessionPrincipal(
            STAFF, str(account.id), account.name, console.role, account.email
        )
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
        if principal.kind != STAFF:
            await self._store.revoke(raw_id)  # a key's session: people sign in as themselves
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
