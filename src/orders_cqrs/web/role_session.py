"""A sign-in cookie for one role's console: ``<client id>|<expiry>|<HMAC>``, never the API key.

The same scheme as the support console's cookie, parameterised by role, so the ops page gets
its own cookie (name, path, and a signature domain that a support cookie cannot satisfy).
The HMAC is keyed with the client's stored key digest: remove the key from
``ORDERS_API_KEYS`` and every cookie it signed stops verifying.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from orders_cqrs.config import ApiClient, Role


@dataclass(frozen=True, slots=True)
class RoleSession:
    """Issue and verify console cookies for the clients of one role."""

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
