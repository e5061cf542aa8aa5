"""The projection engine: consume the stream with a consumer group, apply, acknowledge.

It knows no read store. Delivery is at least once: an entry is acknowledged only after the
projection applied it (or parked it as a dead letter), so a crash before the XACK means a
redelivery, which the version-guarded projection turns into a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from orders_cqrs.db.dead_letters import DeadLetterRepository
from orders_cqrs.failures.backoff import doubling, full_jitter, pause
from orders_cqrs.failures.stores import StoreError, StoreUnavailable
from orders_cqrs.observability import metrics, tracing
from orders_cqrs.observability.heartbeat import HEARTBEAT
from orders_cqrs.readmodels.port import Projection
from orders_cqrs.readmodels.status import StatusBoard
from orders_cqrs.relay.wire import StreamEvent

log = structlog.get_logger(__name__)
MAX_BACKOFF_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine reads, retries and gives up."""

    stream: str
    batch_size: int
    block_ms: int
    claim_idle_ms: int
    max_attempts: int
    retry_base_seconds: float


class GroupStarter(Protocol):
    """Brings a projection's consumer group into being (``readmodels/backfill.py``)."""

    async def join(self, engine: ProjectionEngine, stop: asyncio.Event) -> bool:
        """Make sure the group exists and the read model holds all history before it;
        False when ``stop`` was set first (nothing is lost: the next start goes on)."""
        ...


class _Stopping(Exception):
    """Stop was requested while the read store is down: abandon the batch, unacknowledged."""


def consumer_name() -> str:
    """Unique per process, so a restarted projector reclaims what its predecessor left."""
    return f"{socket.gethostname()}-{os.getpid()}"


class ProjectionEngine:
    """Runs one projection against the stream."""

    def __init__(
        self,
        projection: Projection,
        redis: Redis,
        dead_letters: DeadLetterRepository,
        settings: EngineSettings,
        *,
        group: str | None = None,
        consumer: str | None = None,
        starter: GroupStarter | None = None,
    ) -> None:
        self.projection = projection
        self.redis = redis
        self.dead_letters = dead_letters
        self.settings = settings
        self.group = group or projection.name
        self.consumer = consumer or consumer_name()
        self.status = StatusBoard(redis, settings.stream, self.group)
        # Without a starter (a rebuild's catch-up group, tests) a missing group is created
        # from the stream's start, which is all there is for a group that lives a few minutes.
        self.starter = starter
        self._next_autoclaim = 0.0  # monotonic time of the next XAUTOCLAIM round

    async def ensure_group(self, start_id: str = "0") -> None:
        """Create the consumer group (from the stream's start) unless it exists."""
        try:
            await self.redis.xgroup_create(
                self.settings.stream, self.group, id=start_id, mkstream=True
            )
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the batch in hand is finished and acknowledged first."""
        failures = 0
        group_ready = False
        while not stop.is_set():
            try:
                if not group_ready:
                    group_ready = await self._join(stop)
                    if not group_ready:
                        continue  # stopping while waiting for, or during, a backfill
                entries = await self._next_entries()
                metrics.PROJECTION_LAST_POLL_TIMESTAMP.labels(self.group).set(time.time())
                if entries:
                    await self.handle(entries, stop)  # its acknowledgement beats the heart
                else:
                    await self.status.heartbeat()
                failures = 0
                HEARTBEAT.beat()  # the worker's /healthz: this loop finished a round
            except (RedisError, OSError, StoreError) as error:
                # The group is created once, not per batch; a lost stream (NOGROUP) or a
                # reconnect makes the next round create it again (backfilling) if it is gone.
                group_ready = False
                if isinstance(error, ResponseError) and "NOGROUP" in str(error):
                    continue
                failures += 1
                log.warning(
                    "projection_stream_unavailable", projection=self.group, error=str(error)
                )
                await pause(stop, full_jitter(failures, base=0.1, cap=MAX_BACKOFF_SECONDS))
        await self._leave_group()

    async def _join(self, stop: asyncio.Event) -> bool:
        if self.starter is None:
            await self.ensure_group()
            return True
        return await self.starter.join(self, stop)

    async def apply_batch(self, events: list[StreamEvent], stop: asyncio.Event) -> bool:
        """Apply events that come from elsewhere than the group (a backfill's outbox scan)
        with the same retries and dead-lettering; False if ``stop`` interrupted an outage."""
        outcomes = await self._apply_with_retries(events, stop)
        if outcomes is None:
            return False
        pipe = self.redis.pipeline(transaction=False)
        self.status.record_scanned(pipe, events, outcomes)
        await pipe.execute()
        for outcome, n in Counter(outcomes).items():
            metrics.PROJECTED.labels(self.group, outcome).inc(n)
        HEARTBEAT.beat()  # a long backfill is a loop making progress too
        return True

    async def _leave_group(self) -> None:
        """On a graceful stop, remove this consumer if it holds nothing pending."""
        with contextlib.suppress(RedisError, OSError):
            pending = await self.redis.xpending_range(
                self.settings.stream,
                self.group,
                min="-",
                max="+",
                count=1,
                consumername=self.consumer,
            )
            if not pending:
                await self.redis.xgroup_delconsumer(self.settings.stream, self.group, self.consumer)

    async def run_until_idle(self) -> None:
        """Consume until nothing is left to read (tests and rebuild catch-up)."""
        await self.ensure_group()
        stop = asyncio.Event()
        while entries := await self._next_entries(block=False):
            await self.handle(entries, stop)
        await self.status.heartbeat()

    async def _next_entries(self, *, block: bool = True) -> list[tuple[str, dict[str, str]]]:
        # Entries a dead consumer left pending for longer than claim_idle_ms come first. An
        # entry only becomes claimable after claim_idle_ms, so looking a few times per idle
        # period (at most once a second) finds it as surely as looking before every batch,
        # without a round trip per batch; while it finds some, it looks again at once.
        if time.monotonic() >= self._next_autoclaim:
            claimed = await self.redis.xautoclaim(
                self.settings.stream,
                self.group,
                self.consumer,
                min_idle_time=self.settings.claim_idle_ms,
                start_id="0-0",
                count=self.settings.batch_size,
            )
            reclaimed = [(i, f) for i, f in claimed[1] if f is not None]
            if reclaimed:
                return reclaimed
            self._next_autoclaim = time.monotonic() + min(1.0, self.settings.claim_idle_ms / 4000)
        response: Any = await self.redis.xreadgroup(
            self.group,
            self.consumer,
            {self.settings.stream: ">"},
            count=self.settings.batch_size,
            block=self.settings.block_ms if block else None,
        )
        return [entry for _, entries in response for entry in entries] if response else []

    async def handle(
        self, entries: Sequence[tuple[str, dict[str, str]]], stop: asyncio.Event
    ) -> None:
        """Apply one batch and acknowledge it."""
        started = time.perf_counter()
        events: list[StreamEvent] = []
        for stream_id, fields in entries:
            try:
                events.append(StreamEvent.from_fields(stream_id, fields))
            except (KeyError, ValueError) as error:
                await self._park_malformed(stream_id, fields, error)
        live = self.group == self.projection.name  # not a rebuild's catch-up group
        # Each event's span continues its checkout's trace (observability/tracing.py); a
        # rebuild's catch-up replays history, whose traces are long closed.
        with tracing.batch_spans(
            f"apply {self.group}",
            (_trace_of(event) for event in events) if live else (),
            kind=tracing.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "redis",
                "messaging.destination.name": self.settings.stream,
                "messaging.consumer.group.name": self.group,
            },
        ) as spans:
            outcomes = await self._apply_with_retries(events, stop)
            if outcomes is None:
                return  # stopping during a store outage: leave the batch pending for later
            for outcome, n in Counter(outcomes).items():
                metrics.PROJECTED.labels(self.group, outcome).inc(n)
            # Acknowledge and record the batch's status in one round trip.
            pipe = self.redis.pipeline(transaction=False)
            pipe.xack(self.settings.stream, self.group, *[i for i, _ in entries])
            self.status.record(pipe, events, outcomes)
            await pipe.execute()
            for span, outcome in zip(spans, outcomes, strict=False):
                span.set_attribute("orders.projection.outcome", outcome)
        metrics.PROJECTION_BATCH_SECONDS.labels(self.group).observe(time.perf_counter() - started)
        if live:  # a rebuild's catch-up is no reader's SLI
            _observe_freshness(self.group, events, outcomes)

    async def _apply_with_retries(
        self, events: list[StreamEvent], stop: asyncio.Event
    ) -> list[str] | None:
        """The batch's outcomes; poison events are isolated, retried, then dead-lettered."""
        if not events:
            return []
        outages = 0
        while True:
            try:
                return [str(o) for o in await self.projection.apply(events)]
            except StoreUnavailable as error:
                outages += 1
                metrics.PROJECTION_RETRIES.labels(self.group).inc()
                await self.status.count_retry()
                log.warning("projection_store_unavailable", projection=self.group, error=str(error))
                if stop.is_set():
                    return None
                await pause(stop, full_jitter(outages, base=0.1, cap=MAX_BACKOFF_SECONDS))
            except Exception as error:
                log.warning("projection_batch_failed", projection=self.group, error=repr(error))
                try:
                    return [await self._apply_one(event, stop) for event in events]
                except _Stopping:
                    return None

    async def _apply_one(self, event: StreamEvent, stop: asyncio.Event) -> str:
        attempt = 1
        while True:
            try:
                return str((await self.projection.apply([event]))[0])
            except StoreUnavailable as error:
                if stop.is_set():
                    raise _Stopping from error
                metrics.PROJECTION_RETRIES.labels(self.group).inc()
                await self.status.count_retry()
                await pause(stop, full_jitter(attempt, base=0.1, cap=MAX_BACKOFF_SECONDS))
            except Exception as error:
                if attempt >= self.settings.max_attempts:
                    # Under the projection's name, not the group's: a rebuild's catch-up
                    # group parks where ops list and replay the projection's dead letters.
                    name = self.projection.name
                    await self.dead_letters.park(name, event, repr(error), attempt)
                    await self.status.count_dead_letter()
                    log.error(
                        "projection_dead_letter",
                        projection=self.group,
                        event_id=str(event.event_id),
                        error=repr(error),
                    )
                    return "dead_lettered"
                metrics.PROJECTION_RETRIES.labels(self.group).inc()
                await self.status.count_retry()
                await asyncio.sleep(doubling(attempt - 1, base=self.settings.retry_base_seconds))
                attempt += 1

    async def _park_malformed(
        self, stream_id: str, fields: dict[str, str], error: Exception
    ) -> None:
        # Without an event id there is nothing to park it under: log it loudly and move on.
        log.error(
            "projection_malformed_entry",
            projection=self.group,
            stream_id=stream_id,
            fields=sorted(fields),
            error=repr(error),
        )
        metrics.PROJECTED.labels(self.group, "malformed").inc()


async def replay_dead_letters(
    projection: Projection, dead_letters: DeadLetterRepository, ids: list[int] | None = None
) -> tuple[int, int]:
    """Apply parked events again; returns (replayed, still failing)."""
    replayed: list[int] = []
    failing = 0
    for letter in await dead_letters.list_for(projection.name):
        if ids is not None and letter.id not in ids:
            continue
        event = StreamEvent.from_fields(letter.stream_id, letter.entry)
        try:
            await projection.apply([event])
        except Exception as error:
            failing += 1
            await dead_letters.park(projection.name, event, repr(error), 1)
            continue
        replayed.append(letter.id)
    if replayed:
        await dead_letters.mark_replayed(replayed)
    return len(replayed), failing


def _trace_of(event: StreamEvent) -> tuple[str | None, dict[str, str | int]]:
    """An event's ``traceparent`` (stored with its outbox row) and its span's attributes."""
    traceparent = event.headers.get("traceparent")
    return traceparent if isinstance(traceparent, str) else None, {
        "messaging.message.id": event.stream_id,
        "orders.event_id": str(event.event_id),
        "orders.event_type": event.event_type,
        "orders.aggregate_version": event.aggregate_version,
    }


def _observe_freshness(group: str, events: Sequence[StreamEvent], outcomes: Sequence[str]) -> None:
    """The freshness SLI: commit → visible, for each event this batch made visible.

    Duplicates and stale events changed nothing a reader sees, so they are not counted.
    Observed after the acknowledgement, when the batch's state is what readers get.
    """
    now = datetime.now(UTC)
    histogram = metrics.PROJECTION_FRESHNESS_SECONDS.labels(group)
    for event, outcome in zip(events, outcomes, strict=False):
        if outcome == "applied":
            histogram.observe(max(0.0, (now - event.occurred_at).total_seconds()))
    metrics.PROJECTION_LAST_APPLIED_TIMESTAMP.labels(group).set(now.timestamp())
