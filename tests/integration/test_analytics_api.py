"""Dashboards end to end: real API (projecting analytics in-process on its own chDB path) and
relay processes; orders placed, authorized and declined over HTTP show up in both dashboards,
each answer saying how fresh it is."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.helpers.api import (
    CHECKOUT_KEY,
    OPS_KEY,
    authorize,
    headers,
    place_in,
    put_product,
)
from tests.helpers.processes import ApiServer, run_cli

SKU = "SKU-DASH"


def poll(url: str, params: dict[str, str], ready: Callable[[dict[str, Any]], bool]) -> Any:
    """GET until ``ready`` holds for the answer (the projection runs asynchronously)."""
    deadline, body = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        got = httpx.get(url, params=params, headers=headers(OPS_KEY), timeout=10)
        if got.status_code == 200:
            body = got.json()
            if ready(body):
                return body
        time.sleep(0.2)
    raise AssertionError(f"never ready: {body}")


def test_orders_placed_authorized_and_declined_reach_both_dashboards_with_freshness(
    db: psycopg.Connection[Any], dashboards_api: ApiServer
) -> None:
    api = dashboards_api
    put_product(api.url, SKU, on_hand=50)
    since = datetime.now(UTC) - timedelta(minutes=1)
    pending_card = place_in(api.url, SKU, "Berlin", "sandbox-card")
    approved = place_in(api.url, SKU, "Berlin", "sandbox-card")
    declined = place_in(api.url, SKU, "Madrid", "sandbox-wallet", "tok_decline")
    pending_wallet = place_in(api.url, SKU, "Madrid", "sandbox-wallet")
    assert authorize(api.url, approved).json()["status"] == "AUTHORIZED"
    assert authorize(api.url, declined).json()["status"] == "PAYMENT_DECLINED"
    time.sleep(1.2)  # past the 1 s SLAs
    last_event = db.execute("SELECT event_id::text FROM outbox ORDER BY position DESC").fetchone()

    stuck = poll(
        f"{api.url}/v1/dashboards/stuck-orders",
        {"group_by": "status,region,provider", "drill": "true"},
        lambda b: b["freshness"]["lag_events"] == 0 and b["total"] == 3,
    )
    groups = {(g["status"], g["region"], g["provider"]): g for g in stuck["groups"]}
    assert {key: g["orders"] for key, g in groups.items()} == {
        ("PENDING_PAYMENT", "Berlin", "sandbox-card"): 1,
        ("PENDING_PAYMENT", "Madrid", "sandbox-wallet"): 1,
        ("AUTHORIZED", "Berlin", "sandbox-card"): 1,
    }
    drilled = {o["order_id"] for g in stuck["groups"] for o in g["orders_oldest_first"]}
    assert drilled == {pending_card, pending_wallet, approved}
    freshness = stuck["freshness"]
    assert last_event is not None and freshness["last_event_id"] == last_event[0]
    assert (freshness["projection"], freshness["dead_letters"]) == ("analytics", 0)
    assert freshness["lag_seconds"] == 0 and freshness["last_position"] == 6

    series = httpx.get(
        f"{api.url}/v1/dashboards/orders",
        params={"interval": "minute", "by": "provider", "from": since.isoformat()},
        headers=headers(OPS_KEY),
    ).json()
    totals = {
        s["key"]: {
            k: sum(p[k] for p in s["points"]) for k in ("orders_placed", "authorized", "declined")
        }
        for s in series["series"]
    }
    assert totals == {
        "sandbox-card": {"orders_placed": 2, "authorized": 1, "declined": 0},
        "sandbox-wallet": {"orders_placed": 2, "authorized": 0, "declined": 1},
    }
    assert series["decline_rate_by_provider"]["sandbox-wallet"]["decline_rate"] == 1.0
    assert series["freshness"]["last_event_id"] == last_event[0]

    listed = httpx.get(f"{api.url}/v1/projections", headers=headers(OPS_KEY)).json()
    analytics = next(p for p in listed["projections"] if p["name"] == "analytics")
    assert (analytics["applied"], analytics["lag_events"]) == (6, 0)


def test_dashboards_are_for_ops_and_refuse_bad_parameters_as_problems(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], tmp_path: Path
) -> None:
    api = start_api(clickhouse_url=f"chdb://{tmp_path / 'chdb'}")
    url = f"{api.url}/v1/dashboards/stuck-orders"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=headers(CHECKOUT_KEY)).status_code == 403
    for params in (
        {"group_by": "customer"},
        {"older_than": "-1"},
        {"older_than": "15x"},
        {"older_than": "PT"},
        {"older_than": "P1H"},
        {"older_than": "1.5h"},
        {"limit": "0"},
    ):
        bad = httpx.get(url, params=params, headers=headers(OPS_KEY))
        assert bad.status_code == 422, bad.text
        assert bad.headers["content-type"] == "application/problem+json"
    for written in ("5400", "5400s", "90m", "PT1H30M", "PT90M", "PT5400S"):
        stuck = httpx.get(url, params={"older_than": written}, headers=headers(OPS_KEY))
        assert stuck.status_code == 200, (written, stuck.text)
        assert set(stuck.json()["sla_seconds"].values()) == {5400}, (written, stuck.text)
    day = httpx.get(url, params={"older_than": "P1DT2H"}, headers=headers(OPS_KEY))
    assert set(day.json()["sla_seconds"].values()) == {26 * 3600}, day.text
    series = f"{api.url}/v1/dashboards/orders"
    for params in (
        {"interval": "week"},
        {"from": "2025-01-02T00:00:00Z", "to": "2025-01-01T00:00:00Z"},
        {"interval": "minute", "from": "2020-01-01T00:00:00Z"},
    ):
        bad = httpx.get(series, params=params, headers=headers(OPS_KEY))
        assert bad.status_code == 422, bad.text
    empty = httpx.get(url, params={"group_by": ""}, headers=headers(OPS_KEY))
    assert empty.status_code == 200 and empty.json()["groups"] == []


def test_without_clickhouse_the_dashboards_say_so_with_a_503(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer]
) -> None:
    api = start_api(clickhouse_url="")
    got = httpx.get(f"{api.url}/v1/dashboards/orders", headers=headers(OPS_KEY))
    assert got.status_code == 503
    assert got.json()["type"].endswith("/unavailable")
    assert "ORDERS_CLICKHOUSE_URL" in got.json()["detail"]
    rebuild = httpx.post(
        f"{api.url}/v1/projections/analytics/rebuild", headers=headers(OPS_KEY, str(uuid.uuid4()))
    )
    assert rebuild.status_code == 404 and rebuild.json()["type"].endswith("/not-found")


def test_a_separate_analytics_projector_refuses_chdb_with_a_clear_message(
    database_url: str, tmp_path: Path
) -> None:
    done = run_cli(
        database_url,
        "project",
        "analytics",
        timeout=60,
        clickhouse_url=f"chdb://{tmp_path / 'chdb'}",
    )
    assert done.returncode == 2
    assert "chDB is in-process: the API process projects analytics" in done.stderr
