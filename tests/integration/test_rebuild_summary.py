"""Blue/green rebuild under traffic: zero drift afterwards, and readers never see an empty model."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import redis

from tests.helpers.api import (
    CHECKOUT_KEY,
    OPS_KEY,
    headers,
    place_one,
    put_product,
    read_order,
)
from tests.helpers.processes import ApiServer, run_cli, run_verify
from tests.helpers.stores import TEST_REDIS_URL
from tests.helpers.traffic import checkouts_and_notes
from tests.helpers.waiting import wait_until_projected


def _reader(base_url: str, watched: list[str], stop: threading.Event, misses: list[str]) -> int:
    """Read orders that were already projected; any 404 means a reader saw an empty model."""
    reads = 0
    with httpx.Client(base_url=base_url, timeout=10) as client:
        while not stop.is_set():
            for order_id in watched:
                got = client.get(f"/v1/orders/{order_id}", headers=headers(CHECKOUT_KEY))
                reads += 1
                if got.status_code != 200:
                    misses.append(f"{order_id}: {got.status_code}")
    return reads


def test_rebuild_under_traffic_flips_namespace_with_zero_drift_and_no_empty_reads(
    start_pipeline: Callable[..., ApiServer], database_url: str
) -> None:
    api = start_pipeline()
    put_product(api.url, "SKU-RB", on_hand=100_000)
    watched = [place_one(api.url, "SKU-RB") for _ in range(20)]
    for order_id in watched:
        wait_until_projected(api.url, order_id, 1)

    stop = threading.Event()
    order_ids: list[str] = list(watched)
    misses: list[str] = []
    results: dict[str, int] = {}
    threads = [
        threading.Thread(
            target=lambda: results.update(
                writes=checkouts_and_notes(api.url, "SKU-RB", order_ids, stop)
            )
        ),
        threading.Thread(
            target=lambda: results.update(reads=_reader(api.url, watched, stop, misses))
        ),
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    rebuild = run_cli(database_url, "rebuild", "summary")
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    assert "v1 → v2" in rebuild.stdout
    assert misses == []
    assert results["reads"] > 50 and results["writes"] > 20, results
    store = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    assert store.get("summary:active") == "v2"
    assert not list(store.scan_iter(match="summary:v1:*", count=1000))
    verify = run_verify(database_url)
    assert verify.returncode == 0, verify.stdout
    assert f"{len(set(order_ids))}" in verify.stdout


def test_ops_can_start_a_rebuild_over_http_and_see_it_finish(
    start_pipeline: Callable[..., ApiServer], database_url: str
) -> None:
    api = start_pipeline()
    put_product(api.url, "SKU-RB", on_hand=10)
    order_id = place_one(api.url, "SKU-RB")
    wait_until_projected(api.url, order_id, 1)
    started = httpx.post(
        f"{api.url}/v1/projections/summary/rebuild", headers=headers(OPS_KEY, str(uuid.uuid4()))
    )
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 30
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        listing = httpx.get(f"{api.url}/v1/projections", headers=headers(OPS_KEY)).json()
        state = listing["projections"][0]["rebuild"]
        if state["state"] != "running":
            break
        time.sleep(0.1)
    assert state["state"] == "done", state
    assert (state["old_generation"], state["new_generation"]) == ("v1", "v2"), state
    assert state["started_by"].startswith("ops:") and state["finished_at"] is not None, state
    assert read_order(api.url, order_id).status_code == 200
    assert run_verify(database_url).returncode == 0
    unknown = httpx.post(
        f"{api.url}/v1/projections/nope/rebuild", headers=headers(OPS_KEY, str(uuid.uuid4()))
    )
    assert unknown.status_code == 404
