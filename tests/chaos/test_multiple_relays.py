"""Invariant 3 with several relays: SKIP LOCKED shares the outbox, nothing is left behind.

Three relays claim concurrently (each holding its claim a little, so that their transactions
overlap); every outbox row must end up published and in the stream, and the summary must
converge although events of one order may reach the stream out of order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.helpers.chaos_monkey import RelayOverlapSampler
from tests.helpers.mixed_load import run_mixed_load
from tests.helpers.processes import ApiServer, Worker
from tests.helpers.stores import plain_dsn
from tests.helpers.stream_checks import (
    assert_outbox_in_stream,
    assert_summary_matches,
    assert_verified,
    group_backlog,
    outbox_event_ids,
    stream_client,
    stream_event_ids,
    wait_for_drain,
)

ORDERS = 500
RELAYS = 3
RELAY = {"relay_batch_size": "20", "relay_publish_delay_seconds": "0.02"}

pytestmark = pytest.mark.slow


def test_three_relays_publish_every_outbox_row_and_the_summary_converges(
    db: psycopg.Connection[Any],
    stocked_api: ApiServer,
    start_worker: Callable[..., Worker],
    database_url: str,
) -> None:
    relays = [start_worker("relay", **RELAY) for _ in range(RELAYS)]
    start_worker("project", "summary", projection_batch_size="20")

    with RelayOverlapSampler(plain_dsn(database_url)) as overlap:
        load = run_mixed_load(stocked_api.url, ORDERS)
        client = stream_client()
        drain_seconds = wait_for_drain(db, client)
    assert load.unexpected == [], load.unexpected[:10]
    assert load.placed == ORDERS, load.answers
    assert all(relay.process is not None and relay.process.poll() is None for relay in relays)

    outbox = outbox_event_ids(db)
    in_stream = stream_event_ids(client)
    entries = sum(in_stream.values())
    figures = (
        f"{ORDERS} orders, {len(outbox)} outbox rows, {entries} stream entries"
        f" ({entries - len(in_stream)} duplicates); up to {overlap.peak} relays inside a claim"
        f" at once over {overlap.samples} samples; drained {drain_seconds:.1f} s after the load"
    )
    assert_outbox_in_stream(db, outbox, in_stream, figures)
    assert overlap.peak >= 2, f"the relays never claimed concurrently; {figures}"

    assert_verified(database_url, ORDERS)
    assert_summary_matches(db, client, figures)
    assert group_backlog(client) == (0, 0)
    print(figures)
    client.close()
