"""Read-side inspection for the chaos suites: the stream, the group, the summary, the outbox.

Every wait here polls a condition against a deadline; nothing sleeps for a fixed time to
"let things settle".
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import psycopg
import redis

from tests.helpers.processes import Worker, run_verify
from tests.helpers.stores import TEST_REDIS_URL
from tests.helpers.waiting import wait_until

STREAM = "orders.events"
GROUP = "summary"
Entry = tuple[str, dict[str, str]]  # a stream entry: id and fields


def stream_client() -> redis.Redis:
    """A synchronous client on the test Redis database, answering text."""
    return redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)


def consumer_of(worker: Worker) -> str:
    """The consumer name a projector process registers in the group (host-pid)."""
    assert worker.process is not None
    return f"{socket.gethostname()}-{worker.process.pid}"


def consumer_pending(client: redis.Redis, consumer: str) -> int:
    """Entries delivered to ``consumer`` and not acknowledged."""
    for info in _xinfo_consumers(client):
        if info["name"] == consumer:
            return int(info["pending"])
    return 0


def _xinfo_consumers(client: redis.Redis) -> list[dict[str, Any]]:
    try:
        return client.xinfo_consumers(STREAM, GROUP)
    except redis.ResponseError:
        return []  # no stream or no group yet


def summary_group_from_the_start(client: redis.Redis) -> None:
    """Create the summary's consumer group at the stream's first entry, as a projector that
    ran before left it. A projector whose group is missing backfills from the outbox and
    follows the stream from its end (``readmodels/backfill.py``); a test about delivering a
    stream backlog needs the group to exist first."""
    client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)


def group_backlog(client: redis.Redis) -> tuple[int, int]:
    """(pending, never delivered) entries of the summary group; the whole stream if no group."""
    try:
        groups = _groups(client)
    except redis.ResponseError:
        return 0, 0
    info = next((g for g in groups if g["name"] == GROUP), None)
    if info is None:
        return 0, int(client.xlen(STREAM))
    lag = info.get("lag")
    if lag is None:  # Redis cannot tell (after deletions): count what follows the cursor
        lag = len(_xrange(client, f"({info['last-delivered-id']}"))
    return int(info["pending"]), int(lag)


def _groups(client: redis.Redis) -> list[dict[str, Any]]:
    return client.xinfo_groups(STREAM)


def _xrange(client: redis.Redis, after: str, count: int | None = None) -> list[Entry]:
    return cast(list[Entry], client.xrange(STREAM, min=after, max="+", count=count) or [])


def published(db: psycopg.Connection[Any]) -> set[str]:
    """Event ids of the outbox rows marked published."""
    sql = "SELECT event_id::text FROM outbox WHERE published_at IS NOT NULL"
    return {row[0] for row in db.execute(sql)}


def unpublished(db: psycopg.Connection[Any]) -> int:
    """Outbox rows the relay has not published yet."""
    row = db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()
    assert row is not None
    return int(row[0])


def wait_for_drain(db: psycopg.Connection[Any], client: redis.Redis, seconds: float = 90) -> float:
    """Until every outbox row is published and the summary group has nothing left to do
    (including a backfill from the outbox, when the projector started after the relay)."""

    def drained() -> bool:
        backfilling = client.exists(f"projection:{GROUP}:backfill")
        return unpublished(db) == 0 and group_backlog(client) == (0, 0) and not backfilling

    return wait_until(drained, seconds, "outbox published and summary group drained")


def stream_entries(client: redis.Redis) -> Iterator[Entry]:
    """Every entry of the stream, oldest first, in pages."""
    after = "-"
    while True:
        page = _xrange(client, after, count=2000)
        if not page:
            return
        yield from page
        after = f"({page[-1][0]}"


def replay_stream(client: redis.Redis, copies: int) -> int:
    """Append ``copies`` more copies of every entry, as an at-least-once relay may; new length."""
    entries = list(stream_entries(client))
    for _ in range(copies):
        pipe = client.pipeline(transaction=False)
        for _, fields in entries:
            pipe.xadd(STREAM, fields)  # type: ignore[arg-type]
        pipe.execute()
    return int(client.xlen(STREAM))


def stream_event_ids(client: redis.Redis) -> Counter[str]:
    """How many times each event id sits in the stream."""
    return Counter(fields["event_id"] for _, fields in stream_entries(client))


def outbox_event_ids(db: psycopg.Connection[Any]) -> set[str]:
    """Every event id of the outbox."""
    return {row[0] for row in db.execute("SELECT event_id::text FROM outbox")}


@dataclass(frozen=True)
class SummaryMismatch:
    """One order whose summary differs from the write model."""

    order_id: str
    expected: tuple[int, str, str]
    found: tuple[int | None, str | None, str | None]


def summary_mismatches(db: psycopg.Connection[Any], client: redis.Redis) -> list[SummaryMismatch]:
    """Orders whose summary hash differs from PostgreSQL: version, newest event id, status.

    Truth per order: ``orders.version`` and ``orders.status``, and the event id of the
    order's newest outbox row (which must carry that same version).
    """
    truth = db.execute(
        "SELECT o.id::text, o.version, o.status, x.event_id::text, x.aggregate_version"
        "  FROM orders o"
        "  JOIN LATERAL (SELECT event_id, aggregate_version FROM outbox"
        "                 WHERE aggregate_id = o.id"
        "                 ORDER BY aggregate_version DESC LIMIT 1) x ON true"
    ).fetchall()
    orders_total = db.execute("SELECT count(*) FROM orders").fetchone()
    assert orders_total is not None and orders_total[0] == len(truth), "an order has no outbox row"
    mismatches: list[SummaryMismatch] = []
    for start in range(0, len(truth), 500):
        chunk = truth[start : start + 500]
        pipe = client.pipeline(transaction=False)
        for order_id, *_ in chunk:
            pipe.hmget(f"summary:v1:order:{order_id}", "source_version", "last_event_id", "doc")
        for (order_id, version, status, event_id, newest_version), found in zip(
            chunk, pipe.execute(), strict=True
        ):
            assert newest_version == version, f"{order_id}: outbox ends at v{newest_version}"
            seen_version, seen_event, doc = found
            seen_status = json.loads(doc)["status"] if doc else None
            seen = (int(seen_version) if seen_version else None, seen_event, seen_status)
            if seen != (version, event_id, status):
                mismatches.append(SummaryMismatch(order_id, (version, event_id, status), seen))
    return mismatches


def lost_rows(db: psycopg.Connection[Any], event_ids: set[str]) -> list[tuple[Any, ...]]:
    """(position, order, version, newest version, type, published_at) of the given events."""
    return db.execute(
        "SELECT x.position, x.aggregate_id::text, x.aggregate_version, o.version, x.event_type,"
        "       x.published_at::text"
        "  FROM outbox x JOIN orders o ON o.id = x.aggregate_id"
        " WHERE x.event_id::text = ANY(%s) ORDER BY x.position",
        (sorted(event_ids),),
    ).fetchall()


def assert_outbox_in_stream(
    db: psycopg.Connection[Any], outbox: set[str], in_stream: Counter[str], figures: str
) -> None:
    """Invariant 3: every outbox row was published and reached the stream (duplicates are
    allowed, gaps are not), and the stream holds nothing the outbox does not."""
    assert unpublished(db) == 0, figures
    lost = outbox - set(in_stream)
    assert not lost, f"marked published, never in the stream: {lost_rows(db, lost)}; {figures}"
    assert set(in_stream) <= outbox, f"stream holds unknown events; {figures}"
    assert sum(in_stream.values()) >= len(outbox), figures


def assert_summary_matches(
    db: psycopg.Connection[Any], client: redis.Redis, figures: str = ""
) -> None:
    """Invariants 7 and 8: the summary holds every order at its version and newest event."""
    mismatches = summary_mismatches(db, client)
    assert mismatches == [], f"{len(mismatches)} orders differ, e.g. {mismatches[:3]}; {figures}"


def verify_counts(stdout: str, projection: str = GROUP) -> tuple[int, int, int, int]:
    """(checked, missing, behind, ahead) of a read model's line of ``orders-cqrs verify``."""
    for line in stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == projection:
            assert len(parts) >= 5, line
            checked, missing, behind, ahead = (int(p) for p in parts[1:5])
            return checked, missing, behind, ahead
    raise AssertionError(f"no {projection} line in verify output:\n{stdout}")


def assert_verified(
    database_url: str,
    orders: int,
    projections: tuple[str, ...] = (GROUP,),
    wait: float = 20,
    settings: dict[str, str] | None = None,
) -> None:
    """``orders-cqrs verify`` passes, each read model holding exactly the ``orders`` of the
    write model: none missing, behind or ahead (``settings``: as the processes got them)."""
    verified = run_verify(database_url, wait=wait, projections=projections, settings=settings)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for name in projections:
        assert verify_counts(verified.stdout, name) == (orders, 0, 0, 0), verified.stdout


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def acknowledged_but_not_applied(client: redis.Redis) -> tuple[int, list[str]]:
    """(entries the group is done with, those of them the summary does not reflect).

    With nothing pending, every entry up to the group's last-delivered id was acknowledged,
    so the summary must hold at least that entry's version of its order.
    """
    info = next(g for g in _groups(client) if g["name"] == GROUP)
    assert int(info["pending"]) == 0, info
    cursor = _id_key(info["last-delivered-id"])
    done = [(i, f) for i, f in stream_entries(client) if _id_key(i) <= cursor]
    pipe = client.pipeline(transaction=False)
    for _, fields in done:
        pipe.hget(f"summary:v1:order:{fields['aggregate_id']}", "source_version")
    missing = [
        f"{stream_id} {fields['aggregate_id']} v{fields['aggregate_version']}: summary {seen}"
        for (stream_id, fields), seen in zip(done, pipe.execute(), strict=True)
        if seen is None or int(seen) < int(fields["aggregate_version"])
    ]
    return len(done), missing


def projection_status(client: redis.Redis) -> dict[str, str]:
    """The summary projection's status hash (counters, last entry, heartbeat)."""
    return dict(client.hgetall(f"projection:{GROUP}:status"))  # type: ignore[arg-type]


def open_dead_letters(db: psycopg.Connection[Any]) -> int:
    """Dead letters the summary parked for events of this test's outbox."""
    row = db.execute(
        "SELECT count(*) FROM projection_dead_letters d JOIN outbox x ON x.event_id = d.event_id"
        " WHERE d.projection = %s AND d.replayed_at IS NULL",
        (GROUP,),
    ).fetchone()
    assert row is not None
    return int(row[0])
