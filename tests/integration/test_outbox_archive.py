"""The outbox's life: ``orders-cqrs cleanup`` archives published rows past the retention in
batches, under checkout traffic and a running relay, losing no event and archiving no
unpublished one; rebuilds read archive ∪ outbox; a rebuild refuses once pruning lost orders.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from orders_cqrs.bootstrap import open_container
from orders_cqrs.config import Settings
from orders_cqrs.db.event_log import POSITION
from tests.helpers.api import CHECKOUT_KEY, OPS_KEY, headers, order_body, put_product
from tests.helpers.processes import ApiServer, run_cli, run_verify
from tests.helpers.stream_checks import STREAM, stream_client
from tests.helpers.traffic import checkouts_and_notes
from tests.helpers.waiting import wait_for, wait_until_projected

SKU = "SKU-ARCHIVE"
ARCHIVE_NOW = {"outbox_retention_seconds": "0", "outbox_archive_batch_size": "7"}


def _unpublished(db: psycopg.Connection[Any]) -> int:
    return int(db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0])


def test_archiving_under_traffic_moves_only_published_rows_in_batches_and_loses_no_event(
    db: psycopg.Connection[Any], start_pipeline: Callable[..., ApiServer], database_url: str
) -> None:
    # A slow relay in small batches: while the cleanups run there are unpublished rows, and
    # rows claimed and marked by a relay transaction that has not committed yet.
    api = start_pipeline(relay={"relay_batch_size": "5", "relay_publish_delay_seconds": "0.05"})
    put_product(api.url, SKU, on_hand=100_000)
    stop, order_ids = threading.Event(), list[str]()
    traffic = threading.Thread(target=checkouts_and_notes, args=(api.url, SKU, order_ids, stop))
    traffic.start()
    try:
        outputs = []
        for _ in range(4):
            cleanup = run_cli(database_url, "cleanup", **ARCHIVE_NOW)
            assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
            outputs.append(cleanup.stdout)
        assert _unpublished(db) > 0  # the relay was still behind: there was something to skip
    finally:
        stop.set()
        traffic.join(timeout=30)
    wait_for(lambda: _unpublished(db) == 0, "the relay to publish everything")
    final = run_cli(database_url, "cleanup", **ARCHIVE_NOW)
    assert final.returncode == 0, final.stderr

    batches = [line for out in outputs for line in out.splitlines() if "  archived " in line]
    assert len(batches) > 4, outputs  # several bounded batches per run, not one big move
    # Everything published is in the archive now, and the hot table holds nothing else.
    assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    # Nothing lost, nothing doubled: per order, versions 1..version, each exactly once.
    logged = db.execute("SELECT aggregate_id::text, aggregate_version FROM event_log").fetchall()
    versions = dict(db.execute("SELECT id::text, version FROM orders").fetchall())
    assert len(versions) == len(set(order_ids)) > 10
    assert Counter(logged) == Counter(
        (o, v) for o, last in versions.items() for v in range(1, last + 1)
    )
    # Every archived row had been published by the relay: the stream carries each event.
    stream_ids = {fields["event_id"] for _, fields in stream_client().xrange(STREAM)}
    archived_ids = {row[0] for row in db.execute("SELECT event_id::text FROM outbox_archive")}
    assert archived_ids == stream_ids

    # A rebuild after archiving reads the archive: every order comes back.
    rebuild = run_cli(database_url, "rebuild", "summary")
    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    assert f"{len(logged)} events from the outbox" in rebuild.stdout, rebuild.stdout
    verify = run_verify(database_url)
    assert verify.returncode == 0, verify.stdout
    assert f"{len(versions)}" in verify.stdout


def test_archive_takes_only_published_rows_older_than_the_retention(
    db: psycopg.Connection[Any], api: ApiServer, database_url: str
) -> None:
    put_product(api.url, SKU, on_hand=100)
    for _ in range(6):
        placed = httpx.post(
            f"{api.url}/v1/orders",
            json=order_body(items=[(SKU, 1)]),
            headers=headers(CHECKOUT_KEY, str(uuid.uuid4())),
        )
        assert placed.status_code == 201, placed.text
    # No relay runs. Age the rows: 1-2 published two hours ago, 3-4 half an hour ago, 5-6
    # never, though they occurred as long ago as the first.
    db.execute("UPDATE outbox SET occurred_at = now() - interval '3 hours'")
    db.execute(
        "UPDATE outbox SET published_at = now() - interval '2 hours'"
        " WHERE position IN (SELECT position FROM outbox ORDER BY position LIMIT 2)"
    )
    db.execute(
        "UPDATE outbox SET published_at = now() - interval '30 minutes'"
        " WHERE position IN (SELECT position FROM outbox ORDER BY position OFFSET 2 LIMIT 2)"
    )
    positions = [row[0] for row in db.execute("SELECT position FROM outbox ORDER BY position")]

    cleanup = run_cli(database_url, "cleanup", outbox_retention_seconds="3600")

    assert cleanup.returncode == 0, cleanup.stderr
    assert "archived 2 published outbox rows" in cleanup.stdout, cleanup.stdout
    archived = [row[0] for row in db.execute("SELECT position FROM outbox_archive ORDER BY 1")]
    assert archived == positions[:2]
    kept = [row[0] for row in db.execute("SELECT position FROM outbox ORDER BY position")]
    assert kept == positions[2:]


def test_rebuild_refuses_when_pruned_history_lost_orders_and_changes_nothing(
    start_pipeline: Callable[..., ApiServer], database_url: str
) -> None:
    api = start_pipeline()
    put_product(api.url, SKU, on_hand=100)
    for _ in range(3):
        placed = httpx.post(
            f"{api.url}/v1/orders",
            json=order_body(items=[(SKU, 1)]),
            headers=headers(CHECKOUT_KEY, str(uuid.uuid4())),
        )
        assert placed.status_code == 201, placed.text
        wait_until_projected(api.url, placed.json()["order_id"], 1, seconds=60)
    prune = run_cli(
        database_url,
        "cleanup",
        outbox_retention_seconds="0",
        outbox_archive_retention_seconds="0",
    )
    assert prune.returncode == 0, prune.stderr
    assert "pruned 3 archived outbox rows" in prune.stdout, prune.stdout

    refused = run_cli(database_url, "rebuild", "summary")
    over_http = httpx.post(
        f"{api.url}/v1/projections/summary/rebuild", headers=headers(OPS_KEY, str(uuid.uuid4()))
    )

    assert refused.returncode == 5, refused.stdout + refused.stderr
    assert "3 order(s) have no event left in the event log" in refused.stderr, refused.stderr
    assert "nothing was changed" in refused.stderr
    assert over_http.status_code == 409, over_http.text
    assert over_http.json()["type"].endswith("/history-gone")
    assert stream_client().get("summary:active") in (None, "v1")
    assert run_verify(database_url).returncode == 0  # the live read model is untouched


_OLD_EVENTS = """
INSERT INTO outbox (event_id, aggregate_id, aggregate_version, event_type, schema_version,
                    occurred_at, headers, payload, published_at)
SELECT gen_random_uuid(), gen_random_uuid(), 1, 'OrderPlaced', 1, now() - interval '2 days',
       '{}', '{}', now() - interval '2 days'
  FROM generate_series(1, %s)
"""


async def test_a_fenced_scan_reads_each_event_once_while_its_rows_move_to_the_archive(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    db.execute(_OLD_EVENTS, (120,))
    settings = Settings(database_url=database_url, outbox_archive_batch_size=7)
    async with open_container(settings) as container:
        log = container.event_log
        snapshot, total = await log.fence()
        db.execute(_OLD_EVENTS, (5,))  # committed after the fence: the stream's, not the scan's
        read = list(await log.page(snapshot, after=0, limit=50))
        # Between two pages, every row moves: those already read and those not yet.
        moved = await container.outbox_archive.archive(older_than_seconds=3600)
        while rows := await log.page(snapshot, after=read[-1][POSITION], limit=50):
            read.extend(rows)

    assert (total, moved) == (120, 125)
    fenced = [row[0] for row in db.execute("SELECT position FROM event_log ORDER BY 1 LIMIT 120")]
    assert [row[POSITION] for row in read] == fenced
