"""Invariant 9: the write path never fans out — a Redis outage neither fails nor slows a checkout.

Stops the real Redis (``scripts/services stop redis``) under a running API, relay and summary
projector. The ``redis_outage`` fixture always starts it again, even when the test fails.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, headers, put_product
from tests.helpers.metrics import metric
from tests.helpers.outage import StoreOutage, place_many
from tests.helpers.problems import assert_unavailable_problem
from tests.helpers.processes import ApiServer, free_port
from tests.helpers.stream_checks import assert_verified
from tests.helpers.waiting import wait_for, wait_until_projected

SKU = "SKU-OUTAGE"
ORDERS_PER_PHASE = 100
OUTAGE_ATTEMPTS = 5  # outage windows that Redis must stay down for, at most (see StoreOutage)


def unpublished(db: psycopg.Connection[Any], order_ids: list[str] | None = None) -> int:
    """Outbox rows not yet published (of the given orders, or all)."""
    if order_ids is None:
        row = db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()
    else:
        row = db.execute(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            " AND aggregate_id = ANY(%s::uuid[])",
            (order_ids,),
        ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass
class OutageWindow:
    """What one outage window observed (valid only if Redis stayed down throughout)."""

    order_ids: list[str]
    latencies: list[float]
    unpublished_of_window: int
    unpublished_total: int
    reads: list[httpx.Response]


def outage_window(
    client: httpx.Client, db: psycopg.Connection[Any], projected_id: str
) -> OutageWindow:
    """Checkouts and reads while Redis is (supposed to be) down."""
    order_ids, latencies = place_many(client, SKU, ORDERS_PER_PHASE)
    reads = [
        client.get(f"/v1/orders/{projected_id}", headers=headers(CHECKOUT_KEY)),
        client.get(
            f"/v1/orders/{order_ids[0]}", params={"min_version": 1}, headers=headers(CHECKOUT_KEY)
        ),
        client.get(f"/v1/customers/{uuid.uuid4()}/orders", headers=headers(CHECKOUT_KEY)),
    ]
    return OutageWindow(order_ids, latencies, unpublished(db, order_ids), unpublished(db), reads)


def test_checkout_neither_fails_nor_slows_while_redis_is_down(
    db: psycopg.Connection[Any],
    start_pipeline: Callable[..., ApiServer],
    redis_outage: StoreOutage,
    database_url: str,
) -> None:
    api = start_pipeline()
    put_product(api.url, SKU, on_hand=10 * ORDERS_PER_PHASE * (OUTAGE_ATTEMPTS + 1))

    with httpx.Client(base_url=api.url) as client:
        place_many(client, SKU, 5)  # warm-up: pools, caches, first-request costs
        up_ids, up_latencies = place_many(client, SKU, ORDERS_PER_PHASE)
        wait_until_projected(api.url, up_ids[-1], 1, seconds=30)

        for _ in redis_outage.windows(OUTAGE_ATTEMPTS):
            window = outage_window(client, db, up_ids[0])

    p50_up = statistics.median(up_latencies)
    p50_down = statistics.median(window.latencies)
    print(
        f"\ncheckout p50 with Redis up: {p50_up * 1000:.1f} ms,"
        f" down: {p50_down * 1000:.1f} ms"
        f" (p95 up {statistics.quantiles(up_latencies, n=20)[-1] * 1000:.1f} ms,"
        f" down {statistics.quantiles(window.latencies, n=20)[-1] * 1000:.1f} ms)"
    )
    assert p50_down < max(3 * p50_up, p50_up + 0.05), (p50_up, p50_down)

    # Nothing placed during the outage reached the stream: it all waits in the outbox.
    assert window.unpublished_of_window == ORDERS_PER_PHASE
    assert window.unpublished_total >= ORDERS_PER_PHASE

    # Reads depend on Redis: they say so with a 503 problem, never a 500 or stale data.
    for read in window.reads:
        assert_unavailable_problem(read)

    redis_outage.start()
    wait_for(lambda: unpublished(db) == 0, "the relay to publish the outage backlog")
    wait_until_projected(api.url, window.order_ids[-1], 1, seconds=30)
    placed = db.execute("SELECT count(*) FROM orders").fetchone()
    assert placed is not None
    assert_verified(database_url, placed[0], wait=30)


def test_the_relay_reports_the_growing_backlog_while_redis_is_down(
    db: psycopg.Connection[Any],
    start_pipeline: Callable[..., ApiServer],
    redis_outage: StoreOutage,
) -> None:
    """Ops must see the outage: the backlog gauges follow the outbox, not the last success."""
    port = free_port()
    api = start_pipeline(relay={"relay_metrics_port": str(port)})
    put_product(api.url, SKU, on_hand=1000)
    with httpx.Client(base_url=api.url) as client:
        (first,), _ = place_many(client, SKU, 1)
        wait_until_projected(api.url, first, 1, seconds=30)
        wait_for(lambda: metric(port, "orders_outbox_backlog_events") == 0, "a drained relay")

        backlog: dict[str, float | None] = {}
        for _ in redis_outage.windows(OUTAGE_ATTEMPTS):
            down_ids, _ = place_many(client, SKU, 20)
            deadline = time.monotonic() + 8  # the relay retries at least every 5 s
            while time.monotonic() < deadline:
                backlog = {
                    name: metric(port, name)
                    for name in (
                        "orders_outbox_backlog_events",
                        "orders_outbox_oldest_unpublished_age_seconds",
                        "orders_relay_errors_total",
                    )
                }
                if (backlog["orders_outbox_backlog_events"] or 0) >= len(down_ids):
                    break
                time.sleep(0.5)
            projections = client.get("/v1/projections", headers=headers(OPS_KEY))

    print(f"\nrelay gauges during the outage: {backlog}, outbox unpublished: {unpublished(db)}")
    assert_unavailable_problem(projections)
    assert (backlog["orders_relay_errors_total"] or 0) > 0, backlog  # it does notice the outage
    assert (backlog["orders_outbox_backlog_events"] or 0) >= len(down_ids), backlog
    assert (backlog["orders_outbox_oldest_unpublished_age_seconds"] or 0) > 0, backlog
