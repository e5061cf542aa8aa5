"""Invariant 10: a poison event never blocks a projection.

One outbox row the summary projection cannot apply (no ``order`` snapshot in its payload)
is retried ``projection_max_attempts`` times, parked in ``projection_dead_letters`` with its
error, listed by the ops API, and replayed once its cause is fixed; the orders placed after
it are projected meanwhile.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from tests.helpers.api import (
    OPS_KEY,
    headers,
    order_body,
    place,
    put_product,
    read_order,
)
from tests.helpers.processes import ApiServer
from tests.helpers.waiting import wait_until_projected

SKU = "SKU-POISON"
MAX_ATTEMPTS = 3


def insert_poison(db: psycopg.Connection[Any], order_id: str, version: int) -> str:
    """An outbox row for a real order at a new version whose payload lacks ``order``."""
    event_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO outbox (event_id, aggregate_id, aggregate_version, event_type,"
        " schema_version, headers, payload)"
        " VALUES (%s, %s, %s, 'OrderNoted', 1, '{}'::jsonb, '{\"facts\": {}}'::jsonb)",
        (event_id, order_id, version),
    )
    return event_id


def dead_letter_row(db: psycopg.Connection[Any], event_id: str) -> dict[str, Any] | None:
    """The summary projection's dead letter of ``event_id``, if parked."""
    cursor = db.execute(
        "SELECT id, projection, aggregate_id::text, aggregate_version, event_type, error,"
        " attempts, replayed_at, entry FROM projection_dead_letters"
        " WHERE projection = 'summary' AND event_id = %s",
        (event_id,),
    )
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c.name for c in cursor.description or ()], row, strict=True))


def wait_for_dead_letter(
    db: psycopg.Connection[Any], event_id: str, seconds: float = 30
) -> dict[str, Any]:
    """Poll until the event is parked."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = dead_letter_row(db, event_id)
        if row is not None:
            return row
        time.sleep(0.1)
    raise AssertionError(f"event {event_id} was never dead-lettered")


def summary_status(base_url: str) -> dict[str, Any]:
    """The ``summary`` entry of GET /v1/projections."""
    got = httpx.get(f"{base_url}/v1/projections", headers=headers(OPS_KEY), timeout=10)
    assert got.status_code == 200, got.text
    return next(p for p in got.json()["projections"] if p["name"] == "summary")


def wait_for_status(
    base_url: str, predicate: Callable[[dict[str, Any]], bool], seconds: float = 30
) -> dict[str, Any]:
    """Poll GET /v1/projections until the summary's status satisfies ``predicate``."""
    deadline = time.monotonic() + seconds
    status = summary_status(base_url)
    while not predicate(status):
        if time.monotonic() >= deadline:
            raise AssertionError(f"summary status never got there: {status}")
        time.sleep(0.2)
        status = summary_status(base_url)
    return status


def test_a_poison_event_is_dead_lettered_and_replayable_while_the_projection_moves_on(
    db: psycopg.Connection[Any], start_pipeline: Callable[..., ApiServer]
) -> None:
    db.execute("DELETE FROM projection_dead_letters")  # `db` does not truncate this table
    api = start_pipeline(
        projector={
            "projection_max_attempts": str(MAX_ATTEMPTS),
            "projection_retry_base_seconds": "0.05",
        }
    )
    put_product(api.url, SKU, on_hand=100)
    victim = place(api.url, order_body(items=[(SKU, 1)])).json()
    victim_id, victim_version = victim["order_id"], victim["version"]
    wait_until_projected(api.url, victim_id, victim_version)

    poison_version = victim_version + 1
    poison_id = insert_poison(db, victim_id, poison_version)
    later = [place(api.url, order_body(items=[(SKU, 1)])) for _ in range(5)]
    assert all(r.status_code == 201 for r in later), [r.text for r in later]

    # The projection moves on: every later order is projected although the poison came first.
    for response in later:
        wait_until_projected(api.url, response.json()["order_id"], response.json()["version"])

    letter = wait_for_dead_letter(db, poison_id)
    assert letter["projection"] == "summary"
    assert (letter["aggregate_id"], letter["aggregate_version"]) == (victim_id, poison_version)
    assert letter["event_type"] == "OrderNoted"
    assert "KeyError" in letter["error"] and "order" in letter["error"], letter["error"]
    assert letter["attempts"] == MAX_ATTEMPTS
    assert letter["replayed_at"] is None

    # The summary still holds the last good version of the victim, and says so.
    current = read_order(api.url, victim_id)
    assert current.status_code == 200
    assert current.json()["freshness"]["source_version"] == victim_version

    # Visible to ops, with its error.
    listed = httpx.get(
        f"{api.url}/v1/projections/summary/dead-letters", headers=headers(OPS_KEY), timeout=10
    )
    assert listed.status_code == 200, listed.text
    letters = listed.json()["dead_letters"]
    assert [d["event_id"] for d in letters] == [poison_id]
    assert "KeyError" in letters[0]["error"] and letters[0]["attempts"] == MAX_ATTEMPTS
    assert letters[0]["aggregate_version"] == poison_version
    status = wait_for_status(api.url, lambda s: s["lag_events"] == 0)
    assert status["dead_letters"] == 1, status
    assert status["dead_letters_total"] == 1 and status["dead_lettered"] == 1, status
    assert status["retries"] == MAX_ATTEMPTS - 1, status

    # Fix the cause where replay reads it: the parked entry gets a valid snapshot.
    snapshot_row = db.execute(
        "SELECT payload -> 'order' FROM outbox WHERE aggregate_id = %s AND aggregate_version = %s",
        (victim_id, victim_version),
    ).fetchone()
    assert snapshot_row is not None
    snapshot = {**snapshot_row[0], "version": poison_version}
    fixed_payload = json.dumps({"order": snapshot, "facts": {}}, separators=(",", ":"))
    db.execute(
        "UPDATE projection_dead_letters SET entry = jsonb_set(entry, '{payload}', to_jsonb(%s::text))"
        " WHERE id = %s",
        (fixed_payload, letter["id"]),
    )

    replay = httpx.post(
        f"{api.url}/v1/projections/summary/dead-letters/replay",
        headers=headers(OPS_KEY, str(uuid.uuid4())),
        timeout=30,
    )
    assert replay.status_code == 200, replay.text
    assert replay.json() == {"projection": "summary", "replayed": 1, "still_failing": 0}

    replayed = dead_letter_row(db, poison_id)
    assert replayed is not None and replayed["replayed_at"] is not None, replayed
    read = read_order(api.url, victim_id, min_version=poison_version)
    assert read.status_code == 200, read.text
    assert read.json()["version"] == poison_version
    assert read.json()["freshness"]["source_version"] == poison_version
    assert read.json()["freshness"]["last_event_id"] == poison_id

    open_letters = httpx.get(
        f"{api.url}/v1/projections/summary/dead-letters", headers=headers(OPS_KEY), timeout=10
    )
    assert open_letters.json()["dead_letters"] == []
    assert summary_status(api.url)["dead_letters"] == 0
