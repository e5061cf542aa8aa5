"""The relay marks rows published only once a Redis replica has them (``WAIT``).

Redis replicates asynchronously: an XADD the primary acknowledged can be lost in a failover,
a gap no projector could notice. With ``ORDERS_RELAY_MIN_REPLICAS=1`` a row counts as
published only when a replica acknowledged its entry. The test runs a private primary and
replica (free ports, no persistence; the shared Redis is untouched): with the replica
frozen (SIGSTOP), rows stay unpublished while the relay keeps running and counts the
refusals; once it thaws, they are published.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from tests.helpers.metrics import metric, wait_for_metrics
from tests.helpers.processes import Worker, free_port
from tests.helpers.stores import plain_dsn

INSERT = (
    "INSERT INTO outbox (event_id, aggregate_id, aggregate_version, event_type,"
    " schema_version, headers, payload)"
    " VALUES (%s, %s, 1, 'SupportNoteAdded', 1, '{}', '{}') RETURNING event_id::text"
)


def _redis_server(port: int, workdir: Path, *extra: str) -> subprocess.Popen[bytes]:
    workdir.mkdir()
    where = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
    no_persistence = ["--save", "", "--appendonly", "no"]
    return subprocess.Popen(
        ["redis-server", *where, *no_persistence, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def replicated_redis(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A private primary with one replica in sync: (primary's port, replica process)."""
    primary_port, replica_port = free_port(), free_port()
    primary = _redis_server(primary_port, tmp_path / "primary")
    replica = _redis_server(
        replica_port, tmp_path / "replica", "--replicaof", "127.0.0.1", str(primary_port)
    )
    client = redis.Redis(port=primary_port, socket_timeout=2)
    try:
        _until(
            lambda: _online_replicas(client) == 1, 20, "the replica to be in sync with the primary"
        )
        yield primary_port, replica
    finally:
        client.close()
        for server in (replica, primary):
            server.send_signal(signal.SIGCONT)  # a frozen process ignores SIGKILL until woken
            server.kill()
            server.wait()


def _online_replicas(client: redis.Redis) -> int:
    try:
        info: dict[str, Any] = client.info("replication")
    except redis.ConnectionError:
        return 0
    return sum(1 for k, v in info.items() if k.startswith("slave") and v.get("state") == "online")


def _published(db: psycopg.Connection[Any], event_id: str) -> bool:
    row = db.execute("SELECT published_at FROM outbox WHERE event_id = %s", (event_id,)).fetchone()
    return row is not None and row[0] is not None


def test_rows_are_marked_published_only_once_a_replica_has_them(
    db: psycopg.Connection[Any],
    database_url: str,
    start_worker: Callable[..., Worker],
    replicated_redis: tuple[int, subprocess.Popen[bytes]],
) -> None:
    primary_port, replica = replicated_redis
    metrics_port = free_port()
    relay = start_worker(
        "relay",
        redis_url=f"redis://127.0.0.1:{primary_port}/0",
        relay_min_replicas="1",
        relay_replica_timeout_ms="100",
        relay_poll_seconds="0.1",
        relay_metrics_port=str(metrics_port),
    )
    wait_for_metrics(metrics_port)
    with psycopg.connect(plain_dsn(database_url), autocommit=True) as writer:

        def insert() -> str:
            row = writer.execute(INSERT, (uuid.uuid4(), uuid.uuid4())).fetchone()
            assert row is not None
            return str(row[0])

        # The replica acknowledges: rows are published at once.
        first = insert()
        _until(lambda: _published(db, first), 10, "a row to be published")

        # The replica is frozen: the primary takes the XADDs, but nothing is marked published.
        replica.send_signal(signal.SIGSTOP)
        held = [insert() for _ in range(3)]

        def refused() -> float:
            return metric(metrics_port, "orders_relay_not_replicated_batches_total") or 0

        def any_published() -> bool:
            return any(_published(db, event_id) for event_id in held)

        _until(lambda: refused() >= 3 or any_published(), 10, "the relay to try the rows")
        assert not any_published(), "marked published while no replica acknowledged"
        assert refused() >= 3
        assert relay.process is not None and relay.process.poll() is None  # still running

        # The replica is back: the held rows are published.
        replica.send_signal(signal.SIGCONT)
        _until(lambda: all(_published(db, e) for e in held), 20, "the held rows to be published")
