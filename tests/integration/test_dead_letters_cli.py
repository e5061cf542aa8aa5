"""Ops can list and replay dead letters from the CLI, not only over HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import psycopg
import redis

from tests.helpers.api import place_one, put_product
from tests.helpers.processes import ApiServer, run_cli
from tests.helpers.stores import TEST_REDIS_URL


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(database_url, "dead-letters", *args, timeout=60)


def test_a_parked_event_is_listed_and_replayed_into_the_summary(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str
) -> None:
    api = start_api()
    put_product(api.url, "SKU-DLQ", on_hand=5)
    order_id = place_one(api.url, "SKU-DLQ")
    row = db.execute(
        "SELECT event_id, position, aggregate_version, event_type, schema_version, occurred_at,"
        " headers, payload FROM outbox WHERE aggregate_id = %s",
        (order_id,),
    ).fetchone()
    assert row is not None
    event_id, position, version, event_type, schema_version, occurred_at, hdrs, payload = row
    entry = {
        "stream_id": "1-0",
        "event_id": str(event_id),
        "position": str(position),
        "aggregate_id": order_id,
        "aggregate_version": str(version),
        "event_type": event_type,
        "schema_version": str(schema_version),
        "occurred_at": occurred_at.isoformat(),
        "headers": json.dumps(hdrs),
        "payload": json.dumps(payload),
    }
    db.execute(
        "INSERT INTO projection_dead_letters (projection, stream_id, event_id, position,"
        " aggregate_id, aggregate_version, event_type, entry, error, attempts)"
        " VALUES ('summary', '1-0', %s, %s, %s, %s, %s, %s, 'KeyError(''order'')', 5)",
        (event_id, position, order_id, version, event_type, json.dumps(entry)),
    )

    listed = _cli(database_url, "list", "summary")
    assert listed.returncode == 0, listed.stderr
    assert "1 open dead letter(s) for summary" in listed.stdout
    assert order_id in listed.stdout and "KeyError" in listed.stdout

    replayed = _cli(database_url, "replay", "summary")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replayed 1, still failing 0" in replayed.stdout
    store = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    assert store.hget(f"summary:v1:order:{order_id}", "source_version") == str(version)
    assert db.execute(
        "SELECT count(*) FROM projection_dead_letters WHERE replayed_at IS NULL"
    ).fetchone() == (0,)
    assert "0 open dead letter(s)" in _cli(database_url, "list", "summary").stdout
