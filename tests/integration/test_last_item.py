"""Invariant 1, no oversell: concurrent buyers over real HTTP against a real uvicorn process."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import CHECKOUT_KEY, headers, order_body, put_product
from tests.helpers.processes import ApiServer


async def _buyers(base_url: str, sku: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        start = asyncio.Event()

        async def buy() -> httpx.Response:
            body = order_body(items=[(sku, 1)])
            await start.wait()
            return await client.post(
                "/v1/orders", json=body, headers=headers(CHECKOUT_KEY, str(uuid.uuid4()))
            )

        tasks = [asyncio.create_task(buy()) for _ in range(count)]
        await asyncio.sleep(0.2)  # every client is connected and waiting: release them together
        start.set()
        return list(await asyncio.gather(*tasks))


@pytest.mark.parametrize(("stock", "buyers"), [(1, 50), (10, 200)], ids=["1-of-50", "10-of-200"])
def test_last_items_are_sold_exactly_once_under_concurrent_buyers(
    api: ApiServer, db: psycopg.Connection[Any], stock: int, buyers: int
) -> None:
    put_product(api.url, "SKU-LAST", on_hand=stock)

    responses = asyncio.run(_buyers(api.url, "SKU-LAST", buyers))

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: stock, 409: buyers - stock}, statuses
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/out-of-stock")
    on_hand, reserved = db.execute(
        "SELECT on_hand, reserved FROM products WHERE sku = 'SKU-LAST'"
    ).fetchone()  # type: ignore[misc]
    assert (on_hand, reserved) == (stock, stock)
    lines = db.execute("SELECT coalesce(sum(quantity), 0) FROM order_lines").fetchone()
    assert lines == (stock,)
    assert db.execute("SELECT count(*) FROM outbox").fetchone() == (stock,)
    audit = dict(
        db.execute(
            "SELECT outcome, count(*) FROM audit_log WHERE command = 'place_order' GROUP BY outcome"
        ).fetchall()
    )
    assert audit == {"accepted": stock, "rejected": buyers - stock}


def test_last_item_is_sold_once_when_buyers_reach_different_worker_processes(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    """``api --workers 2``: the row lock, not any process's memory, decides who wins."""
    api = start_api(api_workers="2")
    put_product(api.url, "SKU-LAST", on_hand=3)

    responses = asyncio.run(_buyers(api.url, "SKU-LAST", 60))

    assert Counter(r.status_code for r in responses) == {201: 3, 409: 57}
    assert db.execute(
        "SELECT on_hand, reserved FROM products WHERE sku = 'SKU-LAST'"
    ).fetchone() == (3, 3)
    assert db.execute("SELECT count(*) FROM orders").fetchone() == (3,)
    assert db.execute("SELECT count(*) FROM outbox").fetchone() == (3,)
