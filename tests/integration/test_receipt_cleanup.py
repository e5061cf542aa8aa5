"""``orders-cqrs cleanup`` racing clients that re-claim expired idempotency keys: every key a
client re-claimed keeps its receipt and replays; only receipts still expired are deleted.

The interleaving is forced, not hoped for: the test holds the product row the re-claiming
PUTs need, so each PUT has claimed its key (rewritten the expired receipt) and waits, with its
transaction open, when the cleanup runs. The cleanup's DELETE then has to wait for those rows
and decide, once the PUTs commit, whether the rows it picked are still its to delete. It is
run with few receipts and with many, because the planner's choice depends on the table's size
and the plans re-check a row that changed under them by different code (with the batch
selected by ``ctid`` alone: a hash join on ``ctid`` for few receipts, a nested loop into a
TID scan for many; see ``db/receipts.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers.api import OPS_KEY, headers
from tests.helpers.locks import row_locked, wait_for_lock_waiters
from tests.helpers.processes import ApiServer, worker_env
from tests.helpers.stores import ROOT, plain_dsn

SKU = "SKU-KEYS"
RECLAIMED = [f"reclaimed-{n}" for n in range(6)]
FORGOTTEN = [f"forgotten-{n}" for n in range(4)]


def _put(base_url: str, key: str, on_hand: int) -> httpx.Response:
    return httpx.put(
        f"{base_url}/v1/inventory/{SKU}",
        json={"name": "Mug", "unit_price": {"amount": 900, "currency": "EUR"}, "on_hand": on_hand},
        headers=headers(OPS_KEY, key),
        timeout=60,
    )


def _receipts(db: psycopg.Connection[Any], keys: list[str]) -> dict[str, str]:
    sql = "SELECT key, state FROM idempotency_receipts WHERE key = ANY(%s)"
    return dict(db.execute(sql, (keys,)).fetchall())


def _fill(db: psycopg.Connection[Any], count: int) -> None:
    """Live receipts of another client, so that the table is as big as a day of traffic."""
    db.execute(
        """
        INSERT INTO idempotency_receipts (client_id, key, fingerprint, command, state,
                                          expires_at)
        SELECT 'checkout:other', 'live-' || n, 'f', 'place_order', 'completed',
               now() + interval '1 day'
          FROM generate_series(1, %s) AS n
        """,
        (count,),
    )
    db.execute("ANALYZE idempotency_receipts")


@pytest.mark.parametrize("live", [0, 100_000], ids=["few-receipts", "many-receipts"])
def test_cleanup_racing_reclaims_of_expired_keys_keeps_every_reclaimed_receipt(
    db: psycopg.Connection[Any], start_api: Callable[..., ApiServer], database_url: str, live: int
) -> None:
    settings = {"db_lock_timeout_ms": "30000"}
    server = start_api(**settings)
    for n, key in enumerate(RECLAIMED + FORGOTTEN):
        assert _put(server.url, key, on_hand=10 + n).status_code in (200, 201)
    expire = "UPDATE idempotency_receipts SET expires_at = now() - interval '1 hour'"
    db.execute(expire + " WHERE key = ANY(%s)", (RECLAIMED + FORGOTTEN,))
    _fill(db, live)

    answers: dict[str, httpx.Response] = {}

    def reclaim(key: str, on_hand: int) -> None:
        answers[key] = _put(server.url, key, on_hand)

    product = "SELECT sku FROM products WHERE sku = %s FOR UPDATE"
    with row_locked(plain_dsn(database_url), product, SKU):
        clients = [
            threading.Thread(target=reclaim, args=(key, 50 + n)) for n, key in enumerate(RECLAIMED)
        ]
        for client in clients:
            client.start()
        wait_for_lock_waiters(db, len(RECLAIMED))  # each claimed its key, then queued
        cleanup = subprocess.Popen(
            [sys.executable, "-m", "orders_cqrs.entrypoints.cli", "cleanup"],
            cwd=ROOT,
            env={**os.environ, **worker_env(database_url, settings)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_for_lock_waiters(db, len(RECLAIMED) + 1, seconds=30)  # the DELETE waits too
    for client in clients:
        client.join(timeout=60)
    output = cleanup.communicate(timeout=60)[0].decode()

    assert cleanup.returncode == 0, output
    assert "removed 4 expired" in output, output
    assert {key: r.status_code for key, r in answers.items()} == dict.fromkeys(RECLAIMED, 200)
    assert _receipts(db, RECLAIMED) == dict.fromkeys(RECLAIMED, "completed")
    assert _receipts(db, FORGOTTEN) == {}
    for n, key in enumerate(RECLAIMED):
        replay = _put(server.url, key, 50 + n)
        assert replay.headers.get("Idempotent-Replayed") == "true", (key, replay.text)
        assert replay.content == answers[key].content
    remaining = db.execute("SELECT count(*) FROM idempotency_receipts").fetchone()
    assert remaining == (live + len(RECLAIMED),)
