"""Every query of every Grafana dashboard panel returns data from a real Prometheus scraping the
real API, relay and projectors after a short checkout load: no dead metric name, no label the
service does not export, no PromQL Prometheus refuses.

Grafana is not needed: its ``$__rate_interval`` becomes a fixed window (the test Prometheus
scrapes every second). One setup serves every query; the failures are collected and reported
together, each naming its dashboard, panel and query.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import (
    CHECKOUT_KEY,
    OPS_KEY,
    SUPPORT_KEY,
    authorize,
    command,
    headers,
    order_body,
    place,
    put_product,
)
from tests.helpers.metrics import wait_for_metrics
from tests.helpers.processes import ApiServer, Worker, free_port
from tests.helpers.prometheus import Prometheus, running_prometheus
from tests.helpers.stores import ROOT
from tests.helpers.waiting import wait_for

DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
RATE_WINDOW = "30s"
SKU = "SKU-DASHBOARDS"


@pytest.fixture
def prometheus() -> Iterator[Prometheus]:
    with running_prometheus() as server:
        yield server


def panel_queries() -> list[tuple[str, str]]:
    """(dashboard: panel [refId], expr) of every query of every dashboard."""
    found = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                where = f"{dashboard['uid']}: {panel['title']} [{target['refId']}]"
                found.append((where, target["expr"].replace("$__rate_interval", RATE_WINDOW)))
    return found


def checkout_load(base_url: str) -> None:
    """Approved, declined, captured, refunded (and a refund refused), cancelled (a void), and
    requests for an order and a path that do not exist."""
    put_product(base_url, SKU, on_hand=100, price=1500)
    ids = []
    for token in ("tok_approve", "tok_approve", "tok_approve", "tok_decline"):
        placed = place(base_url, order_body(items=[(SKU, 1)], token=token))
        assert placed.status_code == 201, placed.text
        ids.append(placed.json()["order_id"])
        assert authorize(base_url, ids[-1]).status_code < 500
    captured, cancelled = ids[0], ids[1]
    assert command(base_url, captured, "capture", str(uuid.uuid4()), OPS_KEY).status_code == 200
    for amount, status in ((500, 201), (99_999, 422)):  # the second breaks the refund rule
        body = {"amount": {"amount": amount, "currency": "EUR"}, "reason": "damaged"}
        refund = command(base_url, captured, "refunds", str(uuid.uuid4()), SUPPORT_KEY, body)
        assert refund.status_code == status, refund.text
    cancel = command(base_url, cancelled, "cancel", str(uuid.uuid4()), CHECKOUT_KEY)
    assert cancel.status_code == 200, cancel.text
    missing = httpx.get(f"{base_url}/v1/orders/{uuid.uuid4()}", headers=headers(CHECKOUT_KEY))
    assert missing.status_code == 404
    assert httpx.get(f"{base_url}/v1/no-such-thing").status_code == 404


def test_every_dashboard_query_returns_data_from_the_live_prometheus(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    prometheus: Prometheus,
    tmp_path: Path,
) -> None:
    sd = {"prometheus_sd_dir": str(prometheus.targets)}
    # chDB is in-process: the API projects analytics itself, the summary has its projector.
    api = start_api(clickhouse_url=f"chdb://{tmp_path / 'chdb'}", **sd)
    ports = {"relay": free_port(), "summary": free_port()}
    start_worker("relay", relay_metrics_port=str(ports["relay"]), relay_poll_seconds="0.2", **sd)
    start_worker("project", "summary", projection_metrics_port=str(ports["summary"]), **sd)
    for port in ports.values():
        wait_for_metrics(port, seconds=120)
    wait_for(
        lambda: (
            prometheus.targets_up() == {"orders-api": 1, "orders-relay": 1, "orders-projector": 1}
        ),
        "every process scraped",
    )

    checkout_load(api.url)
    applied = 'orders_projection_freshness_seconds_count{projection="%s"}'
    wait_for(
        lambda: all(prometheus.value(applied % p) for p in ("summary", "analytics")),
        "both projections applied the load and were scraped",
        seconds=90,
    )
    # A few scrapes and rule evaluations after the load, so every rate has samples to use.
    loaded = time.time()
    wait_for(
        lambda: (prometheus.value('timestamp(up{job="orders-relay"})') or 0) > loaded + 3,
        "a few more scrapes",
        seconds=30,
    )

    queries = panel_queries()
    assert len(queries) > 30
    failures = []
    for where, expr in queries:
        try:
            if not prometheus.query(expr):
                failures.append(f"{where}: no data: {expr}")
        except AssertionError as error:
            failures.append(f"{where}: refused ({error}): {expr}")
    assert failures == [], "\n".join(failures)
