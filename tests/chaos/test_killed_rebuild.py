"""A rebuild killed with ``kill -9`` holds neither the stream nor the next rebuild hostage.

Its consumer group stays behind on the stream, unread. Retention counts only live groups
(the projections', and those of rebuilds whose lease is held), so the stream still trims;
``GET /v1/projections`` lists the group as orphaned; the next rebuild of the projection
removes it and succeeds, and ``orders-cqrs cleanup`` removes such groups too, never a running
rebuild's.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
import redis

from tests.helpers.api import OPS_KEY, headers
from tests.helpers.processes import ApiServer, Worker, run_cli, worker_env
from tests.helpers.rebuilds import rebuild_lease_held, search_pipeline_with_orders
from tests.helpers.seeding import seed_orders
from tests.helpers.stores import ROOT, TEST_REDIS_URL
from tests.helpers.stream_checks import assert_verified
from tests.helpers.waiting import wait_until

ORDERS = 2000
LATE_ORDERS = 20
ALIAS = "orders-chaos-killed"  # its own alias: OpenSearch is shared with other suites
SEARCH = {"search_alias": ALIAS}
STREAM = "orders.events"

pytestmark = pytest.mark.slow


def groups(store: redis.Redis) -> dict[str, dict[str, Any]]:
    """The stream's consumer groups by name."""
    try:
        return {g["name"]: g for g in store.xinfo_groups(STREAM)}
    except redis.ResponseError:
        return {}


def caught_up(store: redis.Redis, group: str) -> bool:
    """Whether ``group`` has read and acknowledged the whole stream."""
    info = groups(store).get(group)
    if info is None or int(info["pending"]):
        return False
    last = store.xrevrange(STREAM, count=1)
    return not last or info["last-delivered-id"] == last[0][0]


def test_a_rebuild_killed_after_its_group_exists_neither_blocks_trimming_nor_the_next_rebuild(
    db: psycopg.Connection[Any],
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    database_url: str,
) -> None:
    retention = {**SEARCH, "stream_retention_seconds": "0"}
    api, relay = search_pipeline_with_orders(
        start_api, start_worker, database_url, alias=ALIAS, orders=ORDERS, relay=retention
    )
    store = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    wait_until(lambda: caught_up(store, "search"), 120, "the search projector's catch-up")

    rebuild = subprocess.Popen(
        [sys.executable, "-m", "orders_cqrs.entrypoints.cli", "rebuild", "search"],
        cwd=ROOT,
        env={**os.environ, **worker_env(database_url, SEARCH)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: any("-rebuild-" in name for name in groups(store)),
            60,
            "the rebuild's consumer group",
            poll=0.01,
        )
    finally:
        rebuild.kill()
        rebuild.wait()
    assert rebuild.returncode == -9, "the rebuild finished before it could be killed"
    orphan = next(name for name in groups(store) if "-rebuild-" in name)

    # Orders go on; the orphan never reads them, the live projector acknowledges them all.
    seed_orders(database_url, LATE_ORDERS)
    wait_until(lambda: caught_up(store, "search"), 60, "the search projector's catch-up")
    listed = httpx.get(f"{api.url}/v1/projections", headers=headers(OPS_KEY), timeout=10)

    # The relay's retention (a fresh relay trims at once) drops what the live group acked.
    relay.stop()
    start_worker("relay", **retention)
    wait_until(lambda: store.xlen(STREAM) == 0, 30, "the relay trimming the acknowledged stream")
    assert orphan in groups(store)  # ignored by retention, not removed behind ops' back

    # Ops saw the group that nobody reads, with its lag, and the rebuild that died.
    assert listed.status_code == 200, listed.text
    entry = next(g for g in listed.json()["groups"] if g["name"] == orphan)
    assert entry["kind"] == "orphaned" and entry["lag_events"] >= LATE_ORDERS, entry
    record = next(p for p in listed.json()["projections"] if p["name"] == "search")["rebuild"]
    assert record["state"] == "interrupted" and record["consumer_group"] == orphan, record

    # The next rebuild removes the orphan and succeeds.
    again = run_cli(database_url, "rebuild", "search", timeout=300, **SEARCH)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{ALIAS}-v1 → {ALIAS}-v2" in again.stdout, again.stdout
    assert [name for name in groups(store) if "-rebuild-" in name] == []
    assert_verified(database_url, ORDERS + LATE_ORDERS, ("search",), wait=60, settings=SEARCH)


async def _cleanup_while_a_rebuild_runs(database_url: str) -> tuple[str, list[dict[str, Any]]]:
    """Run ``orders-cqrs cleanup`` while this process holds the search rebuild's lease."""
    async with rebuild_lease_held(database_url, "search", "a running rebuild") as (
        container,
        lease,
    ):
        running = "search-rebuild-orders-support-v7"
        await lease.planned(old="orders-support-v6", new="orders-support-v7", group=running)
        await container.redis.xgroup_create(STREAM, running, id="$", mkstream=True)
        done = await asyncio.to_thread(run_cli, database_url, "cleanup")
        assert done.returncode == 0, done.stdout + done.stderr
        listed = await container.admin.groups()
    return done.stdout, listed


def test_cleanup_removes_dead_rebuilds_groups_only(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    store = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    store.xadd(STREAM, {"n": "1"})
    for group in ("summary", "summary-rebuild-v2", "retired-projection"):
        store.xgroup_create(STREAM, group, id="0")

    out, listed = asyncio.run(_cleanup_while_a_rebuild_runs(database_url))

    assert "removed 1 consumer group(s) of rebuilds that died: summary-rebuild-v2" in out, out
    kinds = {g["name"]: g["kind"] for g in listed}
    assert kinds == {
        "summary": "projection",
        "search-rebuild-orders-support-v7": "rebuild",
        "retired-projection": "orphaned",
    }, kinds
    assert set(groups(store)) == set(kinds)
