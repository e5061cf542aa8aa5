"""Invariants 9 and 10 for the support index: OpenSearch down, and a document it can never take.

Stops the real OpenSearch (``scripts/services stop opensearch``) under a running API, relay and
summary and search projectors. Checkouts and summary reads must not notice; the search
projection must retry (lag visible to ops, nothing dead-lettered) and catch up by itself once
OpenSearch is back. The ``opensearch_outage`` fixture always starts OpenSearch again, even when
the test fails.

A document OpenSearch refuses for good (a mapping conflict) is the opposite case: it must be
retried a bounded number of times, parked with OpenSearch's error, and not hold back the
orders after it.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, SUPPORT_KEY, headers, put_product
from tests.helpers.metrics import metric
from tests.helpers.outage import StoreOutage, place_many
from tests.helpers.problems import assert_unavailable_problem
from tests.helpers.processes import ApiServer, Worker, free_port
from tests.helpers.search import (
    drain_stderr,
    wait_for_support_index,
    wait_searchable,
)
from tests.helpers.stream_checks import assert_verified
from tests.helpers.waiting import wait_for, wait_until_projected

SKU = "SKU-OS-OUTAGE"
ORDERS_IN_OUTAGE = 50
# Another session may start OpenSearch while ours is stopped (the browser tests start it when
# it is down): such a window is redone, up to this many times (see StoreOutage).
OUTAGE_ATTEMPTS = 3


def projection_status(client: httpx.Client, name: str) -> dict[str, Any]:
    """One projection's entry of GET /v1/projections."""
    got = client.get("/v1/projections", headers=headers(OPS_KEY), timeout=10)
    assert got.status_code == 200, got.text
    status: dict[str, Any] = next(p for p in got.json()["projections"] if p["name"] == name)
    return status


def search_dead_letters(db: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every dead letter of the search projection."""
    cursor = db.execute(
        "SELECT event_id::text, aggregate_id::text, aggregate_version, error, attempts,"
        " replayed_at FROM projection_dead_letters WHERE projection = 'search' ORDER BY id"
    )
    names = [c.name for c in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_checkout_and_summary_are_unaffected_and_search_catches_up_after_an_opensearch_outage(
    db: psycopg.Connection[Any],
    fresh_search_state: None,
    start_pipeline: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    opensearch_outage: StoreOutage,
    database_url: str,
) -> None:
    api = drain_stderr(start_pipeline())
    projector_port = free_port()
    search_projector = start_worker(
        "project", "search", projection_metrics_port=str(projector_port)
    )
    wait_for_support_index(search_projector)
    put_product(api.url, SKU, on_hand=ORDERS_IN_OUTAGE * (OUTAGE_ATTEMPTS + 2))
    retries = "orders_projection_retries_total"

    with httpx.Client(base_url=api.url, timeout=30) as client:
        # The first checkouts are also the warm-up: pools, first requests.
        up_ids, up_latencies = place_many(client, SKU, 20)
        wait_searchable(client, dict.fromkeys(up_ids, 1))
        retries_before = metric(projector_port, retries, projection="search") or 0.0

        down_ids: list[str] = []
        down_latencies: list[float] = []
        status: dict[str, Any] = {}
        for _ in opensearch_outage.windows(OUTAGE_ATTEMPTS):
            down_ids, down_latencies = place_many(client, SKU, ORDERS_IN_OUTAGE)
            # The summary does not depend on OpenSearch: the last checkout is readable.
            wait_until_projected(api.url, down_ids[-1], 1, seconds=30)
            summary = client.get(f"/v1/orders/{down_ids[0]}", headers=headers(CHECKOUT_KEY))
            assert summary.status_code == 200 and summary.json()["order_id"] == down_ids[0]
            # Search says it is unavailable; it does not fail with a 500 or answer stale data.
            assert_unavailable_problem(
                client.get(
                    "/v1/support/orders", params={"q": "outage"}, headers=headers(SUPPORT_KEY)
                )
            )
            # Ops see the search projection falling behind, and retrying.
            wait_for(
                lambda: projection_status(client, "search")["lag_events"] >= ORDERS_IN_OUTAGE,
                "the search lag to count the outage's events",
                seconds=20,
            )
            wait_for(
                lambda: (
                    (metric(projector_port, retries, projection="search") or 0)
                    >= retries_before + 3
                ),
                "the search projector to retry",
                seconds=20,
            )
            status = projection_status(client, "search")

        assert projection_status(client, "summary")["lag_events"] == 0
        assert status["dead_letters"] == 0 and status["dead_letters_total"] == 0, status
        assert search_dead_letters(db) == []
        assert search_projector.process is not None and search_projector.process.poll() is None

        p50_up, p50_down = statistics.median(up_latencies), statistics.median(down_latencies)
        print(
            f"\ncheckout p50 with OpenSearch up: {p50_up * 1000:.1f} ms,"
            f" down: {p50_down * 1000:.1f} ms; search status during the outage: {status}"
        )
        assert p50_down < max(3 * p50_up, p50_up + 0.05), (p50_up, p50_down)

        opensearch_outage.start()
        placed = db.execute("SELECT count(*) FROM orders").fetchone()
        assert placed is not None
        assert_verified(database_url, placed[0], projections=("summary", "search"), wait=90)

        # Searchable again, the outage's orders included, and nothing was parked.
        wait_searchable(client, dict.fromkeys(down_ids, 1))
        assert search_dead_letters(db) == []
        assert projection_status(client, "search")["dead_letters"] == 0


def test_ops_see_search_retries_in_the_projection_status_while_opensearch_is_down(
    db: psycopg.Connection[Any],
    fresh_search_state: None,
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
    opensearch_outage: StoreOutage,
) -> None:
    """GET /v1/projections is the ops view: its ``retries`` must move while the store is down."""
    api = drain_stderr(start_api())
    start_worker("relay")
    projector_port = free_port()
    wait_for_support_index(
        start_worker("project", "search", projection_metrics_port=str(projector_port))
    )
    put_product(api.url, SKU, on_hand=100)
    retries = "orders_projection_retries_total"
    with httpx.Client(base_url=api.url, timeout=30) as client:
        first, _ = place_many(client, SKU, 1)
        wait_searchable(client, dict.fromkeys(first, 1))
        before = projection_status(client, "search")
        retried_before = metric(projector_port, retries, projection="search") or 0.0
        seen: list[dict[str, Any]] = []
        for _ in opensearch_outage.windows(OUTAGE_ATTEMPTS):
            place_many(client, SKU, 5)
            deadline = time.monotonic() + 15  # the engine's backoff is at most 5 s
            while time.monotonic() < deadline:
                seen.append(projection_status(client, "search"))
                if seen[-1]["retries"] > before["retries"] and seen[-1]["lag_events"] >= 5:
                    break
                time.sleep(0.5)
        retried = (metric(projector_port, retries, projection="search") or 0.0) - retried_before
    assert seen[-1]["lag_events"] >= 5, seen[-1]
    assert seen[-1]["dead_letters"] == 0, seen[-1]
    assert retried >= 1, f"the projector itself did not retry: {retries} grew by {retried}"
    assert seen[-1]["retries"] > before["retries"], (
        f"the search projector retried {retried:.0f} times ({retries}) but GET /v1/projections"
        f" reports retries={seen[-1]['retries']} (before: {before['retries']}): {seen[-1]}"
    )


def insert_unindexable(db: psycopg.Connection[Any], order_id: str, version: int) -> str:
    """An outbox row for a real order at a new version whose snapshot's total is not a number.

    ``document()`` copies it into ``total_amount``, mapped as ``long``: OpenSearch answers
    400 mapper_parsing_exception, every time.
    """
    row = db.execute(
        "SELECT payload -> 'order' FROM outbox WHERE aggregate_id = %s AND aggregate_version = %s",
        (order_id, version - 1),
    ).fetchone()
    assert row is not None
    snapshot = {**row[0], "version": version, "total": {"amount": "lots", "currency": "EUR"}}
    event_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO outbox (event_id, aggregate_id, aggregate_version, event_type,"
        " schema_version, headers, payload) VALUES (%s, %s, %s, 'SupportNoteAdded', 1,"
        " '{}'::jsonb, %s::jsonb)",
        (event_id, order_id, version, json.dumps({"order": snapshot, "facts": {}})),
    )
    return event_id


def test_a_document_opensearch_refuses_is_dead_lettered_with_its_error_and_search_moves_on(
    db: psycopg.Connection[Any],
    fresh_search_state: None,
    start_api: Callable[..., ApiServer],
    start_worker: Callable[..., Worker],
) -> None:
    api = drain_stderr(start_api())
    start_worker("relay")
    wait_for_support_index(
        start_worker(
            "project",
            "search",
            projection_max_attempts="2",
            projection_retry_base_seconds="0.05",
        )
    )
    put_product(api.url, SKU, on_hand=100)
    with httpx.Client(base_url=api.url, timeout=30) as client:
        (victim,), _ = place_many(client, SKU, 1)
        wait_searchable(client, {victim: 1})

        poison = insert_unindexable(db, victim, 2)
        later, _ = place_many(client, SKU, 5)
        wait_searchable(client, dict.fromkeys(later, 1))  # not held back by the poison

        wait_for(lambda: len(search_dead_letters(db)) == 1, "the refused document to be parked")
        (letter,) = search_dead_letters(db)
        assert (letter["event_id"], letter["aggregate_id"]) == (poison, victim)
        assert letter["aggregate_version"] == 2 and letter["attempts"] == 2, letter
        assert "mapper_parsing_exception" in letter["error"], letter["error"]
        assert "total_amount" in letter["error"], letter["error"]
        assert letter["replayed_at"] is None

        # The index keeps the last good version of the victim, and says which one it is.
        hits = wait_searchable(client, {victim: 1}, q=victim[:8])["hits"]
        assert [(h["order_id"], h["source_version"]) for h in hits] == [(victim, 1)]

        listed = client.get("/v1/projections/search/dead-letters", headers=headers(OPS_KEY))
        assert listed.status_code == 200, listed.text
        assert [d["event_id"] for d in listed.json()["dead_letters"]] == [poison]
        wait_for(
            lambda: projection_status(client, "search")["lag_events"] == 0,
            "the search projection to move past the poison",
            seconds=20,
        )
        status = projection_status(client, "search")
        assert status["dead_letters"] == 1 and status["dead_lettered"] == 1, status
