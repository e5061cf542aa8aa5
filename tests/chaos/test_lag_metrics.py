"""Invariants 9 and 10, as ops see them: lag, backlog, retries and dead letters are measured.

The relay and the projector serve Prometheus ``/metrics`` on their own ports; GET
/v1/projections reports lag from the consumer group. Stopping a worker must show up as lag
or backlog of exactly the events it missed, and catching up must bring both back to 0.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import OPS_KEY, headers, order_body, place, put_product
from tests.helpers.metrics import metric, wait_for_metrics
from tests.helpers.processes import ApiServer, Worker, free_port
from tests.helpers.stores import plain_dsn
from tests.helpers.waiting import wait_until_projected

SKU = "SKU-LAG"
N = 12  # orders placed while the projector is stopped
M = 7  # orders placed while the relay is stopped
MAX_ATTEMPTS = 3


def wait_for_value(
    read: Callable[[], Any], expected: Callable[[Any], bool], what: str, seconds: float = 30
) -> Any:
    """Poll ``read()`` until ``expected`` holds for its value; the value."""
    deadline = time.monotonic() + seconds
    value = read()
    while not expected(value):
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: still {value!r} after {seconds:.0f} s")
        time.sleep(0.2)
        value = read()
    return value


def summary_status(base_url: str) -> dict[str, Any]:
    """The ``summary`` entry of GET /v1/projections."""
    got = httpx.get(f"{base_url}/v1/projections", headers=headers(OPS_KEY), timeout=10)
    assert got.status_code == 200, got.text
    return next(p for p in got.json()["projections"] if p["name"] == "summary")


def unpublished(db: psycopg.Connection[Any]) -> int:
    """Outbox rows not yet published."""
    row = db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()
    assert row is not None
    return int(row[0])


def place_orders(base_url: str, count: int) -> list[tuple[str, int]]:
    """``count`` checkouts; (order id, version) of each."""
    placed = [place(base_url, order_body(items=[(SKU, 1)])) for _ in range(count)]
    assert all(r.status_code == 201 for r in placed), [r.text for r in placed]
    return [(r.json()["order_id"], r.json()["version"]) for r in placed]


def outbox_events(db: psycopg.Connection[Any], orders: list[tuple[str, int]]) -> int:
    """Outbox rows of these orders (one per accepted command)."""
    row = db.execute(
        "SELECT count(*) FROM outbox WHERE aggregate_id = ANY(%s::uuid[])",
        ([order_id for order_id, _ in orders],),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_lag_backlog_retries_and_dead_letters_are_measured_and_return_to_zero(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    database_url: str,
) -> None:
    db.execute("DELETE FROM projection_dead_letters")  # `db` does not truncate this table
    api = start_api()
    relay_port = free_port()
    relay = start_worker("relay", relay_metrics_port=str(relay_port))
    projector_settings = {
        "projection_max_attempts": str(MAX_ATTEMPTS),
        "projection_retry_base_seconds": "0.05",
    }
    projector = start_worker("project", "summary", **projector_settings)
    wait_for_metrics(relay_port)
    put_product(api.url, SKU, on_hand=1000)

    # Warm up: the consumer group exists and is caught up before the projector stops.
    (first,) = place_orders(api.url, 1)
    wait_until_projected(api.url, *first)
    assert projector.stop() == 0
    published = "orders_relay_published_events_total"
    assert unpublished(db) == 0
    before = metric(relay_port, published)
    assert before is not None and before >= 1

    # --- projector stopped: the relay publishes, the group's lag counts exactly what it missed.
    missed = place_orders(api.url, N)
    n_events = outbox_events(db, missed)
    assert n_events == N  # one OrderPlaced per checkout
    wait_for_value(
        lambda: metric(relay_port, published),
        lambda v: v == before + n_events,
        "relay published after N orders",
    )
    assert metric(relay_port, published, event_type="OrderPlaced") == before + n_events
    status = wait_for_value(
        lambda: summary_status(api.url), lambda s: s["lag_events"] == n_events, "summary lag"
    )
    assert status["lag_seconds"] > 0, status

    # --- projector back: lag returns to 0 and it applied exactly those N events.
    projector_port = free_port()
    start_worker(
        "project", "summary", projection_metrics_port=str(projector_port), **projector_settings
    )
    wait_for_metrics(projector_port)
    wait_for_value(lambda: summary_status(api.url)["lag_events"], lambda v: v == 0, "summary lag")
    applied = "orders_projection_events_total"
    assert metric(projector_port, applied, projection="summary", outcome="applied") == n_events
    for order_id, version in missed:
        wait_until_projected(api.url, order_id, version)
    wait_for_value(
        lambda: metric(projector_port, "orders_projection_lag_events", projection="summary"),
        lambda v: v == 0,
        "exported projector lag",
    )

    # --- relay stopped: the outbox holds the backlog; a restarted relay reports, then drains it.
    assert relay.stop() == 0
    held_back = place_orders(api.url, M)
    m_events = outbox_events(db, held_back)
    assert unpublished(db) == m_events == M
    new_relay_port = free_port()
    # Another relay holds those rows (FOR UPDATE; relays claim with SKIP LOCKED), so the new
    # relay can measure the backlog but not publish it until the lock goes.
    with psycopg.connect(plain_dsn(database_url)) as holder:
        holder.execute("SELECT position FROM outbox WHERE published_at IS NULL FOR UPDATE")
        start_worker("relay", relay_metrics_port=str(new_relay_port))
        wait_for_metrics(new_relay_port)
        backlog = wait_for_value(
            lambda: metric(new_relay_port, "orders_outbox_backlog_events"),
            lambda v: v is not None and v >= M,
            "relay backlog gauge",
        )
        assert backlog == M
        age = metric(new_relay_port, "orders_outbox_oldest_unpublished_age_seconds")
        assert age is not None and age > 0
        assert summary_status(api.url)["lag_events"] == 0  # nothing reached the stream yet
        holder.rollback()
    wait_for_value(
        lambda: metric(new_relay_port, "orders_outbox_backlog_events"),
        lambda v: v == 0,
        "relay backlog gauge after draining",
    )
    assert unpublished(db) == 0
    assert metric(new_relay_port, published) == m_events
    for order_id, version in held_back:
        wait_until_projected(api.url, order_id, version)
    wait_for_value(lambda: summary_status(api.url)["lag_events"], lambda v: v == 0, "summary lag")

    # --- a poison event: retried, then dead-lettered; both counted; the lag still drains.
    retries = "orders_projection_retries_total"
    retries_before = metric(projector_port, retries, projection="summary") or 0.0
    victim_id, victim_version = held_back[0]
    db.execute(
        "INSERT INTO outbox (event_id, aggregate_id, aggregate_version, event_type,"
        " schema_version, headers, payload)"
        " VALUES (%s, %s, %s, 'OrderNoted', 1, '{}'::jsonb, '{\"facts\": {}}'::jsonb)",
        (str(uuid.uuid4()), victim_id, victim_version + 1),
    )
    wait_for_value(
        lambda: metric(projector_port, applied, projection="summary", outcome="dead_lettered"),
        lambda v: v == 1,
        "dead-lettered events",
    )
    assert metric(projector_port, retries, projection="summary") == retries_before + (
        MAX_ATTEMPTS - 1
    )
    wait_for_value(
        lambda: metric(projector_port, "orders_projection_dead_letters", projection="summary"),
        lambda v: v == 1,
        "exported dead-letter gauge",
    )
    status = wait_for_value(
        lambda: summary_status(api.url), lambda s: s["lag_events"] == 0, "summary lag"
    )
    assert status["dead_letters"] == 1 and status["retries"] == MAX_ATTEMPTS - 1, status
