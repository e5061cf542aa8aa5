"""Invariant 3, state + receipt + outbox commit together: kill -9 the API under load."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import CHECKOUT_KEY, headers, order_body, put_product
from tests.helpers.processes import ApiServer

CLIENTS = 16


async def _load_until_killed(server: ApiServer, seconds: float) -> dict[str, httpx.Response | None]:
    """Place orders from many clients; kill the server mid-flight. Key → response (None: cut)."""
    results: dict[str, httpx.Response | None] = {}
    stop_at = time.monotonic() + seconds

    async def client_loop(client: httpx.AsyncClient) -> None:
        while time.monotonic() < stop_at + 5:
            key = str(uuid.uuid4())
            body = order_body(items=[("SKU-CRASH-A", 1), ("SKU-CRASH-B", 2)], customer_id=key)
            results[key] = None
            try:
                results[key] = await client.post(
                    "/v1/orders", json=body, headers=headers(CHECKOUT_KEY, key)
                )
            except httpx.HTTPError:
                return  # the server is gone

    async def killer() -> None:
        await asyncio.sleep(seconds)
        server.kill9()

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        await asyncio.gather(killer(), *(client_loop(client) for _ in range(CLIENTS)))
    return results


def _bodies(key_to_response: dict[str, httpx.Response | None]) -> dict[str, dict[str, Any]]:
    return {
        k: r.json() for k, r in key_to_response.items() if r is not None and r.status_code == 201
    }


def test_kill_9_under_load_loses_no_acknowledged_order_and_leaves_no_orphans(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    server = start_api()
    put_product(server.url, "SKU-CRASH-A", on_hand=100_000)
    put_product(server.url, "SKU-CRASH-B", on_hand=100_000)

    results = asyncio.run(_load_until_killed(server, seconds=2.0))
    acknowledged = _bodies(results)
    assert len(acknowledged) > 20, "the load never got going"
    assert any(r is None for r in results.values()), "the kill cut no request in flight"

    # Every order a client saw a 201 for is there, with its outbox row and its receipt.
    for key, body in acknowledged.items():
        row = db.execute(
            "SELECT o.version, (SELECT count(*) FROM outbox WHERE aggregate_id = o.id),"
            " (SELECT count(*) FROM idempotency_receipts r WHERE r.key = %s AND r.order_id = o.id)"
            " FROM orders o WHERE o.id = %s",
            (key, body["order_id"]),
        ).fetchone()
        assert row == (1, 1, 1), (key, row)

    # Nothing exists without its order: outbox rows, receipts, reservations.
    assert db.execute(
        "SELECT count(*) FROM outbox x LEFT JOIN orders o ON o.id = x.aggregate_id WHERE o.id IS NULL"
    ).fetchone() == (0,)
    assert db.execute(
        "SELECT count(*) FROM idempotency_receipts r LEFT JOIN orders o ON o.id = r.order_id"
        " WHERE r.command = 'place_order' AND (r.state <> 'completed' OR o.id IS NULL)"
    ).fetchone() == (0,)
    assert db.execute(
        "SELECT count(*) FROM orders o LEFT JOIN outbox x ON x.aggregate_id = o.id WHERE x.position IS NULL"
    ).fetchone() == (0,)
    reserved = dict(db.execute("SELECT sku, reserved FROM products").fetchall())
    lines = dict(
        db.execute(
            "SELECT l.sku, sum(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id"
            " WHERE o.stock_state = 'reserved' GROUP BY l.sku"
        ).fetchall()
    )
    assert reserved == {sku: lines.get(sku, 0) for sku in reserved}

    # Retrying the requests the crash cut, with their keys, never creates a second order.
    restarted = start_api()
    cut = [k for k, r in results.items() if r is None]
    for key in cut:
        body = order_body(items=[("SKU-CRASH-A", 1), ("SKU-CRASH-B", 2)], customer_id=key)
        retry = httpx.post(
            f"{restarted.url}/v1/orders", json=body, headers=headers(CHECKOUT_KEY, key)
        )
        assert retry.status_code == 201, retry.text
    placed = db.execute("SELECT count(*) FROM orders").fetchone()
    assert placed == (len(acknowledged) + len(cut),)
    per_customer = db.execute(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM orders GROUP BY customer_id) t"
    ).fetchone()
    assert per_customer == (1,)
