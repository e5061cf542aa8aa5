"""The ops page draws lag over the last hour from a real Prometheus scraping the real relay, one
line per projection; with Prometheus gone, or not configured, the page still renders and says
why the chart is missing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import OPS_KEY, headers, place_one, put_product
from tests.helpers.metrics import wait_for_metrics
from tests.helpers.processes import ApiServer, Worker, free_port
from tests.helpers.prometheus import Prometheus, running_prometheus
from tests.helpers.waiting import wait_for

PROJECTIONS = {"summary", "search", "analytics"}  # every group the relay measures


@pytest.fixture
def prometheus() -> Iterator[Prometheus]:
    with running_prometheus() as server:
        yield server


def lag_section(api: ApiServer) -> str:
    """The lag-history section of the ops page, fetched as an ops script would."""
    page = httpx.get(f"{api.url}/ops?window=1h", headers=headers(OPS_KEY), timeout=30)
    assert page.status_code == 200, page.text[:500]
    assert "Stuck orders" in page.text and 'id="projections"' in page.text  # the rest renders
    found = re.search(r'<section[^>]*id="lag-history".*?</section>', page.text, re.S)
    assert found, "no lag section on the page"
    return found.group(0)


def charted(section: str, chart: str) -> set[str]:
    """The projections drawn in one of the section's charts."""
    found = re.search(rf'id="lag-chart-{chart}">(.*?)</svg>', section, re.S)
    return (
        set(re.findall(r'class="lag-series" data-projection="(\w+)"', found.group(1)))
        if found
        else set()
    )


def test_the_ops_page_draws_each_projections_lag_from_prometheus_and_survives_its_loss(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    prometheus: Prometheus,
) -> None:
    sd = {"prometheus_sd_dir": str(prometheus.targets)}
    api = start_api(prometheus_url=prometheus.url, **sd)
    relay_port = free_port()
    start_worker("relay", relay_metrics_port=str(relay_port), **sd)
    wait_for_metrics(relay_port, seconds=90)
    put_product(api.url, "SKU-LAG-HISTORY", on_hand=10)
    for _ in range(3):  # no projector runs: every projection lags by these events
        place_one(api.url, "SKU-LAG-HISTORY")
    wait_for(
        lambda: (
            {
                s["metric"]["projection"]
                for s in prometheus.query("orders_stream_group_lag_events > 0")
            }
            == PROJECTIONS
        ),
        "Prometheus scraped the relay's lag of every projection",
    )

    section = lag_section(api)
    assert 'data-lag-state="ok"' in section
    assert charted(section, "events") == PROJECTIONS
    assert charted(section, "seconds") == PROJECTIONS

    prometheus.stop()
    section = lag_section(api)
    assert 'data-lag-state="unavailable"' in section
    assert "Prometheus is not answering" in section and "<svg" not in section


def test_without_a_prometheus_url_the_page_says_the_lag_history_is_off(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    section = lag_section(start_api())
    assert 'data-lag-state="off"' in section
    assert "ORDERS_PROMETHEUS_URL is empty" in section
