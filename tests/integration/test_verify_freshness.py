"""``verify`` tells an event lost on the way (drift) from one still on its way (in flight).

An order whose event was acknowledged by Redis and then lost (as in a failover) never reaches
the read model: once it is older than the freshness SLO it is drift, even while the system
is busy and the backlog never drains. Orders placed a moment ago that the projector has not
read yet are in flight: reported, but not drift.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from tests.helpers.processes import Worker, run_cli
from tests.helpers.seeding import seed_orders
from tests.helpers.stream_checks import STREAM, stream_client, unpublished, wait_for_drain
from tests.helpers.waiting import wait_until

IN_FLIGHT = 5


def verify_line(stdout: str, projection: str) -> dict[str, int]:
    """The counts of one read model's line of ``orders-cqrs verify``."""
    header = next(line.split() for line in stdout.splitlines() if line.startswith("projection"))
    row = next(line.split() for line in stdout.splitlines() if line.startswith(projection))
    return dict(zip(header[1:], (int(n) for n in row[1:]), strict=True))


def test_an_event_lost_longer_than_the_slo_is_drift_while_fresh_orders_are_in_flight(
    db: psycopg.Connection[Any],
    database_url: str,
    start_worker: Callable[..., Worker],
    tmp_path: Path,
) -> None:
    client = stream_client()
    start_worker("relay", relay_poll_seconds="0.2")
    projector = start_worker("project", "summary", projection_block_ms="200")
    seed_orders(database_url, 20)
    wait_for_drain(db, client)
    projector.stop()

    [lost] = seed_orders(database_url, 1)
    wait_until(lambda: unpublished(db) == 0, 30, "the order published")
    entry = next(i for i, f in client.xrange(STREAM) if f["aggregate_id"] == lost)
    client.xdel(STREAM, entry)  # acknowledged by the primary, gone after a failover
    db.execute(
        "UPDATE outbox SET occurred_at = now() - interval '1 hour' WHERE aggregate_id = %s",
        (lost,),
    )
    seed_orders(database_url, IN_FLIGHT)  # published, but nobody projects them yet
    wait_until(lambda: unpublished(db) == 0, 30, "the fresh orders published")

    metrics = tmp_path / "verify.prom"
    verified = run_cli(
        database_url,
        *("verify", "--wait", "1", "--projection", "summary", "--metrics-file", str(metrics)),
        freshness_slo_seconds="60",
    )

    assert verified.returncode == 1, verified.stdout + verified.stderr
    counts = verify_line(verified.stdout, "summary")
    assert counts == {
        "checked": 26,
        "missing": 1,
        "behind": 0,
        "ahead": 0,
        "status": 0,
        "in_flight": IN_FLIGHT,
    }, verified.stdout
    assert lost in verified.stdout
    exported = metrics.read_text()
    assert 'orders_verify_drifted_orders{projection="summary"} 1.0' in exported
    assert f'orders_verify_in_flight_orders{{projection="summary"}} {IN_FLIGHT}.0' in exported


def test_orders_behind_within_the_slo_are_not_drift(
    db: psycopg.Connection[Any], database_url: str, start_worker: Callable[..., Worker]
) -> None:
    start_worker("relay", relay_poll_seconds="0.2")
    seed_orders(database_url, IN_FLIGHT)  # no projector yet: all of them are on their way
    wait_until(lambda: unpublished(db) == 0, 30, "the orders published")

    verified = run_cli(
        database_url, "verify", "--wait", "0", "--projection", "summary", freshness_slo_seconds="60"
    )

    assert verified.returncode == 3, verified.stdout + verified.stderr
    assert verify_line(verified.stdout, "summary")["in_flight"] == IN_FLIGHT
