"""Analytics is rebuilt like the other read models, and ``verify`` compares it too.

chDB lives inside one process: the API that projects analytics is the one that rebuilds it
(``POST /v1/projections/analytics/rebuild``); the CLI against a directory the API holds
refuses with a message that says where to go instead. Once the API is stopped, the CLI can
open the directory: ``verify`` compares every order's version and status there.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from orders_cqrs.readmodels.analytics.session import ConnectSession
from tests.helpers.api import OPS_KEY, headers
from tests.helpers.processes import ApiServer, run_cli
from tests.helpers.seeding import seed_orders
from tests.helpers.stream_checks import unpublished
from tests.helpers.waiting import wait_until

ORDERS, DURING = 150, 30


def analytics_status(api: ApiServer) -> dict[str, Any]:
    listing = httpx.get(f"{api.url}/v1/projections", headers=headers(OPS_KEY), timeout=10).json()
    return next(p for p in listing["projections"] if p["name"] == "analytics")


def orders_placed(api: ApiServer) -> int:
    """Orders the time-series dashboard counts (it reads ``order_events`` FINAL)."""
    got = httpx.get(
        f"{api.url}/v1/dashboards/orders",
        params={"interval": "day", "by": "none"},
        headers=headers(OPS_KEY),
        timeout=10,
    ).json()
    return sum(p["orders_placed"] for s in got["series"] for p in s["points"])


def verify_analytics(database_url: str, chdb: str, slo: str = "60") -> dict[str, int]:
    done = run_cli(
        database_url,
        *("verify", "--wait", "5", "--projection", "analytics"),
        clickhouse_url=chdb,
        freshness_slo_seconds=slo,
    )
    lines = done.stdout.splitlines()
    header = next(line.split() for line in lines if line.startswith("projection"))
    row = next(line.split() for line in lines if line.startswith("analytics"))
    counts = dict(zip(header[1:], (int(n) for n in row[1:]), strict=True))
    counts["exit"] = done.returncode
    return counts


def test_analytics_rebuild_over_http_swaps_in_a_generation_with_every_order(
    db: psycopg.Connection[Any], dashboards_api: ApiServer, database_url: str, tmp_path: Path
) -> None:
    api, chdb = dashboards_api, f"chdb://{tmp_path / 'chdb'}"
    seed_orders(database_url, ORDERS)
    wait_until(lambda: orders_placed(api) == ORDERS, 90, "analytics caught up")

    refused = run_cli(database_url, "rebuild", "analytics", timeout=60, clickhouse_url=chdb)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "another process holds it" in refused.stderr
    assert "POST /v1/projections/analytics/rebuild" in refused.stderr

    during = threading.Thread(target=seed_orders, args=(database_url, DURING))
    during.start()
    started = httpx.post(
        f"{api.url}/v1/projections/analytics/rebuild", headers=headers(OPS_KEY, str(uuid.uuid4()))
    )
    assert started.status_code == 202, started.text
    during.join()
    deadline, state = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        state = analytics_status(api)["rebuild"] or {}
        if state.get("state") not in (None, "running"):
            break
        time.sleep(0.2)
    assert state["state"] == "done", state
    assert (state["old_generation"], state["new_generation"]) == ("v1", "v2"), state
    assert state["scanned"] >= ORDERS, state
    wait_until(lambda: unpublished(db) == 0, 30, "every order published")
    wait_until(lambda: orders_placed(api) == ORDERS + DURING, 30, "dashboards count every order")

    api.stop()  # releases the chDB directory
    assert verify_analytics(database_url, chdb) == {
        "checked": ORDERS + DURING,
        "missing": 0,
        "behind": 0,
        "ahead": 0,
        "status": 0,
        "in_flight": 0,
        "exit": 0,
    }
    assert chdb_tables(chdb) == {"order_state", "order_events", "schema_migrations"}


def test_verify_reports_analytics_orders_missing_or_with_another_status(
    db: psycopg.Connection[Any], database_url: str, tmp_path: Path
) -> None:
    chdb = f"chdb://{tmp_path / 'chdb'}"
    order_ids = seed_orders(database_url, 20)
    built = run_cli(database_url, "rebuild", "analytics", timeout=120, clickhouse_url=chdb)
    assert built.returncode == 0, built.stdout + built.stderr  # nobody holds the directory
    assert verify_analytics(database_url, chdb)["exit"] == 0

    tamper(chdb, missing=order_ids[0], cancelled=order_ids[1])

    # No relay runs here, so the backlog never drains: with an SLO of 0 nothing is in flight.
    drifted = verify_analytics(database_url, chdb, slo="0")
    assert (drifted["exit"], drifted["missing"], drifted["status"]) == (1, 1, 1), drifted


def chdb_tables(chdb: str) -> set[str]:
    """The tables in the chDB directory (opened in this process, then released)."""

    async def work() -> set[str]:
        session = ConnectSession(chdb)
        try:
            rows = await session.query(
                "SELECT name FROM system.tables WHERE database = currentDatabase()"
            )
            return {str(row["name"]) for row in rows}
        finally:
            await session.close()

    return asyncio.run(work())


def tamper(chdb: str, *, missing: str, cancelled: str) -> None:
    """One order deleted from ``order_state``, another's status changed at its version."""

    async def work() -> None:
        session = ConnectSession(chdb)
        try:
            await session.command(
                "DELETE FROM order_state WHERE order_id = {id:UUID}", {"id": missing}
            )
            await session.command(
                "INSERT INTO order_state SELECT * REPLACE ('CANCELLED' AS status)"
                " FROM order_state FINAL WHERE order_id = {id:UUID}",
                {"id": cancelled},
            )
        finally:
            await session.close()

    asyncio.run(work())
