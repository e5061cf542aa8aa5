"""The relay loop: claim and mark → publish (one script call) → commit, one transaction.

A crash after the XADDs and before the commit leaves the rows unmarked, so they are
published again: the stream may hold a duplicate, never a gap. Projectors are idempotent.

Replicas. Redis replicates asynchronously: an XADD the primary acknowledged can be missing
after a failover, a gap no projector could notice. With ``min_replicas`` set, the relay sends
``WAIT min_replicas timeout`` after the batch's XADDs, on the same connection (WAIT counts
the replicas that have every write *of its connection*), and commits the mark only if enough
replicas acknowledged. Otherwise the rows stay unpublished and are published again after a
backoff: a duplicate in the stream, never a gap.

Wake-up. A NOTIFY on every checkout would make each committing transaction take
PostgreSQL's database-wide notification-queue lock, serialising commits. Instead the relay
polls every ``busy_poll_seconds`` while there is work, and only when it finds none does it
*arm* the one-row ``relay_wakeup`` table; the outbox trigger disarms it and sends a NOTIFY,
so only the first commit after the relay went idle pays for a notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from orders_cqrs.db.outbox import (
    AGGREGATE_VERSION,
    ARM_SQL,
    EVENT_ID,
    EVENT_TYPE,
    HEADERS,
    IN_FLIGHT_SQL,
    OCCURRED_AT,
    POSITION,
    STILL_RUNNING_SQL,
    backlog,
    claim_unpublished,
)
from orders_cqrs.db.rebuilds import running_rebuild_groups
from orders_cqrs.db.session import Session
from orders_cqrs.failures.backoff import full_jitter, pause
from orders_cqrs.observability import metrics, tracing
from orders_cqrs.observability.heartbeat import HEARTBEAT
from orders_cqrs.relay.stream_retention import trim_acknowledged
from orders_cqrs.relay.wire import STREAM_FIELDS, load_json, outbox_fields

log = structlog.get_logger(__name__)
NOTIFY_CHANNEL = "orders_outbox"
MAX_BACKOFF_SECONDS = 5.0
TRIM_EVERY_SECONDS = 30.0
GAUGE_EVERY_SECONDS = 1.0
XADD_CHUNK = 500  # events per script call: Redis runs each call atomically, keep it short

# One script call appends a chunk of entries: one command to pack and one reply to parse,
# instead of one per event, which is where the relay spent its time. The entries are the same
# XADDs with server-generated ids, in the same order; the batch's mark commits only after
# every call returned, so a failure leaves the rows unpublished (a duplicate, no gap).
_ARGS_PER_ENTRY = 2 * len(STREAM_FIELDS)
_XADD_MANY = f"""
local n = 0
for i = 1, #ARGV, {_ARGS_PER_ENTRY} do
  redis.call('XADD', KEYS[1], '*', unpack(ARGV, i, i + {_ARGS_PER_ENTRY - 1}))
  n = n + 1
end
return n
"""


class NotReplicated(Exception):
    """Too few replicas acknowledged a batch's XADDs in time: it was not marked published."""


class Relay:
    """Moves committed outbox rows to the stream; safe to run several at once."""

    def __init__(
        self,
        redis: Redis,
        *,
        dsn: str,
        stream: str,
        batch_size: int,
        poll_seconds: float,
        busy_poll_seconds: float = 0.04,
        coalesce_seconds: float = 0.005,
        publish_delay_seconds: float = 0.0,
        min_replicas: int = 0,
        replica_timeout_ms: int = 1000,
        retention_seconds: float = 3600.0,
        projections: frozenset[str],
        connect_options: str = "",
    ) -> None:
        """``projections``: the groups that count for retention besides running rebuilds'."""
        self._redis = redis
        self._dsn = dsn
        self._options = connect_options
        self._stream = stream
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._busy_poll = busy_poll_seconds
        self._coalesce = coalesce_seconds
        self._delay = publish_delay_seconds
        self._min_replicas = min_replicas
        self._replica_timeout_ms = replica_timeout_ms
        self._retention_seconds = retention_seconds
        self._projections = projections
        self._wake = asyncio.Event()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._xadd_many = redis.register_script(_XADD_MANY)

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = await psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, options=self._options, connect_timeout=5
            )
        return self._conn

    async def close(self) -> None:
        """Close the relay's PostgreSQL connection."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows it published."""
        # Three round trips a batch: BEGIN + claim-and-mark, the stream's script, COMMIT.
        started = time.time_ns()
        session = Session(await self._connection())
        try:
            rows = await claim_unpublished(session, self._batch_size)
            if not rows:
                await session.rollback()
                return 0
            # Each row's span continues the checkout's trace (observability/tracing.py).
            with tracing.batch_spans(
                f"publish {self._stream}",
                (_trace_of(row) for row in rows),
                kind=tracing.SpanKind.PRODUCER,
                attributes=_messaging(self._stream),
                start_ns=started,
            ):
                await self._publish(rows, session)
        except BaseException:
            with contextlib.suppress(psycopg.Error, OSError):
                await session.rollback()
            raise
        _count_published(rows)
        return len(rows)

    async def _publish(self, rows: list[Any], session: Session) -> None:
        """Append the claimed rows to the stream, then commit their mark."""
        if self._delay:
            await asyncio.sleep(self._delay)  # an operator's brake; tests use it
        if self._min_replicas:
            # One connection for the XADDs and the WAIT that must cover them.
            async with self._redis.client() as pinned:
                await self._append(rows, pinned)
                replicas = int(await pinned.wait(self._min_replicas, self._replica_timeout_ms))
            if replicas < self._min_replicas:
                raise NotReplicated(
                    f"{replicas} of {self._min_replicas} replica(s) acknowledged"
                    f" {len(rows)} event(s) within {self._replica_timeout_ms} ms"
                )
        else:
            await self._append(rows, self._redis)
        await session.commit()

    async def _append(self, rows: list[Any], client: Redis) -> None:
        """XADD the rows, a chunk per script call, on ``client``."""
        for start in range(0, len(rows), XADD_CHUNK):
            args = [
                part
                for row in rows[start : start + XADD_CHUNK]
                for item in outbox_fields(*row).items()
                for part in item
            ]
            # EVALSHA on its own (a pipeline would ask SCRIPT EXISTS first, every time)
            await self._xadd_many(keys=[self._stream], args=args, client=client)

    async def refresh_backlog(self) -> None:
        """Export the outbox backlog gauges."""
        count, age = await backlog(await self._connection())
        metrics.OUTBOX_BACKLOG_EVENTS.set(count)
        metrics.OUTBOX_OLDEST_AGE_SECONDS.set(age)

    async def _arm(self) -> list[str]:
        """Arm the wake-up; return the write transactions in flight once the arm is visible.

        Why the list: the outbox trigger runs at INSERT, not at commit. A transaction whose
        trigger ran just before the arm committed saw ``armed = false`` and will not notify,
        yet it may commit after our next poll. Its xid was assigned before the arm committed,
        so it is in flight in any snapshot taken after that commit (or already committed and
        visible to the next poll). The relay does not sleep until every transaction in this
        list has finished and it has polled once more; any later transaction sees the arm.
        """
        conn = await self._connection()
        self._wake.clear()  # a NOTIFY from here on must wake the sleep that follows
        await conn.execute(ARM_SQL)  # autocommit: visible before the snapshot below is taken
        row = await (await conn.execute(IN_FLIGHT_SQL)).fetchone()
        return list(row[0]) if row else []

    async def _live_groups(self) -> set[str]:
        """The projections' groups and those of the rebuilds running now (PostgreSQL knows)."""
        running = await running_rebuild_groups(await self._connection())
        return set(self._projections) | running

    async def _still_running(self, xids: list[str]) -> bool:
        conn = await self._connection()
        row = await (await conn.execute(STILL_RUNNING_SQL, (xids,))).fetchone()
        return bool(row and row[0])

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set: drain, poll while busy, sleep armed when idle."""
        listener = asyncio.create_task(self._listen(stop))
        failures = 0
        last_trim = last_gauge = 0.0
        in_flight: list[str] | None = None  # None: not armed since the relay last had work
        try:
            while not stop.is_set():
                try:
                    published = await self.publish_batch()
                    # Counting the backlog is a query of its own: at most once a second.
                    if time.monotonic() - last_gauge > GAUGE_EVERY_SECONDS:
                        await self.refresh_backlog()
                        last_gauge = time.monotonic()
                    if time.monotonic() - last_trim > TRIM_EVERY_SECONDS:
                        trimmed = await trim_acknowledged(
                            self._redis,
                            self._stream,
                            keep_seconds=self._retention_seconds,
                            live=self._live_groups,
                        )
                        metrics.STREAM_TRIMMED.inc(trimmed)
                        last_trim = time.monotonic()
                    failures = 0
                    HEARTBEAT.beat()  # the worker's /healthz: this loop finished a round
                    if published >= self._batch_size:
                        continue  # a full batch: more is waiting
                    if published:
                        in_flight = None
                        await pause(stop, self._busy_poll)  # busy: poll, letting rows gather
                        continue
                    if in_flight is None:
                        in_flight = await self._arm()
                        continue  # poll once more after arming: no lost wake-up
                    if in_flight and await self._still_running(in_flight):
                        await pause(stop, self._busy_poll)
                        continue
                    if in_flight:
                        in_flight = []
                        continue  # they all finished: the poll after that sees their rows
                    await pause(stop, self._poll_seconds, wake=self._wake)
                    if self._wake.is_set():
                        await pause(stop, self._coalesce)  # batch the burst that woke us
                    in_flight = None  # woken or timed out: the trigger may have disarmed
                except NotReplicated as error:
                    # The rollback left the rows unpublished; they go out again after the
                    # backoff, by when the replica may be back (or a failover has happened).
                    failures += 1
                    metrics.RELAY_NOT_REPLICATED.inc()
                    log.warning("relay_not_replicated", error=str(error), failures=failures)
                    await pause(stop, full_jitter(failures, base=0.1, cap=MAX_BACKOFF_SECONDS))
                except (RedisError, OSError) as error:
                    failures += 1
                    metrics.RELAY_ERRORS.labels("redis").inc()
                    log.warning("relay_redis_unavailable", error=str(error), failures=failures)
                    # The backlog grows exactly now: keep the gauges honest while we wait.
                    with contextlib.suppress(psycopg.Error, OSError):
                        await self.refresh_backlog()
                    await pause(stop, full_jitter(failures, base=0.1, cap=MAX_BACKOFF_SECONDS))
                except psycopg.Error as error:
                    failures += 1
                    in_flight = None
                    metrics.RELAY_ERRORS.labels("postgres").inc()
                    log.warning("relay_postgres_unavailable", error=str(error), failures=failures)
                    await self.close()
                    await pause(stop, full_jitter(failures, base=0.1, cap=MAX_BACKOFF_SECONDS))
        finally:
            listener.cancel()
            with contextlib.suppress(psycopg.Error, OSError):
                await self.close()

    async def _listen(self, stop: asyncio.Event) -> None:
        """Set ``_wake`` on every NOTIFY; reconnect quietly (polling covers the gaps)."""
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    async for _ in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError):
                await pause(stop, 1.0)


def _messaging(stream: str) -> dict[str, str]:
    return {"messaging.system": "redis", "messaging.destination.name": stream}


def _trace_of(row: Any) -> tuple[str | None, dict[str, str | int]]:
    """A claimed row's ``traceparent`` (from its headers) and its span's attributes."""
    headers = load_json(row[HEADERS])
    traceparent = headers.get("traceparent") if isinstance(headers, dict) else None
    return traceparent if isinstance(traceparent, str) else None, {
        "orders.event_id": row[EVENT_ID],
        "orders.event_type": row[EVENT_TYPE],
        "orders.aggregate_version": row[AGGREGATE_VERSION],
        "orders.outbox_position": row[POSITION],
    }


def _count_published(rows: list[Any]) -> None:
    """Metrics once per batch: one counter increment per event type, not per event."""
    metrics.RELAY_BATCH_EVENTS.observe(len(rows))
    for event_type, n in Counter(row[EVENT_TYPE] for row in rows).items():
        metrics.RELAY_PUBLISHED.labels(event_type).inc(n)
    now = datetime.now(UTC)
    observe = metrics.RELAY_COMMIT_TO_PUBLISH_SECONDS.observe
    for row in rows:
        observe(max(0.0, (now - row[OCCURRED_AT]).total_seconds()))
