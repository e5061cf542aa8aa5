"""The support console's sign-in cookie: ``<client id>|<expiry>|<HMAC>``, never the API key.

The HMAC is keyed with the client's stored key digest, so a session dies with its key: remove
the key from ``ORDERS_API_KEYS`` and every cookie it signed stops verifying.
"""

from __future__ import annotations

import hashlib
import hmac

from orders_cqrs.config import ApiClient

COOKIE = "orders_support"
COOKIE_PATH = "/support"
LIFETIME_SECONDS = 8 * 3600
ROLE = "support"


def _signature(client: ApiClient, payload: str) -> str:
    message = f"orders-cqrs support session\n{payload}".encode()
    return hmac.new(client.key_sha256.encode(), message, hashlib.sha256).hexdigest()


def issue(client: ApiClient, now: float) -> str:
    """A cookie value for ``client`` that expires ``LIFETIME_SECONDS`` after ``now``."""
    payload = f"{client.client_id}|{int(now) + LIFETIME_SECONDS}"
    return f"{payload}|{_signature(client, payload)}"


def verify(clients: tuple[ApiClient, ...], value: str | None, now: float) -> ApiClient | None:
    """The support client that signed ``value``, if it is unexpired and still configured."""
    parts = (value or "").split("|")
    if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) < now:
        return None
    client_id, expires, signature = parts
    found: ApiClient | None = None
    for client in clients:  # every candidate is checked, as in ``authenticate``
        expected = _signature(client, f"{client_id}|{expires}")
        if client.client_id == client_id and hmac.compare_digest(expected, signature):
            found = client
    return found if found is not None and found.role == ROLE else None
