"""The alert rules against a real Prometheus scraping real processes.

A Prometheus of the test's own (Debian's binary, 1 s scrape and rule intervals, the
repository's rule files) discovers the API, the relay and the summary projector through the
files they write into ``ORDERS_PROMETHEUS_SD_DIR``. Under checkout traffic the summary
projector is killed with ``kill -9``: the projector-down and stalled alerts fire (the lag is
measured by the relay, so the series behind them never go missing); a projector restarted on
the same port resolves both, and the lag Prometheus sees returns to 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from tests.chaos.test_stream_lag_survives_projector import Checkouts, wait_for
from tests.helpers.api import put_product
from tests.helpers.metrics import wait_for_metrics
from tests.helpers.processes import ApiServer, Worker, free_port
from tests.helpers.prometheus import Prometheus, running_prometheus

SKU = "SKU-STREAM-LAG"


@pytest.fixture
def prometheus() -> Iterator[Prometheus]:
    with running_prometheus() as server:
        yield server


def test_killed_projector_fires_the_down_and_stalled_alerts_and_a_restart_resolves_them(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    prometheus: Prometheus,
) -> None:
    sd = {"prometheus_sd_dir": str(prometheus.targets)}
    api = start_api(**sd)
    relay_port, projector_port = free_port(), free_port()
    start_worker("relay", relay_metrics_port=str(relay_port), **sd)
    summary = {"projection_metrics_port": str(projector_port), **sd}
    projector = start_worker("project", "summary", **summary)
    wait_for_metrics(relay_port, seconds=90)
    wait_for_metrics(projector_port, seconds=90)
    # Every process registered itself and is scraped.
    wait_for(
        prometheus.targets_up,
        lambda up: up == {"orders-api": 1, "orders-relay": 1, "orders-projector": 1},
        "targets up",
    )
    put_product(api.url, SKU, on_hand=100_000)
    lag = 'orders_stream_group_lag_events{projection="summary"}'
    traffic = Checkouts(api.url)
    traffic.start()
    try:
        wait_for(
            lambda: prometheus.value(
                'orders_projection_freshness_seconds_count{projection="summary"}'
            ),
            lambda v: v is not None and v > 0,
            "freshness scraped",
        )
        assert not prometheus.firing("OrdersProjectionStalled", projection="summary")
        projector.kill9()
        # The projector-down alert (for: 1m) and the stalled alert (30 s, for: 1m) fire.
        wait_for(
            lambda: prometheus.firing("OrdersProjectorDown", projection="summary"),
            bool,
            "OrdersProjectorDown firing",
            seconds=150,
        )
        wait_for(
            lambda: prometheus.firing("OrdersProjectionStalled", projection="summary"),
            bool,
            "OrdersProjectionStalled firing",
            seconds=150,
        )
        assert (prometheus.value(lag) or 0) > 0
    finally:
        traffic.stop()

    # (search and analytics have no projector in this test: their alerts fire all along.)
    # Restarted on the same port (its target file is the same): both resolve, lag returns to 0.
    start_worker("project", "summary", **summary)
    wait_for(lambda: prometheus.value(lag), lambda v: v == 0, "lag back to 0", seconds=120)
    try:
        wait_for(
            lambda: (
                not prometheus.firing("OrdersProjectionStalled", projection="summary")
                and not prometheus.firing("OrdersProjectorDown", projection="summary")
            ),
            bool,
            "alerts resolved",
            seconds=60,
        )
    except AssertionError as error:
        active = [
            (a["labels"], a["state"], a["value"])
            for a in prometheus.api("alerts")["alerts"]
            if a["labels"].get("projection") == "summary"
        ]
        raise AssertionError(f"{error}; active for summary: {active}") from None
