"""A store that restarts leaves no burst of failures behind.

Each pooled connection to a store that restarted is dead, and nothing notices until it is
used. The first request on each must reconnect and succeed: after the store is back, a burst
of concurrent requests through every pool of the API (the command side's psycopg pool, the
read side's SQLAlchemy pool, the Redis and OpenSearch clients) answers without one 503, and
a rebuild started at that moment completes.

The stores are the machine's own, restarted with ``scripts/services``; the ``StoreOutage``
helper starts each again whatever happens.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import (
    CHECKOUT_KEY,
    OPS_KEY,
    SUPPORT_KEY,
    headers,
    order_body,
    put_product,
)
from tests.helpers.outage import StoreOutage, redis_answers
from tests.helpers.processes import ApiServer
from tests.helpers.search import opensearch_answers, reset_search_state
from tests.helpers.stream_checks import assert_verified
from tests.helpers.waiting import wait_for, wait_until_projected

SKU = "SKU-RESTART"
ALIAS = "orders-restart"
ORDERS = 20
BURST = 40


def postgres_answers() -> bool:
    """Whether the real PostgreSQL accepts a connection right now."""
    try:
        with psycopg.connect(
            "postgresql://orders:orders@127.0.0.1:55432/postgres", connect_timeout=1
        ) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


STORES = {
    "redis": StoreOutage("redis", "Redis", redis_answers, timeout=60),
    "postgres": StoreOutage("postgres", "PostgreSQL", postgres_answers, timeout=120),
    "opensearch": StoreOutage("opensearch", "OpenSearch", opensearch_answers, timeout=300),
}


def restart(store: StoreOutage) -> None:
    """Stop the store, then start it and wait until it answers."""
    with store:
        store.services("stop")
        assert not store.answers(), f"{store.title} still answers after stop"
    wait_for(store.answers, f"{store.title} to answer again", 120)


def burst(call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """``BURST`` concurrent calls, each on its own connection to the API."""
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        return list(pool.map(call, range(BURST)))


def statuses(responses: list[httpx.Response]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for response in responses:
        counts[response.status_code] = counts.get(response.status_code, 0) + 1
    return counts


@pytest.fixture
def pipeline(
    start_pipeline: Callable[..., ApiServer], db: psycopg.Connection[Any]
) -> Iterator[tuple[ApiServer, list[str]]]:
    """An API, a relay, the summary and search projectors, and projected orders."""
    reset_search_state(ALIAS)
    api = start_pipeline(
        projections=("summary", "search"),
        relay={"relay_poll_seconds": "0.2"},
        projector={"search_alias": ALIAS, "projection_block_ms": "200"},
        search_alias=ALIAS,
        read_wait_budget_seconds="0.2",
    )
    put_product(api.url, SKU, on_hand=10_000)
    order_ids = [place_order(api.url, i) for i in range(ORDERS)]
    for order_id in order_ids:
        wait_until_projected(api.url, order_id, 1, seconds=60)
    yield api, order_ids
    reset_search_state(ALIAS)


def place_order(base_url: str, index: int) -> str:
    body = order_body(items=[(SKU, 1)], email=f"restart.{index}.{uuid.uuid4().hex[:6]}@example.com")
    placed = httpx.post(
        f"{base_url}/v1/orders",
        json=body,
        headers=headers(CHECKOUT_KEY, str(uuid.uuid4())),
        timeout=30,
    )
    assert placed.status_code == 201, placed.text
    return str(placed.json()["order_id"])


def read_bursts(api: ApiServer, order_ids: list[str]) -> dict[str, Callable[[int], httpx.Response]]:
    """One burst per pool the API holds, each a request a client would send."""

    def summary(i: int) -> httpx.Response:
        return httpx.get(
            f"{api.url}/v1/orders/{order_ids[i % len(order_ids)]}",
            headers=headers(CHECKOUT_KEY),
            timeout=30,
        )

    def unknown_order(i: int) -> httpx.Response:
        # Not in the summary after the wait: PostgreSQL (the read side's SQLAlchemy pool)
        # tells "never existed" (404) from "lagging" (503).
        return httpx.get(
            f"{api.url}/v1/orders/{uuid.uuid4()}",
            params={"min_version": 1},
            headers=headers(CHECKOUT_KEY),
            timeout=30,
        )

    def stock(i: int) -> httpx.Response:
        return httpx.get(f"{api.url}/v1/inventory/{SKU}", headers=headers(OPS_KEY), timeout=30)

    def checkout(i: int) -> httpx.Response:
        body = order_body(items=[(SKU, 1)], email=f"burst.{i}@example.com")
        return httpx.post(
            f"{api.url}/v1/orders",
            json=body,
            headers=headers(CHECKOUT_KEY, str(uuid.uuid4())),
            timeout=30,
        )

    def search(i: int) -> httpx.Response:
        return httpx.get(
            f"{api.url}/v1/support/orders",
            params={"q": "restart", "size": 5},
            headers=headers(SUPPORT_KEY),
            timeout=30,
        )

    return {
        "summary": summary,
        "unknown": unknown_order,
        "stock": stock,
        "checkout": checkout,
        "search": search,
    }


EXPECTED = {"summary": 200, "unknown": 404, "stock": 200, "checkout": 201, "search": 200}


def assert_every_pool_answers(api: ApiServer, order_ids: list[str], names: list[str]) -> None:
    calls = read_bursts(api, order_ids)
    for name in names:
        answered = statuses(burst(calls[name]))
        assert answered == {EXPECTED[name]: BURST}, f"{name}: {answered}"


def run_rebuild(api: ApiServer, name: str) -> None:
    """POST a rebuild and wait until GET /v1/projections reports it succeeded."""
    started = httpx.post(
        f"{api.url}/v1/projections/{name}/rebuild",
        headers=headers(OPS_KEY, str(uuid.uuid4())),
        timeout=30,
    )
    assert started.status_code == 202, started.text

    def outcome() -> str | None:
        listed = httpx.get(f"{api.url}/v1/projections", headers=headers(OPS_KEY), timeout=30)
        assert listed.status_code == 200, listed.text
        entry = next(p for p in listed.json()["projections"] if p["name"] == name)
        rebuild = entry.get("rebuild") or {}
        state = rebuild.get("state")
        return None if state in (None, "running") else str(state)

    deadline = time.monotonic() + 120
    while (state := outcome()) is None and time.monotonic() < deadline:
        time.sleep(0.3)
    assert state == "done", f"rebuild of {name}: {state}"


def test_after_each_store_restarts_a_burst_of_requests_and_a_rebuild_all_succeed(
    pipeline: tuple[ApiServer, list[str]], database_url: str
) -> None:
    api, order_ids = pipeline
    # Fill each pool with as many connections as a burst uses: all of them die with the store.
    assert_every_pool_answers(api, order_ids, list(EXPECTED))

    restart(STORES["redis"])
    assert_every_pool_answers(api, order_ids, ["summary"])
    run_rebuild(api, "summary")

    restart(STORES["postgres"])
    assert_every_pool_answers(api, order_ids, ["checkout", "stock", "unknown"])

    restart(STORES["opensearch"])
    assert_every_pool_answers(api, order_ids, ["search"])

    assert_verified(
        database_url,
        ORDERS + 2 * BURST,  # and the two checkout bursts
        projections=("summary", "search"),
        settings={"search_alias": ALIAS},
    )
