"""The relay loop: claim → publish (pipelined XADD) → mark, in one PostgreSQL transaction.

A crash after the XADDs and before the commit leaves the rows unpublished, so they are
published again: the stream may hold a duplicate, never a gap. Projectors are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import UTC, datetime

import psycopg
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from orders_cqrs.observability import metrics
from orders_cqrs.relay.outbox_reader import backlog, claim_unpublished, mark_published
from orders_cqrs.relay.retention import trim_acknowledged

log = structlog.get_logger(__name__)
NOTIFY_CHANNEL = "orders_outbox"
MAX_BACKOFF_SECONDS = 5.0
TRIM_EVERY_SECONDS = 30.0


class Relay:
    """Moves committed outbox rows to the stream; safe to run several at once."""

    def __init__(
        self,
        engine: AsyncEngine,
        redis: Redis,
        *,
        listen_dsn: str,
        stream: str,
        batch_size: int,
        poll_seconds: float,
        publish_delay_seconds: float = 0.0,
        retention_seconds: float = 3600.0,
    ) -> None:
        self._engine = engine
        self._redis = redis
        self._listen_dsn = listen_dsn
        self._stream = stream
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._delay = publish_delay_seconds
        self._retention_seconds = retention_seconds
        self._wake = asyncio.Event()

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows it published."""
        async with self._engine.begin() as conn:
            events = await claim_unpublished(conn, self._batch_size)
            if not events:
                return 0
            if self._delay:
                await asyncio.sleep(self._delay)  # an operator's brake; tests use it
            pipe = self._redis.pipeline(transaction=False)
            for event in events:
                pipe.xadd(self._stream, event.to_fields())  # type: ignore[arg-type]
            await pipe.execute()
            await mark_published(conn, [event.position for event in events])
        now = datetime.now(UTC)
        metrics.RELAY_BATCH_EVENTS.observe(len(events))
        for event in events:
            metrics.RELAY_PUBLISHED.labels(event.event_type).inc()
            metrics.RELAY_COMMIT_TO_PUBLISH_SECONDS.observe(
                max(0.0, (now - event.occurred_at).total_seconds())
            )
        return len(events)

    async def refresh_backlog(self) -> None:
        """Export the outbox backlog gauges."""
        async with self._engine.connect() as conn:
            count, age = await backlog(conn)
        metrics.OUTBOX_BACKLOG_EVENTS.set(count)
        metrics.OUTBOX_OLDEST_AGE_SECONDS.set(age)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set: drain, then sleep until NOTIFY or the poll interval."""
        listener = asyncio.create_task(self._listen(stop))
        failures = 0
        last_trim = 0.0
        last_gauge = 0.0
        try:
            while not stop.is_set():
                try:
                    published = await self.publish_batch()
                    # Counting the backlog is a query of its own: once a second while
                    # draining, and whenever the relay is about to wait.
                    if published < self._batch_size or time.monotonic() - last_gauge > 1.0:
                        await self.refresh_backlog()
                        last_gauge = time.monotonic()
                    if time.monotonic() - last_trim > TRIM_EVERY_SECONDS:
                        trimmed = await trim_acknowledged(
                            self._redis, self._stream, keep_seconds=self._retention_seconds
                        )
                        metrics.STREAM_TRIMMED.inc(trimmed)
                        last_trim = time.monotonic()
                    failures = 0
                except (RedisError, OSError) as error:
                    failures += 1
                    metrics.RELAY_ERRORS.labels("redis").inc()
                    log.warning("relay_redis_unavailable", error=str(error), failures=failures)
                    # The backlog grows exactly now: keep the gauges honest while we wait.
                    with contextlib.suppress(SQLAlchemyError, OSError):
                        await self.refresh_backlog()
                    await self._sleep(stop, _backoff(failures))
                    continue
                except SQLAlchemyError as error:
                    failures += 1
                    metrics.RELAY_ERRORS.labels("postgres").inc()
                    log.warning("relay_postgres_unavailable", error=str(error), failures=failures)
                    await self._sleep(stop, _backoff(failures))
                    continue
                if published < self._batch_size:
                    self._wake.clear()
                    await self._sleep(stop, self._poll_seconds, wake=self._wake)
        finally:
            listener.cancel()

    async def _listen(self, stop: asyncio.Event) -> None:
        """Set ``_wake`` on every NOTIFY; reconnect quietly (polling covers the gaps)."""
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._listen_dsn, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    async for _ in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError):
                await self._sleep(stop, 1.0)

    @staticmethod
    async def _sleep(
        stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None
    ) -> None:
        waits = [asyncio.create_task(stop.wait())]
        if wake is not None:
            waits.append(asyncio.create_task(wake.wait()))
        _, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()


def _backoff(failures: int) -> float:
    """Full-jitter exponential backoff, capped."""
    return random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.1 * 2**failures))
