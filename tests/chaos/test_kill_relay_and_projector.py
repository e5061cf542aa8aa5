"""Invariants 3, 7 and 8 under crashes: kill -9 the relay and the projector while orders flow.

A relay killed between its XADDs and its commit publishes those rows again (duplicates in
the stream, never a gap); a projector killed mid-batch leaves entries pending that its
successor reclaims after ``projection_claim_idle_ms``. Whatever the timing, once the backlog
drains the summary must hold exactly the write model: every order at its version, stamped
with its newest event.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.helpers.chaos_monkey import ChaosMonkey, Supervised
from tests.helpers.mixed_load import run_mixed_load
from tests.helpers.processes import ApiServer, Worker
from tests.helpers.stores import plain_dsn
from tests.helpers.stream_checks import (
    assert_outbox_in_stream,
    assert_summary_matches,
    assert_verified,
    group_backlog,
    open_dead_letters,
    outbox_event_ids,
    stream_client,
    stream_event_ids,
    wait_for_drain,
)

ORDERS = 2000
CLIENTS = 8
MIN_KILLS = 3
RELAY = {"relay_batch_size": "50"}
PROJECTOR = {"projection_batch_size": "20", "projection_claim_idle_ms": "1000"}

pytestmark = pytest.mark.slow


def test_kill_9_of_relay_and_projector_under_load_loses_nothing_and_the_summary_converges(
    db: psycopg.Connection[Any],
    stocked_api: ApiServer,
    start_worker: Callable[..., Worker],
    database_url: str,
) -> None:
    seed = int(os.environ.get("CHAOS_SEED", random.randrange(1_000_000)))
    relay = Supervised("relay", lambda: start_worker("relay", **RELAY)).launch()
    projector = Supervised(
        "projector", lambda: start_worker("project", "summary", **PROJECTOR)
    ).launch()

    with ChaosMonkey([relay, projector], plain_dsn(database_url), seed=seed) as monkey:
        load = run_mixed_load(
            stocked_api.url, ORDERS, CLIENTS, until=lambda: monkey.has_killed_each(MIN_KILLS)
        )
    chaos = monkey.log
    story = f"seed {seed}; load {load.seconds:.1f} s; " + "; ".join(chaos.events)

    assert load.unexpected == [], load.unexpected[:10]
    assert load.placed >= ORDERS, load.answers
    assert chaos.kills["relay"] >= MIN_KILLS, story
    assert chaos.kills["projector"] >= MIN_KILLS, story

    # One more crash of each after the load, then fresh processes finish the backlog.
    relay.kill9_and_restart()
    projector.kill9_and_restart()
    client = stream_client()
    drain_seconds = wait_for_drain(db, client)

    assert_verified(database_url, load.placed)

    # Invariant 3: every committed outbox row reached the stream, none is left behind.
    outbox = outbox_event_ids(db)
    in_stream = stream_event_ids(client)
    entries = sum(in_stream.values())
    figures = (
        f"{load.placed} orders, {load.commands} commands, {len(outbox)} outbox rows,"
        f" {entries} stream entries ({entries - len(in_stream)} duplicates),"
        f" kills {dict(chaos.kills)} (mid-batch {dict(chaos.caught_in_hand)}),"
        f" {chaos.left_pending} entries left pending by dead projectors,"
        f" drained {drain_seconds:.1f} s after the last restart; {story}"
    )
    assert_outbox_in_stream(db, outbox, in_stream, figures)

    # Invariants 7 and 8: duplicates and reorderings were no-ops; the newest state won.
    assert_summary_matches(db, client, figures)
    assert group_backlog(client) == (0, 0), figures
    assert open_dead_letters(db) == 0, figures
    client.close()
    print(figures)  # the measured figures, shown with -s / -rP
