"""Blue/green rebuild of the support index under traffic.

``orders-cqrs rebuild search`` builds ``orders-support-v2`` from the outbox while the live
projector keeps feeding ``orders-support-v1`` through the alias, swaps the alias in one
atomic update, drains what arrived meanwhile, and drops v1 after a grace period. Orders and
notes keep flowing the whole time and an agent keeps searching: the search never comes back
empty, and afterwards ``verify --projection search`` finds no drift.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from orders_cqrs.readmodels.search.index import ALIAS
from tests.helpers.api import CHECKOUT_KEY, SUPPORT_KEY, headers, order_body, put_product
from tests.helpers.processes import ApiServer, Worker, run_cli, run_verify
from tests.helpers.search import (
    api_log_tail,
    drain_stderr,
    opensearch_client,
    wait_for_support_index,
    wait_searchable,
)

SKU = "SKU-RB-SEARCH"
WATCHED = 12  # orders of the customer the agent keeps searching for
WATCHED_PREFIX = "ada.rebuild"


def watched_order(n: int, customer_id: str) -> dict[str, Any]:
    """An order of the watched customer, findable by the email prefix ``ada.rebuild``."""
    return order_body(
        items=[(SKU, 1)], customer_id=customer_id, email=f"{WATCHED_PREFIX}+{n}@example.com"
    )


def traffic(base_url: str, order_ids: list[str], stop: threading.Event, errors: list[str]) -> int:
    """Place orders and add notes until stopped; returns how many commands succeeded."""
    done = 0
    with httpx.Client(base_url=base_url, timeout=15) as client:
        while not stop.is_set():
            try:
                placed = client.post(
                    "/v1/orders",
                    json=order_body(
                        items=[(SKU, 1)], email=f"t.{uuid.uuid4().hex[:10]}@example.com"
                    ),
                    headers=headers(CHECKOUT_KEY, str(uuid.uuid4())),
                )
                if placed.status_code != 201:
                    errors.append(f"place: {placed.status_code} {placed.text[:200]}")
                    continue
                order_ids.append(placed.json()["order_id"])
                noted = client.post(
                    f"/v1/orders/{order_ids[len(order_ids) // 2]}/notes",
                    json={"body": f"traffic note {done}"},
                    headers=headers(SUPPORT_KEY, str(uuid.uuid4())),
                )
            except httpx.HTTPError as error:
                errors.append(f"{type(error).__name__}: {error}")
                continue
            if noted.status_code != 201:
                errors.append(f"note: {noted.status_code} {noted.text[:200]}")
                continue
            done += 2
    return done


def reader(base_url: str, stop: threading.Event, misses: list[str]) -> int:
    """Search for the watched customer until stopped; any answer but all of them is a miss."""
    reads = 0
    while not stop.is_set():
        with httpx.Client(base_url=base_url, timeout=15) as client:
            while not stop.is_set():
                reads += 1
                try:
                    got = client.get(
                        "/v1/support/orders",
                        params={"q": WATCHED_PREFIX, "size": 50},
                        headers=headers(SUPPORT_KEY),
                    )
                except httpx.HTTPError as error:  # the server dropped the connection
                    misses.append(f"{type(error).__name__}: {error}")
                    break  # a new connection
                if got.status_code != 200:
                    misses.append(f"{got.status_code}: {got.text[:200]}")
                elif got.json()["total"] != WATCHED:
                    misses.append(f"total {got.json()['total']} at {time.monotonic():.3f}")
    return reads


def aliased_indexes() -> dict[str, Any]:
    """Which concrete indexes the alias names right now."""
    client = opensearch_client()
    try:
        found: dict[str, Any] = client.indices.get_alias(name=ALIAS)
        return found
    finally:
        client.close()


def index_exists(name: str) -> bool:
    """Whether a concrete index of that name exists."""
    client = opensearch_client()
    try:
        return bool(client.indices.exists(index=name))
    finally:
        client.close()


def test_rebuild_under_traffic_swaps_the_alias_to_v2_and_search_never_comes_back_empty(
    db: psycopg.Connection[Any],
    fresh_search_state: None,
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    database_url: str,
) -> None:
    api = drain_stderr(start_api())
    start_worker("relay")
    wait_for_support_index(start_worker("project", "search"))
    assert set(aliased_indexes()) == {"orders-support-v1"}
    put_product(api.url, SKU, on_hand=100_000)
    customer = str(uuid.uuid4())
    with httpx.Client(base_url=api.url, timeout=15) as client:
        watched = []
        for n in range(WATCHED):
            placed = client.post(
                "/v1/orders",
                json=watched_order(n, customer),
                headers=headers(CHECKOUT_KEY, str(uuid.uuid4())),
            )
            assert placed.status_code == 201, placed.text
            watched.append(placed.json()["order_id"])
        found = wait_searchable(client, dict.fromkeys(watched, 1), q=WATCHED_PREFIX)
        assert found["total"] == WATCHED

    stop = threading.Event()
    order_ids: list[str] = list(watched)
    misses: list[str] = []
    errors: list[str] = []
    results: dict[str, int] = {}
    threads = [
        threading.Thread(
            target=lambda: results.update(writes=traffic(api.url, order_ids, stop, errors))
        ),
        threading.Thread(target=lambda: results.update(reads=reader(api.url, stop, misses))),
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        started = time.monotonic()
        rebuild = run_cli(database_url, "rebuild", "search")
        rebuild_seconds = time.monotonic() - started
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    assert "orders-support-v1 → orders-support-v2" in rebuild.stdout, rebuild.stdout
    print(
        f"\nrebuild took {rebuild_seconds:.1f} s: {rebuild.stdout.strip().splitlines()[-1]};"
        f" {results.get('reads')} searches, {results.get('writes')} commands meanwhile"
    )

    # Readers and the live projector now use v2 only; v1 is gone after its grace period.
    assert set(aliased_indexes()) == {"orders-support-v2"}
    assert not index_exists("orders-support-v1")

    # The live projector follows the alias: a new order lands in v2 and is searchable.
    with httpx.Client(base_url=api.url, timeout=15) as client:
        late = client.post(
            "/v1/orders",
            json=watched_order(WATCHED, customer),
            headers=headers(CHECKOUT_KEY, str(uuid.uuid4())),
        )
        assert late.status_code == 201, late.text
        order_ids.append(late.json()["order_id"])
        found = wait_searchable(client, {late.json()["order_id"]: 1}, q=WATCHED_PREFIX)
        assert found["total"] == WATCHED + 1

    verify = run_verify(database_url, wait=30, projections=("search",))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    line = re.search(r"^search\s+(\d+)\s+0\s+0\s+0\s+0\s+0\s*$", verify.stdout, re.MULTILINE)
    assert line is not None and int(line.group(1)) == len(set(order_ids)), verify.stdout

    # What the agent saw during the rebuild: never fewer orders (least of all none), no error.
    short = [miss for miss in misses if miss.startswith("total ")]
    assert short == [], f"{len(short)} of {results.get('reads')} searches came back short: {short}"
    assert errors == [], errors[:5]
    assert misses == [], (
        f"{len(misses)} of {results.get('reads')} searches failed: {misses[:5]}\n"
        f"{api_log_tail(api)}"
    )
    assert results["reads"] > 50 and results["writes"] > 20, results
