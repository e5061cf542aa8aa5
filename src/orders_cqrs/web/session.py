"""The consoles' sign-in cookies: ``<client id>|<expiry>|<HMAC>``, never the API key.

One scheme for both consoles, one cookie each: the support console's and the ops page's
differ in name, path and signature domain (the role is part of the signed message), so a
support cookie can never pass for an ops one. The HMAC is keyed with the client's stored key
digest, so a session dies with its key: remove the key from ``ORDERS_API_KEYS`` and every
cookie it signed stops verifying.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from orders_cqrs.config import ApiClient, Role


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """Issue, verify, set and clear the sign-in cookie of one role's console."""

    role: Role
    cookie: str
    path: str
    lifetime_seconds: int = 8 * 3600

    def _signature(self, client: ApiClient, payload: str) -> str:
        message = f"orders-cqrs {self.role} session\n{payload}".encode()
        return hmac.new(client.key_sha256.encode(), message, hashlib.sha256).hexdigest()

    def issue(self, client: ApiClient, now: float) -> str:
        """A cookie value for ``client`` that expires ``lifetime_seconds`` after ``now``."""
        payload = f"{client.client_id}|{int(now) + self.lifetime_seconds}"
        return f"{payload}|{self._signature(client, payload)}"

    def verify(
        self, clients: tuple[ApiClient, ...], value: str | None, now: float
    ) -> ApiClient | None:
        """The client of this role that signed ``value``, if unexpired and still configured."""
        parts = (value or "").split("|")
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) < now:
            return None
        client_id, expires, signature = parts
        found: ApiClient | None = None
        for client in clients:  # every candidate is checked, as in ``authenticate``
            expected = self._signature(client, f"{client_id}|{expires}")
            if client.client_id == client_id and hmac.compare_digest(expected, signature):
                found = client
        return found if found is not None and found.role == self.role else None

    def signed_in(self, request: Request, clients: tuple[ApiClient, ...]) -> ApiClient | None:
        """The client whose valid cookie the request carries, if any."""
        return self.verify(clients, request.cookies.get(self.cookie), time.time())

    def start(self, response: Response, client: ApiClient, *, secure: bool) -> None:
        """Set a fresh cookie for ``client`` on ``response``."""
        response.set_cookie(
            self.cookie,
            self.issue(client, time.time()),
            max_age=self.lifetime_seconds,
            path=self.path,
            secure=secure,
            httponly=True,
            samesite="strict",
        )

    def end(self, response: Response) -> None:
        """Make the browser forget the cookie."""
        response.delete_cookie(self.cookie, path=self.path, httponly=True, samesite="strict")


SUPPORT = ConsoleSession(role="support", cookie="orders_support", path="/support")
OPS = ConsoleSession(role="ops", cookie="orders_ops", path="/ops")
