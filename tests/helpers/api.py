"""The public API as a client sees it: role keys, request headers, bodies and calls."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

CHECKOUT_KEY = "ck_dev_checkout_key"
SUPPORT_KEY = "sk_dev_support_key"
OPS_KEY = "ok_dev_ops_key"


def headers(key: str, idempotency_key: str | None = None, **extra: str) -> dict[str, str]:
    """Auth (and idempotency) headers for a role's key."""
    result = {"Authorization": f"Bearer {key}"}
    if idempotency_key is not None:
        result["Idempotency-Key"] = idempotency_key
    result.update(extra)
    return result


def order_body(
    *,
    items: list[tuple[str, int]],
    token: str = "tok_approve",
    provider: str = "sandbox-card",
    customer_id: str | None = None,
    email: str = "ada@example.com",
    country: str = "DE",
) -> dict[str, Any]:
    """A valid PlaceOrder body."""
    return {
        "customer": {
            "id": customer_id or str(uuid.uuid4()),
            "email": email,
            "name": "Ada Lovelace",
            "country": country,
        },
        "items": [{"sku": sku, "quantity": qty} for sku, qty in items],
        "shipping_address": {
            "country": country,
            "region": "Berlin",
            "city": "Berlin",
            "postal_code": "10115",
            "line1": "Invalidenstr. 1",
        },
        "payment": {"provider": provider, "token": token},
    }


def put_product(
    base_url: str, sku: str, *, on_hand: int, price: int = 1000, currency: str = "EUR"
) -> httpx.Response:
    """Create or restock a product through the API."""
    response = httpx.put(
        f"{base_url}/v1/inventory/{sku}",
        json={
            "name": f"Product {sku}",
            "unit_price": {"amount": price, "currency": currency},
            "on_hand": on_hand,
        },
        headers=headers(OPS_KEY, str(uuid.uuid4())),
    )
    assert response.status_code in (200, 201), response.text
    return response


def place(base_url: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    """POST /v1/orders with a fresh (or given) idempotency key."""
    return httpx.post(
        f"{base_url}/v1/orders", json=body, headers=headers(CHECKOUT_KEY, key or str(uuid.uuid4()))
    )


def command(
    base_url: str,
    order_id: str,
    verb: str,
    key: str,
    role_key: str,
    body: dict[str, Any] | None = None,
    **extra: str,
) -> httpx.Response:
    """POST /v1/orders/{id}/{verb}."""
    return httpx.post(
        f"{base_url}/v1/orders/{order_id}/{verb}",
        json=body,
        headers=headers(role_key, key, **extra),
        timeout=30,
    )
