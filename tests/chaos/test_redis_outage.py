"""Invariant 9: the write path never fans out — a Redis outage neither fails nor slows a checkout.

Stops the real Redis (``scripts/services stop redis``) under a running API, relay and summary
projector. The ``redis_outage`` fixture always starts it again, even when the test fails:
every other suite on this machine needs it.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, headers, order_body, put_product
from tests.helpers.problems import assert_unavailable_problem
from tests.helpers.processes import ApiServer, Worker, free_port, run_verify
from tests.helpers.stores import ROOT, TEST_REDIS_URL
from tests.helpers.waiting import wait_for, wait_until_projected

SERVICES = ROOT / "scripts" / "services"
SKU = "SKU-OUTAGE"
ORDERS_PER_PHASE = 100
# Any pytest session that starts while Redis is down runs ``scripts/services start`` (see the
# ``database_url`` fixture), so on a shared machine someone may end our outage early. An
# outage window during which Redis answered again proves nothing: it is discarded and redone.
OUTAGE_ATTEMPTS = 5


def services(action: str) -> None:
    """``scripts/services <action> redis``, failing loudly."""
    done = subprocess.run(
        [str(SERVICES), action, "redis"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"services {action} redis: {done.stdout}{done.stderr}"


@pytest.fixture
def redis_outage() -> Iterator[Callable[[], None]]:
    """A function that stops Redis; Redis is started again on teardown, whatever happened."""
    try:
        yield lambda: services("stop")
    finally:
        services("start")


def place_timed(client: httpx.Client, base_url: str) -> tuple[httpx.Response, float]:
    """POST /v1/orders (one unit, fresh customer and key) and its wall-clock latency."""
    body = order_body(items=[(SKU, 1)])
    started = time.perf_counter()
    response = client.post(
        f"{base_url}/v1/orders",
        json=body,
        headers=headers(CHECKOUT_KEY, str(uuid.uuid4())),
        timeout=30,
    )
    return response, time.perf_counter() - started


def place_many(client: httpx.Client, base_url: str, count: int) -> tuple[list[str], list[float]]:
    """``count`` sequential checkouts; every one must be a 201."""
    order_ids: list[str] = []
    latencies: list[float] = []
    for _ in range(count):
        response, seconds = place_timed(client, base_url)
        assert response.status_code == 201, response.text
        order_ids.append(response.json()["order_id"])
        latencies.append(seconds)
    return order_ids, latencies


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


def redis_answers() -> bool:
    """Whether the real Redis answers a PING right now."""
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@dataclass
class OutageWindow:
    """What one outage window observed (valid only if Redis stayed down throughout)."""

    order_ids: list[str]
    latencies: list[float]
    unpublished_of_window: int
    unpublished_total: int
    reads: list[httpx.Response]


def outage_window(
    client: httpx.Client, db: psycopg.Connection[Any], base_url: str, projected_id: str
) -> OutageWindow:
    """Checkouts and reads while Redis is (supposed to be) down."""
    order_ids, latencies = place_many(client, base_url, ORDERS_PER_PHASE)
    reads = [
        client.get(f"{base_url}/v1/orders/{projected_id}", headers=headers(CHECKOUT_KEY)),
        client.get(
            f"{base_url}/v1/orders/{order_ids[0]}",
            params={"min_version": 1},
            headers=headers(CHECKOUT_KEY),
        ),
        client.get(f"{base_url}/v1/customers/{uuid.uuid4()}/orders", headers=headers(CHECKOUT_KEY)),
    ]
    return OutageWindow(order_ids, latencies, unpublished(db, order_ids), unpublished(db), reads)


def test_checkout_neither_fails_nor_slows_while_redis_is_down(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    redis_outage: Callable[[], None],
    database_url: str,
) -> None:
    api = start_api()
    start_worker("relay")
    start_worker("project", "summary")
    put_product(api.url, SKU, on_hand=10 * ORDERS_PER_PHASE * (OUTAGE_ATTEMPTS + 1))

    with httpx.Client() as client:
        place_many(client, api.url, 5)  # warm-up: pools, caches, first-request costs
        up_ids, up_latencies = place_many(client, api.url, ORDERS_PER_PHASE)
        wait_until_projected(api.url, up_ids[-1], 1, seconds=30)

        window: OutageWindow | None = None
        for _ in range(OUTAGE_ATTEMPTS):
            redis_outage()
            attempt = outage_window(client, db, api.url, up_ids[0])
            if not redis_answers():
                window = attempt
                break
            print("\nRedis was restarted by someone else during the outage window: redoing it")
        assert window is not None, "Redis never stayed down for a whole outage window"

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

    services("start")
    wait_for(lambda: unpublished(db) == 0, "the relay to publish the outage backlog")
    wait_until_projected(api.url, window.order_ids[-1], 1, seconds=30)
    result = run_verify(database_url, wait=30)
    assert result.returncode == 0, result.stdout + result.stderr
    placed = db.execute("SELECT count(*) FROM orders").fetchone()
    checked = re.search(r"^summary\s+(\d+)\s+0\s+0\s+0\s*$", result.stdout, re.MULTILINE)
    assert placed is not None and checked is not None, result.stdout
    assert int(checked.group(1)) == placed[0], result.stdout


def relay_metric(port: int, name: str) -> float | None:
    """Sum of a relay metric's samples on its /metrics (None: unreachable or no sample)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    values = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]
    return float(sum(values)) if values else None


def test_the_relay_reports_the_growing_backlog_while_redis_is_down(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    redis_outage: Callable[[], None],
) -> None:
    """Ops must see the outage: the backlog gauges follow the outbox, not the last success."""
    api = start_api()
    port = free_port()
    start_worker("relay", relay_metrics_port=str(port))
    start_worker("project", "summary")
    put_product(api.url, SKU, on_hand=1000)
    with httpx.Client() as client:
        (first,), _ = place_many(client, api.url, 1)
        wait_until_projected(api.url, first, 1, seconds=30)
        wait_for(lambda: relay_metric(port, "orders_outbox_backlog_events") == 0, "a drained relay")

        backlog: dict[str, float | None] = {}
        for _ in range(OUTAGE_ATTEMPTS):
            redis_outage()
            down_ids, _ = place_many(client, api.url, 20)
            deadline = time.monotonic() + 8  # the relay retries at least every 5 s
            while time.monotonic() < deadline:
                backlog = {
                    name: relay_metric(port, name)
                    for name in (
                        "orders_outbox_backlog_events",
                        "orders_outbox_oldest_unpublished_age_seconds",
                        "orders_relay_errors_total",
                    )
                }
                if (backlog["orders_outbox_backlog_events"] or 0) >= len(down_ids):
                    break
                time.sleep(0.5)
            projections = client.get(f"{api.url}/v1/projections", headers=headers(OPS_KEY))
            if not redis_answers():
                break
            print("\nRedis was restarted by someone else during the outage window: redoing it")
        else:
            raise AssertionError("Redis never stayed down for a whole outage window")

    print(f"\nrelay gauges during the outage: {backlog}, outbox unpublished: {unpublished(db)}")
    assert_unavailable_problem(projections)
    assert (backlog["orders_relay_errors_total"] or 0) > 0, backlog  # it does notice the outage
    assert (backlog["orders_outbox_backlog_events"] or 0) >= len(down_ids), backlog
    assert (backlog["orders_outbox_oldest_unpublished_age_seconds"] or 0) > 0, backlog
