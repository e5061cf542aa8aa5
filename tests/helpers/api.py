"""The public API as a client sees it: role keys, request headers, bodies and calls."""

from __future__ import annotations

import time
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


def place_one(base_url: str, sku: str) -> str:
    """Place one unit of ``sku`` for a fresh customer; the new order's id."""
    placed = place(base_url, order_body(items=[(sku, 1)]))
    assert placed.status_code == 201, placed.text
    return str(placed.json()["order_id"])


def place_in(
    base_url: str, sku: str, region: str, provider: str, token: str = "tok_approve"
) -> str:
    """Place one unit of ``sku`` shipped to ``region``, paid with ``provider``; its id."""
    body = order_body(items=[(sku, 1)], provider=provider, token=token)
    body["shipping_address"]["region"] = region
    placed = place(base_url, body)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["order_id"])


def read_order(base_url: str, order_id: str, min_version: int | None = None) -> httpx.Response:
    """GET /v1/orders/{id} as the checkout frontend, asking for ``min_version`` if given.

    The client waits longer than any read wait budget a test gives the API, so that a slow
    projection shows up as the API's answer (200 or 503), not as a client timeout.
    """
    params = {} if min_version is None else {"min_version": min_version}
    return httpx.get(
        f"{base_url}/v1/orders/{order_id}",
        params=params,
        headers=headers(CHECKOUT_KEY),
        timeout=30,
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


def authorize(base_url: str, order_id: str, key: str | None = None) -> httpx.Response:
    """POST /v1/orders/{id}/authorize as the checkout frontend, under ``key`` (a fresh
    idempotency key unless given: a retry must reuse its request's key)."""
    return command(base_url, order_id, "authorize", key or str(uuid.uuid4()), CHECKOUT_KEY)


def wait_analytics_applied(base_url: str, applied: int) -> None:
    """Until the analytics projection applied ``applied`` events and has no lag."""
    deadline, status = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        listed = httpx.get(f"{base_url}/v1/projections", headers=headers(OPS_KEY)).json()
        status = next(p for p in listed["projections"] if p["name"] == "analytics")
        if status["applied"] >= applied and status["lag_events"] == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"analytics never applied {applied} events: {status}")
