"""A projection that starts after the stream was trimmed still gets every order.

The search projector runs from the start and reads everything, so retention trims the
stream behind it. Then two summary projectors start for the first time, together, while
more orders are being placed: the summary group does not exist, so one of them backfills
from the outbox (the other waits for it) and both then follow the stream. Nothing before
the trim, during the backfill or after it may be missing. A backfill killed midway leaves
its mark behind, and the next projector to start does it again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import redis
from redis.asyncio import Redis

from orders_cqrs.bootstrap import open_container
from orders_cqrs.bootstrap.readmodels import STREAM_PROJECTIONS
from orders_cqrs.config import Settings
from orders_cqrs.readmodels.backfill import BACKFILL_KEY
from orders_cqrs.readmodels.engine import ProjectionEngine
from orders_cqrs.relay.stream_retention import trim_acknowledged
from tests.helpers.processes import Worker
from tests.helpers.search import reset_search_state, wait_for_support_index
from tests.helpers.seeding import seed_orders
from tests.helpers.stores import TEST_REDIS_URL
from tests.helpers.stream_checks import (
    STREAM,
    assert_verified,
    projection_status,
    stream_client,
    summary_mismatches,
    unpublished,
)
from tests.helpers.waiting import wait_until

EARLY, DURING = 200, 40
ALIAS = "orders-late-projection"  # its own alias: OpenSearch is shared with other suites
SEARCH = {"search_alias": ALIAS}


def search_group_read_all(client: redis.Redis) -> bool:
    groups = {g["name"]: g for g in client.xinfo_groups(STREAM)}
    search = groups.get("search")
    return search is not None and search["pending"] == 0 and search.get("lag") == 0


async def trim_like_the_relay() -> int:
    """What the relay's retention does with ORDERS_STREAM_RETENTION_SECONDS=0, once."""
    store = Redis.from_url(TEST_REDIS_URL, decode_responses=True)

    async def live() -> frozenset[str]:
        return STREAM_PROJECTIONS

    try:
        return await trim_acknowledged(store, STREAM, keep_seconds=0, live=live)
    finally:
        await store.aclose()


def test_projection_started_after_the_stream_was_trimmed_has_every_order(
    db: psycopg.Connection[Any],
    database_url: str,
    start_worker: Callable[..., Worker],
) -> None:
    reset_search_state(ALIAS)
    client = stream_client()
    start_worker("relay", relay_poll_seconds="0.2", **SEARCH)
    wait_for_support_index(start_worker("project", "search", **SEARCH), alias=ALIAS)
    seed_orders(database_url, EARLY)
    wait_until(
        lambda: unpublished(db) == 0 and search_group_read_all(client), 60, "search read all"
    )
    assert asyncio.run(trim_like_the_relay()) == EARLY
    assert client.xlen(STREAM) == 0  # the history now lives only in the outbox

    during = threading.Thread(target=seed_orders, args=(database_url, DURING))
    during.start()
    late = [start_worker("project", "summary", projection_block_ms="200") for _ in range(2)]
    during.join()

    assert_verified(database_url, EARLY + DURING, wait=60)
    status = projection_status(client)
    assert status["backfills"] == "1", status  # one of the two backfilled, the other waited
    assert int(status["backfilled_events"]) >= EARLY
    assert all(worker.process is not None and worker.process.poll() is None for worker in late)


async def _join_after_a_backfill_died(database_url: str) -> tuple[bool, bool]:
    """What a projector finds after another was killed mid-backfill: the group and the mark
    exist, the read model is (here: entirely) unfilled. It must scan again, then clear the mark."""
    settings = Settings(
        environment="test",
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        clickhouse_url="",
    )
    async with open_container(settings) as container:
        redis_ = container.redis
        stream = settings.stream_name
        await redis_.set(BACKFILL_KEY.format(group="summary"), "pending")
        await redis_.xgroup_create(stream, "summary", id="$", mkstream=True)
        engine = ProjectionEngine(
            container.projections["summary"],
            redis_,
            container.dead_letters,
            container.engine_settings,
            starter=container.backfill,
        )
        joined = await container.backfill.join(engine, asyncio.Event())
        return joined, bool(await redis_.exists(BACKFILL_KEY.format(group="summary")))


def test_a_backfill_killed_midway_is_done_again_by_the_next_projector(
    db: psycopg.Connection[Any], database_url: str
) -> None:
    seed_orders(database_url, 50)  # no relay: the history is only in the outbox

    joined, mark_left = asyncio.run(_join_after_a_backfill_died(database_url))

    assert (joined, mark_left) == (True, False)
    assert summary_mismatches(db, stream_client()) == []
    # The history came from the outbox alone: the status still names what was applied last.
    newest = db.execute("SELECT event_id::text, position FROM outbox ORDER BY position DESC")
    event_id, position = newest.fetchone()  # type: ignore[misc]
    status = projection_status(stream_client())
    assert (status["last_event_id"], status["last_position"]) == (event_id, str(position))
