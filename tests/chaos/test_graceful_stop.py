"""SIGTERM in the middle of a backlog: the batch in hand is finished, then the worker exits 0.

Invariant 3 for the relay (a claimed batch is published *and* marked, or neither) and
invariant 7 for the projector (a delivered batch is applied *and* acknowledged): a graceful
stop must leave nothing half-done for a successor to redo, and the successor finishes the
rest with the read model matching the write model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.helpers.chaos_monkey import relays_in_transaction
from tests.helpers.mixed_load import run_mixed_load
from tests.helpers.processes import ApiServer, Worker
from tests.helpers.stream_checks import (
    acknowledged_but_not_applied,
    assert_summary_matches,
    assert_verified,
    consumer_of,
    consumer_pending,
    group_backlog,
    outbox_event_ids,
    projection_status,
    published,
    replay_stream,
    stream_client,
    stream_event_ids,
    summary_group_from_the_start,
    unpublished,
    wait_for_drain,
)
from tests.helpers.waiting import wait_until

ORDERS = 300
STOP_BUDGET_SECONDS = 5.0

pytestmark = pytest.mark.slow


def _stop(worker: Worker) -> tuple[int, float]:
    """SIGTERM and wait; (exit code, seconds it took)."""
    started = time.monotonic()
    code = worker.stop()
    return code, time.monotonic() - started


def test_projector_sigterm_mid_backlog_exits_0_leaving_nothing_pending_and_a_successor_converges(
    db: psycopg.Connection[Any],
    stocked_api: ApiServer,
    start_worker: Callable[..., Worker],
    database_url: str,
) -> None:
    start_worker("relay")
    load = run_mixed_load(stocked_api.url, ORDERS)
    assert load.unexpected == [], load.unexpected[:10]
    client = stream_client()
    outbox = outbox_event_ids(db)
    wait_until(
        lambda: unpublished(db) == 0 and client.xlen("orders.events") >= len(outbox),
        60,
        "every outbox row in the stream",
    )

    # Redelivered copies (at-least-once) and small batches make the backlog outlast the
    # moment SIGTERM takes to arrive, however fast the machine.
    backlog = replay_stream(client, copies=3)
    summary_group_from_the_start(client)
    projector = start_worker("project", "summary", projection_batch_size="5")
    consumer = consumer_of(projector)
    wait_until(
        lambda: int(projection_status(client).get("applied", 0)) >= 25,
        60,
        "the projector applying its first batches",
        poll=0.01,
    )
    wait_until(lambda: consumer_pending(client, consumer) > 0, 10, "a batch in hand", poll=0.001)
    code, seconds = _stop(projector)

    assert code == 0, f"projector exit code {code} after SIGTERM"
    assert seconds < STOP_BUDGET_SECONDS, f"projector took {seconds:.1f} s to stop"
    pending, undelivered = group_backlog(client)
    assert undelivered > 0, "the backlog was gone before SIGTERM: the stop was not mid-backlog"
    assert pending == 0, f"{pending} entries left delivered and unacknowledged"
    assert consumer_pending(client, consumer) == 0
    done, not_applied = acknowledged_but_not_applied(client)
    assert not_applied == [], f"acknowledged, never applied: {not_applied[:5]}"

    start_worker("project", "summary", projection_batch_size="20")
    wait_for_drain(db, client)
    assert_verified(database_url, ORDERS)
    assert_summary_matches(db, client)
    print(
        f"{ORDERS} orders, {len(outbox)} events, {backlog} stream entries with redeliveries;"
        f" SIGTERM after {done} entries,"
        f" {undelivered} left for the successor; stopped in {seconds:.2f} s"
    )
    client.close()


def test_relay_sigterm_mid_backlog_exits_0_with_its_batch_marked_and_a_successor_publishes_the_rest(
    db: psycopg.Connection[Any],
    stocked_api: ApiServer,
    start_worker: Callable[..., Worker],
    database_url: str,
) -> None:
    load = run_mixed_load(stocked_api.url, ORDERS)  # no relay yet: the whole load is backlog
    assert load.unexpected == [], load.unexpected[:10]
    outbox = outbox_event_ids(db)
    client = stream_client()

    # Small batches and the operator's brake keep the relay inside a claimed batch most of
    # the time; SIGTERM is sent while it holds one, between claim and commit.
    relay = start_worker("relay", relay_batch_size="10", relay_publish_delay_seconds="0.05")
    wait_until(
        lambda: len(published(db)) >= 30, 60, "the relay publishing its first batches", poll=0.01
    )
    wait_until(lambda: relays_in_transaction(db) > 0, 10, "a claimed batch", poll=0.001)
    code, seconds = _stop(relay)

    assert code == 0, f"relay exit code {code} after SIGTERM"
    assert seconds < STOP_BUDGET_SECONDS, f"relay took {seconds:.1f} s to stop"
    marked = published(db)
    in_stream = stream_event_ids(client)
    assert 0 < len(marked) < len(outbox), f"{len(marked)} of {len(outbox)}: not mid-backlog"
    # The batch in hand was finished: what reached the stream is exactly what is marked.
    assert set(in_stream) == marked, (
        f"{len(set(in_stream) - marked)} in the stream but unmarked,"
        f" {len(marked - set(in_stream))} marked but not in the stream"
    )
    assert max(in_stream.values()) == 1, "a graceful stop published something twice"

    start_worker("relay")
    wait_until(lambda: unpublished(db) == 0, 60, "the successor publishing the rest")
    in_stream = stream_event_ids(client)
    assert set(in_stream) == outbox
    assert sum(in_stream.values()) == len(outbox), (
        f"{sum(in_stream.values())} stream entries for {len(outbox)} outbox rows"
        " although no relay crashed"
    )

    start_worker("project", "summary")
    wait_for_drain(db, client)
    assert_verified(database_url, ORDERS)
    print(
        f"{ORDERS} orders, {len(outbox)} outbox rows; SIGTERM after {len(marked)} published;"
        f" stopped in {seconds:.2f} s; {sum(in_stream.values())} stream entries in the end"
    )
    client.close()
