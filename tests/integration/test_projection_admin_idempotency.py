"""Admin POSTs take an Idempotency-Key like every mutating call (DESIGN §4).

A retried rebuild request must not start a second rebuild, and a retried replay must not
replay twice: the same key and body get the stored answer, byte for byte, with
``Idempotent-Replayed: true``; the same key with another request is refused (422). A missing
key is a 400 (``bad_input/test_projection_admin.py``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import psycopg
import redis

from tests.helpers.api import OPS_KEY, headers
from tests.helpers.problems import assert_problem
from tests.helpers.processes import ApiServer
from tests.helpers.stores import TEST_REDIS_URL

REBUILD = "/v1/projections/summary/rebuild"
REPLAY = "/v1/projections/summary/dead-letters/replay"


def summary_rebuild(base_url: str) -> dict[str, Any]:
    """The summary's last rebuild, once it is no longer running."""
    deadline = time.monotonic() + 30
    while True:
        listing = httpx.get(f"{base_url}/v1/projections", headers=headers(OPS_KEY), timeout=10)
        entry = next(p for p in listing.json()["projections"] if p["name"] == "summary")
        record: dict[str, Any] | None = entry["rebuild"]
        if record is not None and record["state"] != "running":
            return record
        assert time.monotonic() < deadline, record
        time.sleep(0.1)


def test_a_rebuild_request_sent_twice_with_one_key_rebuilds_once(
    db: psycopg.Connection[Any], api: ApiServer
) -> None:
    key = str(uuid.uuid4())
    first = httpx.post(f"{api.url}{REBUILD}", headers=headers(OPS_KEY, key), timeout=30)
    assert first.status_code == 202, first.text
    assert first.json() == {"projection": "summary", "rebuild": "started"}
    assert "idempotent-replayed" not in first.headers
    done = summary_rebuild(api.url)
    assert done["state"] == "done" and done["new_generation"] == "v2", done

    again = httpx.post(f"{api.url}{REBUILD}", headers=headers(OPS_KEY, key), timeout=30)
    assert again.status_code == 202, again.text
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert summary_rebuild(api.url) == done  # no second rebuild: the same record, v2 still
    store = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    assert store.get("summary:active") == "v2"

    # Who started it is audited like any command.
    audited = db.execute(
        "SELECT actor, outcome FROM audit_log WHERE command = 'rebuild_projection'"
    ).fetchall()
    assert audited == [(done["started_by"], "accepted")], audited

    # The key belongs to that rebuild request: another request with it is refused.
    other = httpx.post(f"{api.url}{REPLAY}", headers=headers(OPS_KEY, key), timeout=30)
    assert_problem(other, 422, "idempotency-mismatch")


def test_a_replay_request_sent_twice_with_one_key_replays_once(
    db: psycopg.Connection[Any], api: ApiServer
) -> None:
    key = str(uuid.uuid4())
    first = httpx.post(
        f"{api.url}{REPLAY}", json={"ids": [1]}, headers=headers(OPS_KEY, key), timeout=30
    )
    assert first.status_code == 200, first.text
    assert first.json() == {"projection": "summary", "replayed": 0, "still_failing": 0}

    again = httpx.post(
        f"{api.url}{REPLAY}", json={"ids": [1]}, headers=headers(OPS_KEY, key), timeout=30
    )
    assert again.status_code == 200 and again.content == first.content, again.text
    assert again.headers["idempotent-replayed"] == "true"

    changed = httpx.post(
        f"{api.url}{REPLAY}", json={"ids": [2]}, headers=headers(OPS_KEY, key), timeout=30
    )
    assert_problem(changed, 422, "idempotency-mismatch")
