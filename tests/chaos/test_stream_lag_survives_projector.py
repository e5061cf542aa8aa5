"""Lag that cannot vanish: a projector killed with kill -9 shows as rising lag, not "no data".

The relay measures every projection's consumer group from the stream itself and exports it;
the projector exports only its heartbeats and the freshness SLI. Killing the summary
projector under checkout traffic must leave the relay's summary series present and growing;
a restarted projector brings them back to 0.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from orders_cqrs.observability.metrics import FRESHNESS_BUCKETS
from tests.helpers.api import order_body, place, put_product
from tests.helpers.metrics import metric, wait_for_metrics
from tests.helpers.processes import ApiServer, Worker, free_port

SKU = "SKU-STREAM-LAG"


class Checkouts(threading.Thread):
    """Places orders one after another until stopped: traffic while the projector dies."""

    def __init__(self, base_url: str) -> None:
        super().__init__(daemon=True)
        self.base_url = base_url
        self.stopping = threading.Event()
        self.placed = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            if place(self.base_url, order_body(items=[(SKU, 1)])).status_code == 201:
                self.placed += 1
            time.sleep(0.05)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


def wait_for(
    read: Callable[[], Any], ok: Callable[[Any], bool], what: str, seconds: float = 30
) -> Any:
    """Poll ``read()`` until ``ok`` holds for its value; the value."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if ok(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: still {value!r} after {seconds:.0f} s")
        time.sleep(0.2)


def test_killed_summary_projector_shows_as_rising_lag_on_the_relay(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
) -> None:
    api = start_api()
    relay_port, projector_port = free_port(), free_port()
    start_worker("relay", relay_metrics_port=str(relay_port))
    projector = start_worker("project", "summary", projection_metrics_port=str(projector_port))
    wait_for_metrics(relay_port, seconds=90)
    wait_for_metrics(projector_port, seconds=90)
    put_product(api.url, SKU, on_hand=100_000)
    traffic = Checkouts(api.url)
    traffic.start()
    try:
        lag = "orders_stream_group_lag_events"
        age = "orders_stream_group_oldest_unapplied_age_seconds"
        # Healthy: the projector applies, beats, and measures freshness; the relay sees lag ~0.
        wait_for(
            lambda: metric(
                projector_port, "orders_projection_freshness_seconds_count", projection="summary"
            ),
            lambda v: v is not None and v >= 5,
            "freshness observations",
        )
        now = time.time()
        for beat in ("last_applied", "last_poll"):
            stamp = metric(
                projector_port, f"orders_projection_{beat}_timestamp_seconds", projection="summary"
            )
            assert stamp is not None and now - stamp < 10, (beat, stamp)
        assert metric(relay_port, lag, projection="summary") is not None
        for projection in ("search", "analytics"):  # no projector runs them: all of it is lag
            # The relay measures every 2 s: wait for a measurement taken after entries came.
            wait_for(
                lambda name=projection: metric(relay_port, lag, projection=name),
                lambda v: v is not None and v > 0,
                f"{projection} lag on the relay",
            )

        # kill -9 under traffic: the projector's own series are gone with it ...
        projector.kill9()
        assert metric(projector_port, "orders_projection_last_poll_timestamp_seconds") is None
        # ... while the relay's summary series stay present and keep rising.
        first = wait_for(
            lambda: metric(relay_port, lag, projection="summary"),
            lambda v: v is not None and v >= 5,
            "summary lag after the kill",
        )
        first_age = metric(relay_port, age, projection="summary")
        wait_for(
            lambda: metric(relay_port, lag, projection="summary"),
            lambda v: v is not None and v > first + 5,
            "summary lag rising",
        )
        wait_for(
            lambda: metric(relay_port, age, projection="summary"),
            lambda v: v is not None and first_age is not None and v > first_age + 1,
            "oldest unapplied age rising",
        )
    finally:
        traffic.stop()
    assert traffic.placed > 10

    # A new projector drains the group: the relay's figures return to 0.
    start_worker("project", "summary", projection_metrics_port=str(free_port()))
    wait_for(
        lambda: metric(relay_port, lag, projection="summary"),
        lambda v: v == 0,
        "summary lag after restart",
        seconds=60,
    )
    wait_for(
        lambda: metric(relay_port, age, projection="summary"),
        lambda v: v == 0,
        "oldest unapplied age after restart",
    )
    assert metric(relay_port, "orders_stream_group_pending_events", projection="summary") == 0


def test_freshness_buckets_hold_every_slo_threshold() -> None:
    # The SLO recording rules count events under 1 s (summary), 2 s (search), 60 s (analytics).
    assert {1, 2, 60} <= set(FRESHNESS_BUCKETS)
